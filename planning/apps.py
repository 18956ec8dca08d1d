from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = _("Resource planning")

    def ready(self):
        # The workload heatmap (tasks/workload.py) counts planned assignments too; tasks does
        # not import planning, planning plugs its hours in.
        from tasks import workload

        from .reports import workload_source

        if workload_source not in workload.LOAD_SOURCES:
            workload.LOAD_SOURCES.append(workload_source)
