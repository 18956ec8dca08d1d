# API and page routes of the automation app (triggers, executions, weekly reports).
from django.urls import path

from . import api, views

app_name = "automation"
urlpatterns = [
    path("api/projects/<int:project_id>/triggers/", api.ProjectTriggers.as_view(), name="api-project-triggers"),
    path("api/projects/<int:project_id>/triggers/<int:pk>/", api.TriggerDetail.as_view(), name="api-project-trigger"),
    path("api/triggers/<int:pk>/", api.TriggerDetail.as_view(), name="api-trigger"),
    path("api/triggers/<int:pk>/executions/", api.TriggerExecutions.as_view(), name="api-trigger-executions"),
    path(
        "api/triggers/<int:pk>/executions/<int:execution_id>/replay/",
        api.ExecutionReplay.as_view(),
        name="api-execution-replay",
    ),
    path("api/triggers/<int:pk>/rotate-secret/", api.TriggerRotateSecret.as_view(), name="api-trigger-rotate-secret"),
    path("api/projects/<int:project_id>/reports/weekly/", api.WeeklyReportView.as_view(), name="api-weekly-report"),
    path("projects/<int:project_id>/triggers/", views.triggers_page, name="triggers"),
    path("projects/<int:project_id>/reports/weekly/", views.weekly_report_page, name="weekly-report"),
]
