from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def referenced_files(folder: str) -> set[str]:
    """Storage names attachment rows still use under `folder` (attachments/<project id>)."""
    from .models import Attachment

    return set(Attachment.objects.filter(file__startswith=f"{folder}/").values_list("file", flat=True))


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = _("Projects and tasks")

    def ready(self):
        # Workload cache invalidation listens to task/status/user saves (tasks/workload.py).
        from contorl.storage import register_stored_files
        from contorl.views import DASHBOARD_WIDGETS

        from . import workload  # noqa: F401
        from .views import dashboard_context

        DASHBOARD_WIDGETS.append(("tasks/dashboard_card.html", dashboard_context))
        register_stored_files("attachments", referenced_files)
