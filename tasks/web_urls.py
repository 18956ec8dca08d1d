"""Web pages of the tasks app (included at the site root, namespace "tasks"), plus the
workload API, which belongs with the heatmap page rather than the task CRUD routes."""

from django.urls import path

from . import views

urlpatterns = [
    path("api/workload/", views.WorkloadView.as_view(), name="api-workload"),
    path("projects/", views.project_list, name="project-list"),
    path("projects/<int:project_id>/board/", views.board, name="board"),
    path("projects/<int:project_id>/list/", views.task_list, name="task-list"),
    path("projects/<int:project_id>/settings/", views.project_settings, name="project-settings"),
    path("projects/<int:project_id>/tasks/<int:task_id>/", views.project_task_redirect, name="project-task"),
    path("tasks/<int:task_id>/", views.task_detail, name="task-detail"),
    path("workload/", views.workload_page, name="workload"),
]
