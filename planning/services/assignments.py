"""Resource assignments: create, change, delete, bulk move/resize."""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from contorl import bulk
from contorl.errors import DomainError, VersionConflict
from contorl.lookups import visible_or_404

from .. import permissions
from ..models import ResourceAssignment, Worker
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
    """Move/resize many assignments, each in its own savepoint (contorl.bulk): a stale,
    invalid or forbidden item fails alone. `parse(assignment, item)` returns validated fields
    (or raises DomainError).
    -> {"succeeded": [{"id", "version"}], "failed": [{"id", "code", "current", "error"}]}"""

    rows: dict[int, ResourceAssignment] = {}

    def prefetch(ids: list[int]) -> None:
        # One read for the whole batch instead of one per item.
        rows.update(ResourceAssignment.objects.select_related("project").in_bulk(ids[:MAX_BULK_ITEMS]))

    def load(pk: int) -> ResourceAssignment:
        # Each prefetched row serves once; an id listed again is read again, as it now stands.
        assignment = rows.pop(pk, None) or visible_or_404(ResourceAssignment.objects.select_related("project"), pk)
        # The role before the item's version and fields: a viewer learns "forbidden".
        permissions.require_project(by, assignment.project, permissions.PLANNER)
        return assignment

    def write(assignment: ResourceAssignment, version: int, item: dict) -> ResourceAssignment:
        return _change(assignment, version=version, by=by, fields=parse(assignment, item))

    return bulk.update_each(
        items,
        max_items=MAX_BULK_ITEMS,
        id_required=_("An assignment id (integer) is required."),
        load=load,
        write=write,
        failure=_bulk_failure,
        prefetch=prefetch,
    )
