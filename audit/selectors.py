"""Reads of the audit trail, shared by the API, the web page and the CSV export."""

import datetime

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from contorl.errors import ValidationFailed
from contorl.payloads import user_brief

from .models import AuditLog, Sensitivity

FILTERS = ("event_type", "sensitivity", "actor", "object_type", "object_id", "created_after", "created_before", "id")


def _moment(name: str, raw: str, *, end_of_day: bool) -> datetime.datetime:
    raw = raw.strip()
    try:
        # A bare date means the whole day (checked first: fromisoformat accepts it as midnight).
        day = parse_date(raw) if len(raw) == 10 else None
        moment = None if day else parse_datetime(raw)
    except ValueError:
        day = moment = None
    if day is not None:
        moment = datetime.datetime.combine(day, datetime.time.max if end_of_day else datetime.time.min)
    if moment is None:
        raise ValidationFailed.field(name, "Use an ISO date (2026-01-31) or date-time.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed.field(name, "A valid integer is required.") from None
    if not 1 <= value <= 2**63 - 1:
        raise ValidationFailed.field(name, "Out of range.")
    return value


def audit_logs(params) -> QuerySet[AuditLog]:
    """Filter by event_type (exact, or a prefix ending in '.' such as 'task.'), sensitivity
    (one or comma-separated), actor (user id), object_type, object_id, id, and an inclusive
    created_after / created_before range (ISO date or date-time)."""
    qs = AuditLog.objects.select_related("actor").order_by("-id")
    get = lambda name: (params.get(name) or "").strip()  # noqa: E731
    if value := get("event_type")[:64]:
        qs = qs.filter(event_type__startswith=value) if value.endswith(".") else qs.filter(event_type=value)
    if value := get("sensitivity"):
        levels = [v.strip() for v in value.split(",") if v.strip()]
        bad = [v for v in levels if v not in Sensitivity.values]
        if bad:
            raise ValidationFailed.field("sensitivity", f"Unknown level(s): {', '.join(bad)[:100]}")
        qs = qs.filter(sensitivity__in=levels)
    if value := get("actor"):
        qs = qs.filter(actor_id=_int("actor", value))
    if value := get("object_type")[:100]:
        qs = qs.filter(object_type=value)
    if value := get("object_id")[:64]:
        qs = qs.filter(object_id=value)
    if value := get("id"):
        qs = qs.filter(pk=_int("id", value))
    if value := get("created_after"):
        qs = qs.filter(created_at__gte=_moment("created_after", value, end_of_day=False))
    if value := get("created_before"):
        qs = qs.filter(created_at__lte=_moment("created_before", value, end_of_day=True))
    return qs


def audit_log_row(entry: AuditLog) -> dict:
    actor = entry.actor
    return {
        "id": entry.pk,
        "event_type": entry.event_type,
        "sensitivity": entry.sensitivity,
        "actor": user_brief(actor),
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "changes": entry.changes,
        "request_id": entry.request_id,
        "ip": entry.ip,
        "created_at": entry.created_at,
        "seq": entry.seq,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }
