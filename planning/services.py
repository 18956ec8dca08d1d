"""Every planning write: keyword-only, atomic, versioned (contorl/versioning.py), audited,
and - for project data - published to the project's WebSocket group after commit.

Callers (API, admin, seed) check *who* may act (planning/permissions.py); these functions
check *what* is valid, so the rules hold whichever door a write comes through.

Costs: an actual's `cost` is hours x the rate of its worker's type valid on its date, stored
at write time and recomputed (with version + 1 and an `actuals_recosted` event) whenever a
rate of that type is created, changed or deleted, or the worker changes type. A day with no
rate has cost null until a rate covers it.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.services import Sensitivity
from contorl import events
from contorl.errors import Conflict, DomainError, NotFound, PayloadTooLarge, ValidationFailed, VersionConflict
from contorl.events import project_group
from contorl.versioning import require_version, versioned_update
from tasks.workload import workload_changed

from . import permissions
from .models import (
    Actual,
    Portfolio,
    Program,
    ProjectLink,
    ProjectPhase,
    Rate,
    ResourceAssignment,
    ScopeAssignment,
    Worker,
    WorkerException,
    WorkerType,
)
from .payloads import ENTITY_NAMES, payload

MAX_BULK_ITEMS = 200
MIN_DATE, MAX_DATE = datetime.date(2000, 1, 1), datetime.date(2100, 12, 31)
CENT = Decimal("0.01")


# --- shared helpers ----------------------------------------------------------------------


def _pk(value):
    return getattr(value, "pk", value)


def _plain(value):
    value = _pk(value)
    if isinstance(value, datetime.date | Decimal):
        return str(value)
    return value


def _changes(obj, fields: dict) -> dict:
    return {
        name: [_plain(getattr(obj, name)), _plain(new)]
        for name, new in fields.items()
        if _plain(getattr(obj, name)) != _plain(new)
    }


def _audit(action: str, obj, by, changes=None, sensitivity=Sensitivity.LOW) -> None:
    audit.record(
        f"planning.{ENTITY_NAMES[type(obj)]}.{action}", actor=by, obj=obj, sensitivity=sensitivity, changes=changes
    )


def _publish(obj, event_type: str, by) -> None:
    project_id = getattr(obj, "project_id", None)
    if project_id is not None:
        events.publish(project_group(project_id), event_type, payload(obj), actor=by)


def _check_dates(**named) -> None:
    for name, day in named.items():
        if day is not None and not MIN_DATE <= day <= MAX_DATE:
            raise ValidationFailed.field(name, _("A date from 2000 to 2100."))


def _check_range(start, end, *, start_name="start", end_name="end") -> None:
    _check_dates(**{start_name: start, end_name: end})
    if start is not None and end is not None and end < start:
        raise ValidationFailed.field(end_name, _("The end must not be before the start."))


def _create(model, *, by, fields: dict, sensitivity=Sensitivity.LOW):
    obj = model(**fields)
    if hasattr(obj, "created_by_id"):
        obj.created_by = by
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise Conflict(_("This conflicts with an existing record.")) from None
    _audit("create", obj, by, {k: _plain(v) for k, v in fields.items()}, sensitivity)
    return obj


def _update(obj, *, version: int, by, fields: dict, sensitivity=Sensitivity.LOW):
    changes = _changes(obj, fields)
    try:
        with transaction.atomic():
            obj = versioned_update(obj, version=version, fields=fields, by=by)
    except IntegrityError:
        raise Conflict(_("This conflicts with an existing record.")) from None
    _audit("update", obj, by, changes, sensitivity)
    return obj


def _soft_delete(obj, *, by, version: int | None, sensitivity=Sensitivity.LOW):
    if obj.is_deleted:
        raise NotFound()
    fields = {"is_deleted": True, "deleted_at": timezone.now(), "deleted_by": by}
    obj = versioned_update(obj, version=obj.version if version is None else version, fields=fields, by=by)
    _audit("delete", obj, by, None, sensitivity)
    return obj


def _live(queryset, name: str, message: str):
    if queryset.filter(is_deleted=True).exists():
        raise ValidationFailed.field(name, message)


def _workload_changed() -> None:
    workload_changed.send(sender=ResourceAssignment)


# --- portfolios, programs, project links -------------------------------------------------


@transaction.atomic
def portfolio_create(*, by, name: str, description: str = "") -> Portfolio:
    return _create(Portfolio, by=by, fields={"name": name, "description": description})


@transaction.atomic
def portfolio_update(*, portfolio: Portfolio, version: int, by, **fields) -> Portfolio:
    allowed = {k: v for k, v in fields.items() if k in ("name", "description")}
    return _update(portfolio, version=version, by=by, fields=allowed)


@transaction.atomic
def portfolio_delete(*, portfolio: Portfolio, by, version: int | None = None) -> Portfolio:
    if Program.objects.filter(portfolio=portfolio).exists():
        raise Conflict(_("Delete or move this portfolio's programs first."))
    return _soft_delete(portfolio, by=by, version=version, sensitivity=Sensitivity.MEDIUM)


def _live_portfolio(portfolio) -> None:
    if portfolio is not None and portfolio.is_deleted:
        raise ValidationFailed.field("portfolio", _("This portfolio is deleted."))


@transaction.atomic
def program_create(*, by, portfolio: Portfolio, name: str, description: str = "") -> Program:
    _live_portfolio(portfolio)
    return _create(Program, by=by, fields={"portfolio": portfolio, "name": name, "description": description})


@transaction.atomic
def program_update(*, program: Program, version: int, by, **fields) -> Program:
    allowed = {k: v for k, v in fields.items() if k in ("name", "description", "portfolio")}
    _live_portfolio(allowed.get("portfolio"))
    return _update(program, version=version, by=by, fields=allowed)


@transaction.atomic
def program_delete(*, program: Program, by, version: int | None = None) -> Program:
    if ProjectLink.objects.filter(program=program).exists():
        raise Conflict(_("Unlink this program's projects first."))
    return _soft_delete(program, by=by, version=version, sensitivity=Sensitivity.MEDIUM)


def _live_program(program) -> None:
    if program is not None and program.is_deleted:
        raise ValidationFailed.field("program", _("This program is deleted."))


@transaction.atomic
def link_create(*, by, project, program: Program) -> ProjectLink:
    _live_program(program)
    if ProjectLink.objects.filter(project=project).exists():
        raise ValidationFailed.field("project", _("This project already belongs to a program; change that link."))
    link = _create(ProjectLink, by=by, fields={"project": project, "program": program}, sensitivity=Sensitivity.MEDIUM)
    permissions.forget(by)
    return link


@transaction.atomic
def link_update(*, link: ProjectLink, version: int, by, program: Program) -> ProjectLink:
    _live_program(program)
    return _update(link, version=version, by=by, fields={"program": program}, sensitivity=Sensitivity.MEDIUM)


@transaction.atomic
def link_delete(*, link: ProjectLink, by) -> None:
    """A link is not user content: removing it makes the project stand alone (audited)."""
    _audit("delete", link, by, {"project": link.project_id, "program": link.program_id}, Sensitivity.MEDIUM)
    link.delete()


# --- phases ------------------------------------------------------------------------------

PHASE_FIELDS = ("name", "order", "start", "end", "gate_status")


@transaction.atomic
def phase_create(*, by, project, name: str, start, end, order: int = 0, gate_status: str = "not_started"):
    _check_range(start, end)
    fields = {"project": project, "name": name, "start": start, "end": end, "order": order, "gate_status": gate_status}
    phase = _create(ProjectPhase, by=by, fields=fields)
    _publish(phase, "phase_created", by)
    return phase


@transaction.atomic
def phase_update(*, phase: ProjectPhase, version: int, by, **fields) -> ProjectPhase:
    allowed = {k: v for k, v in fields.items() if k in PHASE_FIELDS}
    _check_range(allowed.get("start", phase.start), allowed.get("end", phase.end))
    phase = _update(phase, version=version, by=by, fields=allowed)
    _publish(phase, "phase_changed", by)
    return phase


@transaction.atomic
def phase_delete(*, phase: ProjectPhase, by, version: int | None = None) -> ProjectPhase:
    phase = _soft_delete(phase, by=by, version=version)
    _publish(phase, "phase_deleted", by)
    return phase


# --- worker types and rates --------------------------------------------------------------


@transaction.atomic
def worker_type_create(*, by, name: str, description: str = "") -> WorkerType:
    return _create(WorkerType, by=by, fields={"name": name, "description": description})


@transaction.atomic
def worker_type_update(*, worker_type: WorkerType, version: int, by, **fields) -> WorkerType:
    allowed = {k: v for k, v in fields.items() if k in ("name", "description")}
    return _update(worker_type, version=version, by=by, fields=allowed)


@transaction.atomic
def worker_type_delete(*, worker_type: WorkerType, by, version: int | None = None) -> WorkerType:
    if Worker.objects.filter(worker_type=worker_type).exists():
        raise Conflict(_("Workers of this type still exist; change their type first."))
    return _soft_delete(worker_type, by=by, version=version, sensitivity=Sensitivity.MEDIUM)


def rate_on(worker_type_id: int, day: datetime.date) -> Rate | None:
    """The live rate of a worker type on `day` (valid_from and valid_to both included)."""
    return (
        Rate.objects.filter(worker_type_id=worker_type_id, valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .first()
    )


def _lock_rates(worker_type_id: int) -> None:
    # Writers of one type's rates queue here, so two overlapping inserts cannot both pass
    # the check below (SQLite: BEGIN IMMEDIATE already serialises writers).
    list(WorkerType.all_objects.select_for_update().filter(pk=worker_type_id).values_list("pk"))


def _check_no_overlap(worker_type_id: int, valid_from, valid_to, *, exclude: int | None = None) -> None:
    _check_range(valid_from, valid_to, start_name="valid_from", end_name="valid_to")
    overlapping = Rate.objects.filter(worker_type_id=worker_type_id).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=valid_from)
    )
    if valid_to is not None:
        overlapping = overlapping.filter(valid_from__lte=valid_to)
    if exclude is not None:
        overlapping = overlapping.exclude(pk=exclude)
    other = overlapping.first()
    if other is not None:
        raise ValidationFailed(
            _("Rates of one worker type must not overlap (rate %(id)s is valid from %(start)s to %(end)s).")
            % {"id": other.pk, "start": other.valid_from, "end": other.valid_to or "…"},
            details={"valid_from": [_("Overlaps another rate of this worker type.")], "overlaps": [str(other.pk)]},
        )


@transaction.atomic
def rate_create(*, by, worker_type: WorkerType, cost_per_hour: Decimal, valid_from, valid_to=None) -> Rate:
    if worker_type.is_deleted:
        raise ValidationFailed.field("worker_type", _("This worker type is deleted."))
    _lock_rates(worker_type.pk)
    _check_no_overlap(worker_type.pk, valid_from, valid_to)
    fields = {
        "worker_type": worker_type,
        "cost_per_hour": cost_per_hour,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }
    rate = _create(Rate, by=by, fields=fields, sensitivity=Sensitivity.MEDIUM)
    recost(worker_type_id=worker_type.pk, start=valid_from, end=valid_to, by=by)
    return rate


@transaction.atomic
def rate_update(*, rate: Rate, version: int, by, **fields) -> Rate:
    allowed = {k: v for k, v in fields.items() if k in ("cost_per_hour", "valid_from", "valid_to")}
    _lock_rates(rate.worker_type_id)
    valid_from = allowed.get("valid_from", rate.valid_from)
    valid_to = allowed.get("valid_to", rate.valid_to)
    _check_no_overlap(rate.worker_type_id, valid_from, valid_to, exclude=rate.pk)
    old_from, old_to = rate.valid_from, rate.valid_to
    rate = _update(rate, version=version, by=by, fields=allowed, sensitivity=Sensitivity.MEDIUM)
    # Both the old and the new validity may hold actuals whose rate just changed.
    start = min(old_from, valid_from)
    end = None if old_to is None or valid_to is None else max(old_to, valid_to)
    recost(worker_type_id=rate.worker_type_id, start=start, end=end, by=by)
    return rate


@transaction.atomic
def rate_delete(*, rate: Rate, by, version: int | None = None) -> Rate:
    _lock_rates(rate.worker_type_id)
    rate = _soft_delete(rate, by=by, version=version, sensitivity=Sensitivity.MEDIUM)
    recost(worker_type_id=rate.worker_type_id, start=rate.valid_from, end=rate.valid_to, by=by)
    return rate


def _cost(hours: Decimal, rate: Rate | None) -> Decimal | None:
    if rate is None:
        return None
    return (Decimal(hours) * rate.cost_per_hour).quantize(CENT, rounding=ROUND_HALF_UP)


def recost(*, worker_type_id: int | None = None, worker_id: int | None = None, start=None, end=None, by=None) -> int:
    """Recompute rate and cost of the live actuals of a worker type (or one worker) in
    [start, end]; each changed actual gets version + 1. Returns how many changed."""
    actuals = Actual.objects.select_related("worker")
    if worker_type_id is not None:
        actuals = actuals.filter(worker__worker_type_id=worker_type_id)
    if worker_id is not None:
        actuals = actuals.filter(worker_id=worker_id)
    if start is not None:
        actuals = actuals.filter(date__gte=start)
    if end is not None:
        actuals = actuals.filter(date__lte=end)
    rates: dict[int, list[Rate]] = {}
    changed: dict[int, list[int]] = {}
    for actual in actuals.order_by("id"):
        type_id = actual.worker.worker_type_id
        if type_id not in rates:
            rates[type_id] = list(Rate.objects.filter(worker_type_id=type_id))
        rate = next(
            (
                r
                for r in rates[type_id]
                if r.valid_from <= actual.date and (r.valid_to is None or actual.date <= r.valid_to)
            ),
            None,
        )
        cost = _cost(actual.hours, rate)
        if actual.rate_id == _pk(rate) and actual.cost == cost:
            continue
        versioned_update(actual, version=actual.version, fields={"rate": rate, "cost": cost}, by=by)
        changed.setdefault(actual.project_id, []).append(actual.pk)
    for project_id, ids in changed.items():
        events.publish(project_group(project_id), "actuals_recosted", {"project": project_id, "actuals": ids}, actor=by)
    return sum(len(ids) for ids in changed.values())


# --- workers and their calendar exceptions -----------------------------------------------

WORKER_FIELDS = ("user", "name", "department", "worker_type", "weekly_capacity_hours")


def _check_worker_fields(fields: dict, *, exclude: int | None = None) -> None:
    worker_type = fields.get("worker_type")
    if worker_type is not None and worker_type.is_deleted:
        raise ValidationFailed.field("worker_type", _("This worker type is deleted."))
    user = fields.get("user")
    if user is not None:
        taken = Worker.all_objects.filter(user=user)
        if exclude is not None:
            taken = taken.exclude(pk=exclude)
        if taken.exists():
            raise ValidationFailed.field("user", _("This user already has a worker record."))


@transaction.atomic
def worker_create(*, by, worker_type: WorkerType, name: str = "", user=None, department=None, **fields) -> Worker:
    values = {"worker_type": worker_type, "name": name, "user": user, "department": department}
    values.update({k: v for k, v in fields.items() if k in WORKER_FIELDS})
    _check_worker_fields(values)
    if not values["name"]:
        if user is None:
            raise ValidationFailed.field("name", _("An external worker needs a name."))
        values["name"] = user.get_full_name() or user.username
    if values["department"] is None and user is not None:
        values["department"] = user.department
    worker = _create(Worker, by=by, fields=values, sensitivity=Sensitivity.MEDIUM)
    _workload_changed()
    return worker


@transaction.atomic
def worker_update(*, worker: Worker, version: int, by, **fields) -> Worker:
    allowed = {k: v for k, v in fields.items() if k in WORKER_FIELDS}
    _check_worker_fields(allowed, exclude=worker.pk)
    if "name" in allowed and not allowed["name"]:
        raise ValidationFailed.field("name", _("This field may not be blank."))
    old_type = worker.worker_type_id
    worker = _update(worker, version=version, by=by, fields=allowed, sensitivity=Sensitivity.MEDIUM)
    if worker.worker_type_id != old_type:
        recost(worker_id=worker.pk, by=by)
    _workload_changed()
    return worker


@transaction.atomic
def worker_delete(*, worker: Worker, by, version: int | None = None) -> Worker:
    worker = _soft_delete(worker, by=by, version=version, sensitivity=Sensitivity.MEDIUM)
    _workload_changed()
    return worker


@transaction.atomic
def exception_create(*, by, worker: Worker, start, end, hours_off: Decimal, reason: str = "") -> WorkerException:
    if worker.is_deleted:
        raise ValidationFailed.field("worker", _("This worker is deleted."))
    _check_range(start, end)
    fields = {"worker": worker, "start": start, "end": end, "hours_off": hours_off, "reason": reason}
    exception = _create(WorkerException, by=by, fields=fields)
    _workload_changed()
    return exception


@transaction.atomic
def exception_update(*, exception: WorkerException, version: int, by, **fields) -> WorkerException:
    allowed = {k: v for k, v in fields.items() if k in ("start", "end", "hours_off", "reason")}
    _check_range(allowed.get("start", exception.start), allowed.get("end", exception.end))
    exception = _update(exception, version=version, by=by, fields=allowed)
    _workload_changed()
    return exception


@transaction.atomic
def exception_delete(*, exception: WorkerException, by, version: int | None = None) -> WorkerException:
    exception = _soft_delete(exception, by=by, version=version)
    _workload_changed()
    return exception


# --- assignments and actuals -------------------------------------------------------------


def _check_project_parts(project_id: int, fields: dict) -> None:
    """The phase and task of an assignment or actual belong to its project and are live."""
    phase, task, worker = fields.get("phase"), fields.get("task"), fields.get("worker")
    if phase is not None and (phase.project_id != project_id or phase.is_deleted):
        raise ValidationFailed.field("phase", _("No such live item in this project."))
    if task is not None and (task.project_id != project_id or task.is_deleted):
        raise ValidationFailed.field("task", _("No such live item in this project."))
    if worker is not None and worker.is_deleted:
        raise ValidationFailed.field("worker", _("This worker is deleted."))


ASSIGNMENT_FIELDS = ("worker", "phase", "task", "start", "end", "hours_per_day", "note")


@transaction.atomic
def assignment_create(*, by, project, worker: Worker, start, end, hours_per_day: Decimal, **fields):
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
    allowed = {k: v for k, v in fields.items() if k in ASSIGNMENT_FIELDS}
    _check_project_parts(assignment.project_id, allowed)
    _check_range(allowed.get("start", assignment.start), allowed.get("end", assignment.end))
    assignment = _update(assignment, version=version, by=by, fields=allowed)
    _publish(assignment, "assignment_changed", by)
    _workload_changed()
    return assignment


@transaction.atomic
def assignment_delete(*, assignment: ResourceAssignment, by, version: int | None = None) -> ResourceAssignment:
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
                assignment = ResourceAssignment.objects.select_related("project").filter(pk=raw_id).first()
                if assignment is None:
                    raise NotFound()
                permissions.require_project(by, assignment.project, permissions.PLANNER)
                version = require_version(item)
                fields = parse(assignment, item)
                assignment = assignment_update(assignment=assignment, version=version, by=by, **fields)
            succeeded.append({"id": assignment.pk, "version": assignment.version})
        except DomainError as exc:
            failed.append(_bulk_failure(raw_id, exc, assignment))
        except IntegrityError:
            failed.append(_bulk_failure(raw_id, Conflict(_("Constraint violated.")), None))
    return {"succeeded": succeeded, "failed": failed}


ACTUAL_FIELDS = ("worker", "phase", "task", "date", "hours", "note")


@transaction.atomic
def actual_create(*, by, project, worker: Worker, date, hours: Decimal, **fields) -> Actual:
    values = {"worker": worker, "date": date, "hours": hours}
    values.update({k: v for k, v in fields.items() if k in ACTUAL_FIELDS})
    _check_project_parts(project.pk, values)
    _check_dates(date=date)
    rate = rate_on(worker.worker_type_id, date)
    values.update(rate=rate, cost=_cost(hours, rate))
    actual = _create(Actual, by=by, fields={"project": project, **values})
    _publish(actual, "actual_created", by)
    return actual


@transaction.atomic
def actual_update(*, actual: Actual, version: int, by, **fields) -> Actual:
    allowed = {k: v for k, v in fields.items() if k in ACTUAL_FIELDS}
    _check_project_parts(actual.project_id, allowed)
    _check_dates(date=allowed.get("date"))
    worker = allowed.get("worker", actual.worker)
    day, hours = allowed.get("date", actual.date), allowed.get("hours", actual.hours)
    rate = rate_on(worker.worker_type_id, day)
    allowed.update(rate=rate, cost=_cost(hours, rate))
    actual = _update(actual, version=version, by=by, fields=allowed)
    _publish(actual, "actual_changed", by)
    return actual


@transaction.atomic
def actual_delete(*, actual: Actual, by, version: int | None = None) -> Actual:
    actual = _soft_delete(actual, by=by, version=version)
    _publish(actual, "actual_deleted", by)
    return actual


# --- scoped planning roles (permission changes) ------------------------------------------


def _grant_changes(grant: ScopeAssignment, action: str, role_change=None) -> dict:
    return {
        "action": action,
        "user": grant.user_id,
        "role": role_change or grant.role,
        "scope_type": grant.scope_type,
        "scope_id": grant.scope_id,
    }


def _audit_permission(grant: ScopeAssignment, by, changes: dict) -> None:
    audit.record("planning.permission_change", actor=by, obj=grant, sensitivity=Sensitivity.HIGH, changes=changes)


@transaction.atomic
def grant_create(*, by, user, role: str, portfolio=None, program=None, project=None) -> ScopeAssignment:
    if sum(x is not None for x in (portfolio, program, project)) != 1:
        raise ValidationFailed.field("scope", _("Give exactly one of portfolio, program or project."))
    if not user.is_active:
        raise ValidationFailed.field("user", _("This user is inactive."))
    scope = {"portfolio": portfolio, "program": program, "project": project}
    if ScopeAssignment.objects.filter(user=user, **{k: v for k, v in scope.items() if v is not None}).exists():
        raise ValidationFailed.field("user", _("This user already has a role here; change it instead."))
    grant = ScopeAssignment(user=user, role=role, granted_by=by, **scope)
    try:
        with transaction.atomic():
            grant.save()
    except IntegrityError:
        raise ValidationFailed.field("user", _("This user already has a role here; change it instead.")) from None
    _audit_permission(grant, by, _grant_changes(grant, "grant"))
    permissions.forget(user)
    return grant


@transaction.atomic
def grant_update(*, grant: ScopeAssignment, version: int, by, role: str) -> ScopeAssignment:
    old = grant.role
    grant = versioned_update(grant, version=version, fields={"role": role}, by=by)
    _audit_permission(grant, by, _grant_changes(grant, "change", [old, role]))
    permissions.forget(grant.user)
    return grant


@transaction.atomic
def grant_delete(*, grant: ScopeAssignment, by) -> None:
    _audit_permission(grant, by, _grant_changes(grant, "revoke"))
    user = grant.user
    grant.delete()
    permissions.forget(user)
