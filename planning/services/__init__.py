"""Every planning write: keyword-only, atomic, versioned (contorl/versioning.py), audited,
and - for project data - published to the project's WebSocket group after commit.

Each function checks *who* may act (its `by=` user, through the require_* rules of
planning/permissions.py) before *what* is valid, so both hold whichever door a write comes
through (API, pages, admin, seed). Callers only look up what `by` may see.

Costs: an actual's `cost` is hours x the rate of its worker's type valid on its date, stored
at write time and recomputed (with version + 1 and an `actuals_recosted` event) whenever a
rate of that type is created, changed or deleted, or the worker changes type. A day with no
rate has cost null until a rate covers it.

One module per concern: structure (portfolios, programs, links, phases), rates (worker
types, rates, recosting), workers (and leave), assignments, actuals, roles; common holds
what they share.
"""

from .actuals import ACTUAL_FIELDS, actual_create, actual_delete, actual_update
from .assignments import (
    ASSIGNMENT_FIELDS,
    assignment_bulk_update,
    assignment_create,
    assignment_delete,
    assignment_update,
)
from .common import CENT, MAX_BULK_ITEMS, MAX_DATE, MIN_DATE
from .rates import (
    rate_create,
    rate_delete,
    rate_on,
    rate_update,
    recost,
    worker_type_create,
    worker_type_delete,
    worker_type_update,
)
from .roles import grant_create, grant_delete, grant_update
from .structure import (
    PHASE_FIELDS,
    link_create,
    link_delete,
    link_update,
    phase_create,
    phase_delete,
    phase_update,
    portfolio_create,
    portfolio_delete,
    portfolio_update,
    program_create,
    program_delete,
    program_update,
)
from .workers import (
    WORKER_FIELDS,
    exception_create,
    exception_delete,
    exception_update,
    worker_create,
    worker_delete,
    worker_update,
)

__all__ = [
    "ACTUAL_FIELDS",
    "ASSIGNMENT_FIELDS",
    "CENT",
    "MAX_BULK_ITEMS",
    "MAX_DATE",
    "MIN_DATE",
    "PHASE_FIELDS",
    "WORKER_FIELDS",
    "actual_create",
    "actual_delete",
    "actual_update",
    "assignment_bulk_update",
    "assignment_create",
    "assignment_delete",
    "assignment_update",
    "exception_create",
    "exception_delete",
    "exception_update",
    "grant_create",
    "grant_delete",
    "grant_update",
    "link_create",
    "link_delete",
    "link_update",
    "phase_create",
    "phase_delete",
    "phase_update",
    "portfolio_create",
    "portfolio_delete",
    "portfolio_update",
    "program_create",
    "program_delete",
    "program_update",
    "rate_create",
    "rate_delete",
    "rate_on",
    "rate_update",
    "recost",
    "worker_create",
    "worker_delete",
    "worker_type_create",
    "worker_type_delete",
    "worker_type_update",
    "worker_update",
]
