"""Page routes of the planning app (the API lives in planning/urls.py under /api/planning/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("planning/", views.calendar_page, name="planning-calendar"),
    path("planning/plan-vs-actual/", views.plan_vs_actual_page, name="planning-plan-vs-actual"),
    path("planning/timesheet/", views.timesheet_page, name="planning-timesheet"),
]
