"""Actuals: hours worked, costed at the rate valid on their date."""

from decimal import Decimal

from django.db import transaction

from .. import permissions
from ..models import Actual, Worker
from .common import _check_dates, _check_project_parts, _create, _publish, _soft_delete, _update
from .rates import _cost, rate_on

ACTUAL_FIELDS = ("worker", "phase", "task", "date", "hours", "note")


def _write_role(by, worker: Worker, new_worker: Worker | None = None) -> str:
    """Workers log their own hours on projects they see; anyone else's hours take a planner."""
    own = worker.user_id == by.pk and (new_worker or worker).user_id == by.pk
    return permissions.VIEWER if own else permissions.PLANNER


@transaction.atomic
def actual_create(*, by, project, worker: Worker, date, hours: Decimal, **fields) -> Actual:
    permissions.require_new_project(by, project, _write_role(by, worker))
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
    permissions.require_project(by, actual.project, _write_role(by, actual.worker, fields.get("worker")))
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
    permissions.require_project(by, actual.project, _write_role(by, actual.worker))
    actual = _soft_delete(actual, by=by, version=version)
    _publish(actual, "actual_deleted", by)
    return actual
