"""REST API under /api/planning/: look up what the user may see (contorl.lookups), parse,
call a service (planning/services/, which checks the user's rights), render
(planning/payloads.py). planning/README.md lists it.

Every entity: GET list (django-filter filters, page/page_size paging), GET one, POST,
PATCH (with "version"; stale -> 409 version_conflict with details.current) and DELETE
(soft delete; `?version=n` makes it a compare-and-set too).

One module per concern: structure (portfolios, programs, links, phases), resources (worker
types, rates, workers, leave), assignments (and actuals), roles, reports; common holds the
generic viewset, serializers the input validation, schema the OpenAPI-only response shapes.
"""

from .assignments import ActualViewSet, AssignmentViewSet
from .reports import CapacityView, PlanVsActualCsvView, PlanVsActualView
from .resources import RateViewSet, WorkerExceptionViewSet, WorkerTypeViewSet, WorkerViewSet
from .roles import ScopeAssignmentViewSet
from .structure import PhaseViewSet, PortfolioViewSet, ProgramViewSet, ProjectLinkViewSet

__all__ = [
    "ActualViewSet",
    "AssignmentViewSet",
    "CapacityView",
    "PhaseViewSet",
    "PlanVsActualCsvView",
    "PlanVsActualView",
    "PortfolioViewSet",
    "ProgramViewSet",
    "ProjectLinkViewSet",
    "RateViewSet",
    "ScopeAssignmentViewSet",
    "WorkerExceptionViewSet",
    "WorkerTypeViewSet",
    "WorkerViewSet",
]
