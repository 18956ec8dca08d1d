"""Resource assignments: create, change, delete, bulk move/resize."""

import copy
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from contorl import bulk, events
from contorl.errors import DomainError, NotFound, ValidationFailed, VersionConflict
from contorl.lookups import visible_or_404
from contorl.versioning import require_version, stale

from .. import permissions
from ..models import ResourceAssignment, Worker
from ..payloads import payload
from .common import (
    MAX_BULK_ITEMS,
    _changes,
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
    """Move/resize many assignments with partial success: a stale, invalid or forbidden item
    fails alone. `parse(assignment, item)` returns validated fields (or raises DomainError).
    -> {"succeeded": [{"id", "version"}], "failed": [{"id", "code", "current", "error"}]}

    One batch instead of a savepoint and four statements per item: the rows are read and
    locked together, every item is checked (role, fields, version) against the locked rows in
    memory, then all the changes are one UPDATE and all their audit rows one INSERT; the
    events leave after commit in one hand-off. Should the database refuse the UPDATE (a
    constraint only it knows), the batch is undone and each item runs in its own savepoint.
    """
    bulk.check_items(items, max_items=MAX_BULK_ITEMS)
    rows = (
        ResourceAssignment.objects.select_related("project")
        .select_for_update(of=("self",))
        .in_bulk(bulk.item_ids(items))
    )
    succeeded, failed, changed = [], [], {}
    for item in items:
        raw_id = item.get("id")
        assignment = rows.get(raw_id) if bulk.is_id(raw_id) else None
        try:
            fields, version = _checked_move(assignment, raw_id, item, by=by, parse=parse)
        except DomainError as exc:
            failed.append(_bulk_failure(raw_id, exc, assignment))
            continue
        earlier = changed.get(assignment.pk, (assignment, {}))[1]
        diff = _changes(assignment, fields)
        for name, value in fields.items():
            setattr(assignment, name, value)
        assignment.version = version + 1
        assignment.updated_at = timezone.now()
        changed[assignment.pk] = (assignment, {**earlier, **diff})
        succeeded.append({"id": assignment.pk, "version": assignment.version})
    if not changed:
        return {"succeeded": succeeded, "failed": failed}
    try:
        with transaction.atomic():
            bulk.update_columns(ResourceAssignment, [a for a, _diff in changed.values()], _columns(changed.values()))
    except IntegrityError:
        return _bulk_update_item_by_item(items=items, by=by, parse=parse)
    audit.record_many("planning.assignment.update", actor=by, entries=list(changed.values()))
    with events.batched():
        for assignment, _diff in changed.values():
            _publish(assignment, "assignment_changed", by)
    _workload_changed()
    return {"succeeded": succeeded, "failed": failed}


def _columns(changed) -> list[str]:
    """The columns a batch writes: the version, the time, and those some item changed."""
    names = {name for _row, diff in changed for name in diff}
    return ["version", "updated_at", *(name for name in ASSIGNMENT_FIELDS if name in names)]


def _checked_move(assignment, raw_id, item: dict, *, by, parse) -> tuple[dict, int]:
    """(fields, version) of an item that may be applied to its locked row; else DomainError,
    in the order the per-item path checks: id, visibility, role, version field, fields, version."""
    if not bulk.is_id(raw_id):
        raise ValidationFailed.field("id", _("An assignment id (integer) is required."))
    if assignment is None:
        raise NotFound()
    # The role before the item's version and fields: a viewer learns "forbidden".
    permissions.require_project(by, assignment.project, permissions.PLANNER)
    version = require_version(item)
    fields = {k: v for k, v in parse(assignment, item).items() if k in ASSIGNMENT_FIELDS}
    _check_project_parts(assignment.project_id, fields)
    _check_range(fields.get("start", assignment.start), fields.get("end", assignment.end))
    if version != assignment.version:
        raise stale(ResourceAssignment, assignment.pk, version=version, current=copy.copy(assignment), by=by)
    return fields, version


def _bulk_update_item_by_item(*, items, by, parse) -> dict:
    """The same answer, one savepoint per item (contorl.bulk): it finds the item the database
    refuses. Called with the batch rolled back."""

    def load(pk: int) -> ResourceAssignment:
        assignment = visible_or_404(ResourceAssignment.objects.select_related("project"), pk)
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
    )
