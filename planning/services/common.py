"""What every planning write shares: create/update/soft delete with audit, date checks, publishing."""

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.services import Sensitivity
from contorl import bulk, events
from contorl.errors import Conflict, NotFound, ValidationFailed
from contorl.events import project_group
from contorl.versioning import versioned_update
from tasks.workload import workload_changed

from ..models import ResourceAssignment
from ..payloads import ENTITY_NAMES, payload

MAX_BULK_ITEMS = 200
MIN_DATE, MAX_DATE = datetime.date(2000, 1, 1), datetime.date(2100, 12, 31)
CENT = Decimal("0.01")


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
        with transaction.atomic(savepoint=bulk.item_savepoint_needed()):
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


def _check_project_parts(project_id: int, fields: dict) -> None:
    """The phase and task of an assignment or actual belong to its project and are live."""
    phase, task, worker = fields.get("phase"), fields.get("task"), fields.get("worker")
    if phase is not None and (phase.project_id != project_id or phase.is_deleted):
        raise ValidationFailed.field("phase", _("No such live item in this project."))
    if task is not None and (task.project_id != project_id or task.is_deleted):
        raise ValidationFailed.field("task", _("No such live item in this project."))
    if worker is not None and worker.is_deleted:
        raise ValidationFailed.field("worker", _("This worker is deleted."))
