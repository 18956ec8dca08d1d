"""Worker types, rates and the recosting of actuals when a rate changes."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from audit.services import Sensitivity
from contorl import events
from contorl.errors import Conflict, ValidationFailed
from contorl.events import project_group
from contorl.versioning import versioned_update

from .. import permissions
from ..models import Actual, Rate, Worker, WorkerType
from .common import CENT, _check_range, _create, _pk, _soft_delete, _update


@transaction.atomic
def worker_type_create(*, by, name: str, description: str = "") -> WorkerType:
    permissions.require_resource_manager(by)
    return _create(WorkerType, by=by, fields={"name": name, "description": description})


@transaction.atomic
def worker_type_update(*, worker_type: WorkerType, version: int, by, **fields) -> WorkerType:
    permissions.require_resource_manager(by)
    allowed = {k: v for k, v in fields.items() if k in ("name", "description")}
    return _update(worker_type, version=version, by=by, fields=allowed)


@transaction.atomic
def worker_type_delete(*, worker_type: WorkerType, by, version: int | None = None) -> WorkerType:
    permissions.require_resource_manager(by)
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
    permissions.require_resource_manager(by)
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
    permissions.require_resource_manager(by)
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
    permissions.require_resource_manager(by)
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
