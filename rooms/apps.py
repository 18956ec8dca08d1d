from django.apps import AppConfig


def dashboard_context(request) -> dict:
    from .selectors import rooms_for

    rooms = list(rooms_for(request.user, status="active")[:5])
    return {"rooms": rooms}


def referenced_files(folder: str) -> set[str]:
    """Storage names room rows still use under `folder` (rooms/<id>)."""
    from .models import RoomFile

    rows = RoomFile.objects.filter(file__startswith=f"{folder}/").values_list("file", "thumbnail")
    return {name for pair in rows for name in pair if name}


class RoomsConfig(AppConfig):
    name = "rooms"
    verbose_name = "Incident rooms"

    def ready(self):
        from contorl.storage import register_stored_files
        from contorl.views import DASHBOARD_WIDGETS

        DASHBOARD_WIDGETS.append(("rooms/dashboard_card.html", dashboard_context))
        register_stored_files("rooms", referenced_files)
