from django.apps import AppConfig


def dashboard_context(request) -> dict:
    from .selectors import rooms_for

    rooms = list(rooms_for(request.user, status="active")[:5])
    return {"rooms": rooms}


class RoomsConfig(AppConfig):
    name = "rooms"
    verbose_name = "Incident rooms"

    def ready(self):
        from contorl.views import DASHBOARD_WIDGETS

        DASHBOARD_WIDGETS.append(("rooms/dashboard_card.html", dashboard_context))
