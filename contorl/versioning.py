"""Optimistic locking for every user-editable model: one compare-and-set UPDATE.

Models inherit `Versioned` (a `version` column starting at 1). Writes call
`versioned_update`, which issues `UPDATE ... SET ..., version = version + 1
WHERE id = %s AND version = %s` and raises `VersionConflict` when no row matched.
There is no read-check-write window: the database decides who wins.
"""

import logging

from django.db import models, router
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from . import metrics
from .errors import ValidationFailed, VersionConflict
from .prepared_writes import compare_and_set

log = logging.getLogger("contorl.conflicts")


class Versioned(models.Model):
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


def require_version(data) -> int:
    """The version a client sent, as an int >= 1; 400 when missing or malformed."""
    raw = data.get("version") if hasattr(data, "get") else None
    if raw is None or raw == "":
        raise ValidationFailed.field("version", _("This field is required for updates."))
    if isinstance(raw, bool):
        raise ValidationFailed.field("version", _("A valid integer is required."))
    try:
        version = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed.field("version", _("A valid integer is required.")) from None
    if version < 1 or version > 2**31 - 1:
        raise ValidationFailed.field("version", _("Ensure this value is between 1 and 2147483647."))
    return version


def stale(model, pk, *, version: int, current, by=None) -> VersionConflict:
    """The 409 for a write of `pk` at `version` when the row stands at `current` (or is gone).

    Every 409 version_conflict in CONTORL starts here: one log line (ids and versions, never
    field values) and one count in /metrics per refused write.
    """
    current_version = current.version if current else None
    metrics.version_conflict(model._meta.label)
    log.info(
        "version_conflict",
        extra={
            "event": "version_conflict",
            "entity": model._meta.label,
            "entity_id": pk,
            "expected_version": version,
            "actual_version": current_version,
            "user_id": getattr(by, "pk", None),
        },
    )
    return VersionConflict(instance=current, your_version=version, current_version=current_version)


def versioned_update(instance, *, version: int, fields: dict, by=None):
    """Apply `fields` to `instance` if its stored version is still `version`.

    On success the instance carries the new values and version + 1, and post_save fires
    (so django-simple-history records who changed what). On a stale version nothing is
    written and VersionConflict carries the current row.
    """
    model = type(instance)
    values = dict(fields)
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        values.setdefault("updated_at", timezone.now())
    using = router.db_for_write(model, instance=instance)
    matched = compare_and_set(model, pk=instance.pk, version=version, values=values, using=using)
    if not matched:
        current = model._base_manager.filter(pk=instance.pk).first()
        raise stale(model, instance.pk, version=version, current=current, by=by)
    for name, value in values.items():
        setattr(instance, name, value)
    instance.version = version + 1
    if by is not None:
        instance._history_user = by
    # The UPDATE bypassed save(); announce it like a save so history and other
    # post_save listeners see exactly one change per successful write.
    post_save.send(
        sender=model,
        instance=instance,
        created=False,
        update_fields=frozenset(values),
        raw=False,
        using=instance._state.db or "default",
    )
    return instance
