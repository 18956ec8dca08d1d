"""Resource assignments: create, change, delete, bulk move/resize."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from contorl.errors import Conflict, DomainError, PayloadTooLarge, ValidationFailed, VersionConflict
from contorl.lookups import visible_or_404
from contorl.versioning import require_version

from .. import permissions
from ..models import (
    ResourceAssignment,
    Worker,
)
from ..payloads import payload
from .common import (
    MAX_BULK_ITEMS,
    _check_project_parts,
    _check_range,
    _create,
    _publish,
    _soft_delete,
    _update,
    _workload_changed,
)

ASSIGNMENT_FIELDS = ("worker", "phase", "task", "start", "end", "hours_per_day", "note")


@transaction.atomic
def assignment_create(*, by, project, worker: Worker, start, end, hours_per_day: Decimal, **fields):
    permissions.require_new_project(by, project, permissions.PLANNER)
    values = {"worker": worker, "start": start, "end": end, "hours_per_day": hours_per_day}
    values.update({k: v for k, v in fields.items() if k in ASSIGNMENT_FIELDS})
    _check_project_parts(project.pk, values)
    _check_range(start, end)
    assignment = _create(ResourceAssignment, by=by, fields={"project": project, **values})
    _publish(assignment, "assignment_created", by)
    _workload_changed()
    return assignment


@transaction.atomic
def assignment_update(*, assignment: ResourceAssignment, version: int, by, **fields) -> ResourceAssignment:
    permissions.require_project(by, assignment.project, permissions.PLANNER)
    return _change(assignment, version=version, by=by, fields=fields)


def _change(assignment: ResourceAssignment, *, version: int, by, fields: dict) -> ResourceAssignment:
    """assignment_update once the caller has checked the planner role."""
    allowed = {k: v for k, v in fields.items() if k in ASSIGNMENT_FIELDS}
    _check_project_parts(assignment.project_id, allowed)
    _check_range(allowed.get("start", assignment.start), allowed.get("end", assignment.end))
    assignment = _update(assignment, version=version, by=by, fields=allowed)
    _publish(assignment, "assignment_changed", by)
    _workload_changed()
    return assignment


@transaction.atomic
def assignment_delete(*, assignment: ResourceAssignment, by, version: int | None = None) -> ResourceAssignment:
    permissions.require_project(by, assignment.project, permissions.PLANNER)
    assignment = _soft_delete(assignment, by=by, version=version)
    _publish(assignment, "assignment_deleted", by)
    _workload_changed()
    return assignment


def _bulk_failure(raw_id, exc: DomainError, assignment) -> dict:
    current = None
    if isinstance(exc, VersionConflict):
        row = exc.instance or assignment
        current = payload(row) if row is not None else None
    error = {"code": exc.code, "message": exc.message, "details": {**exc.details, "current": current}}
    return {"id": raw_id, "code": exc.code, "current": current, "error": error}


@transaction.atomic
def assignment_bulk_update(*, items, by, parse) -> dict:
    """Move/resize many assignments, each in its own savepoint: a stale or invalid item
    fails alone. `parse(assignment, item)` returns validated fields (or raises DomainError).
    -> {"succeeded": [{"id", "version"}], "failed": [{"id", "code", "current", "error"}]}"""
    if not isinstance(items, list):
        raise ValidationFailed(
            _("Expected a list of {id, version, ...fields}."), details={"body": [_("Expected a list.")]}
        )
    if len(items) > MAX_BULK_ITEMS:
        raise PayloadTooLarge(_("At most %(n)s items per request.") % {"n": MAX_BULK_ITEMS})
    succeeded, failed = [], []
    for item in items:
        raw_id = item.get("id") if isinstance(item, dict) else None
        assignment = None
        try:
            if not isinstance(raw_id, int) or isinstance(raw_id, bool):
                raise ValidationFailed.field("id", _("An assignment id (integer) is required."))
            with transaction.atomic():
                assignment = visible_or_404(ResourceAssignment.objects.select_related("project"), raw_id)
                # The role before the item's version and fields: a viewer learns "forbidden".
                permissions.require_project(by, assignment.project, permissions.PLANNER)
                version = require_version(item)
                assignment = _change(assignment, version=version, by=by, fields=parse(assignment, item))
            succeeded.append({"id": assignment.pk, "version": assignment.version})
        except DomainError as exc:
            failed.append(_bulk_failure(raw_id, exc, assignment))
        except IntegrityError:
            failed.append(_bulk_failure(raw_id, Conflict(_("Constraint violated.")), None))
    return {"succeeded": succeeded, "failed": failed}
