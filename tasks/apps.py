from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = _("Projects and tasks")

    def ready(self):
        # Workload cache invalidation listens to task/status/user saves (tasks/workload.py).
        from contorl.views import DASHBOARD_WIDGETS

        from . import workload  # noqa: F401
        from .views import dashboard_context

        DASHBOARD_WIDGETS.append(("tasks/dashboard_card.html", dashboard_context))
