"""Routes of the planning app: everything under /api/planning/ (see planning/README.md)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from . import api

app_name = "planning"

router = DefaultRouter(trailing_slash=True)
router.register("portfolios", api.PortfolioViewSet, basename="portfolio")
router.register("programs", api.ProgramViewSet, basename="program")
router.register("project-links", api.ProjectLinkViewSet, basename="project-link")
router.register("phases", api.PhaseViewSet, basename="phase")
router.register("worker-types", api.WorkerTypeViewSet, basename="worker-type")
router.register("rates", api.RateViewSet, basename="rate")
router.register("workers", api.WorkerViewSet, basename="worker")
router.register("worker-exceptions", api.WorkerExceptionViewSet, basename="worker-exception")
router.register("assignments", api.AssignmentViewSet, basename="assignment")
router.register("actuals", api.ActualViewSet, basename="actual")
router.register("roles", api.ScopeAssignmentViewSet, basename="role")

urlpatterns = [
    path("capacity/", api.CapacityView.as_view(), name="capacity"),
    path("plan-vs-actual/", api.PlanVsActualView.as_view(), name="plan-vs-actual"),
    path("plan-vs-actual/export/", api.PlanVsActualCsvView.as_view(), name="plan-vs-actual-csv"),
    *router.urls,
]
