"""Workers and their calendar exceptions (leave)."""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import Sensitivity
from contorl.errors import ValidationFailed

from .. import permissions
from ..models import Worker, WorkerException, WorkerType
from .common import _check_range, _create, _soft_delete, _update, _workload_changed
from .rates import recost

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
    permissions.require_resource_manager(by)
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
    permissions.require_resource_manager(by)
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
    permissions.require_resource_manager(by)
    worker = _soft_delete(worker, by=by, version=version, sensitivity=Sensitivity.MEDIUM)
    _workload_changed()
    return worker


@transaction.atomic
def exception_create(*, by, worker: Worker, start, end, hours_off: Decimal, reason: str = "") -> WorkerException:
    permissions.require_resource_manager(by)
    if worker.is_deleted:
        raise ValidationFailed.field("worker", _("This worker is deleted."))
    _check_range(start, end)
    fields = {"worker": worker, "start": start, "end": end, "hours_off": hours_off, "reason": reason}
    exception = _create(WorkerException, by=by, fields=fields)
    _workload_changed()
    return exception


@transaction.atomic
def exception_update(*, exception: WorkerException, version: int, by, **fields) -> WorkerException:
    permissions.require_resource_manager(by)
    allowed = {k: v for k, v in fields.items() if k in ("start", "end", "hours_off", "reason")}
    _check_range(allowed.get("start", exception.start), allowed.get("end", exception.end))
    exception = _update(exception, version=version, by=by, fields=allowed)
    _workload_changed()
    return exception


@transaction.atomic
def exception_delete(*, exception: WorkerException, by, version: int | None = None) -> WorkerException:
    permissions.require_resource_manager(by)
    exception = _soft_delete(exception, by=by, version=version)
    _workload_changed()
    return exception
