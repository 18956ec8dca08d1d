"""The one call path for audit entries: `audit.record(...)`, called from services only.

Appends are serialised so the hash chain never forks: on PostgreSQL a transaction-scoped
advisory lock is taken before reading the chain's tail and held until the caller's
transaction ends; on SQLite every transaction is BEGIN IMMEDIATE (settings), which already
holds the database's single write lock. Because the lock lives as long as the caller's
transaction, the tail we read is always committed, and a rollback takes our row away
together with the lock, so the next writer chains onto the real tail: the chain stays valid.
The price is that audited transactions on PostgreSQL commit one at a time from the moment
they call record(); services call it last, after their own writes.
"""

import datetime
import hashlib
import ipaddress
import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from contorl.logging import current_request_id

from .models import GENESIS_HASH, AuditLog, Sensitivity

log = logging.getLogger("contorl.audit")

__all__ = ["Sensitivity", "record", "row_hash", "verify_chain"]

# Arbitrary but fixed: the key of the pg_advisory_xact_lock that serialises appends.
CHAIN_LOCK_KEY = 0x434F4E54  # "CONT"

HASHED_FIELDS = (
    "event_type",
    "sensitivity",
    "actor_id",
    "object_type",
    "object_id",
    "changes",
    "request_id",
    "ip",
    "created_at",
    "prev_hash",
)


def _canonical_time(value) -> str:
    return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def row_hash(values: dict) -> str:
    """sha256 over canonical JSON (sorted keys, no spaces, UTC microsecond times)."""
    content = {name: values[name] for name in HASHED_FIELDS}
    content["created_at"] = _canonical_time(content["created_at"])
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _normalise_changes(changes):
    # Store exactly what we hash: a JSON round trip turns Decimals, dates, tuples and
    # non-string keys into the plain JSON the database will hand back later.
    if changes is None:
        return None
    return json.loads(json.dumps(changes, cls=DjangoJSONEncoder, ensure_ascii=False))


def _client_ip(request) -> str:
    if request is None:
        return ""
    from contorl.ratelimits import client_ip

    raw = client_ip(request)
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return ""


def _request_id(request) -> str:
    rid = getattr(request, "request_id", None) or current_request_id()
    return "" if rid in (None, "-") else str(rid)[:64]


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    # SQLite: the surrounding BEGIN IMMEDIATE transaction already holds the write lock.


def record(
    event_type: str,
    *,
    actor=None,
    obj=None,
    sensitivity: Sensitivity = Sensitivity.LOW,
    changes: dict | None = None,
    request=None,
    object_type: str | None = None,
    object_id: str | int | None = None,
) -> AuditLog:
    """Append one audit row (in the caller's transaction); critical ones alert every admin."""
    sensitivity = Sensitivity(sensitivity)
    if not event_type or len(event_type) > 64:
        raise ValueError("event_type must be 1..64 characters")
    if object_type is None and obj is not None:
        object_type = obj._meta.label_lower
    if object_id is None and obj is not None:
        object_id = obj.pk
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None  # AnonymousUser
    values = {
        "event_type": event_type,
        "sensitivity": str(sensitivity),
        "actor_id": actor.pk if actor is not None else None,
        "object_type": (object_type or "")[:100],
        "object_id": "" if object_id is None else str(object_id)[:64],
        "changes": _normalise_changes(changes),
        "request_id": _request_id(request),
        "ip": _client_ip(request),
    }
    with transaction.atomic():
        _lock_chain()
        tail = AuditLog.objects.order_by("-id").values_list("hash", flat=True).first()
        values["prev_hash"] = tail or GENESIS_HASH
        # Taken under the lock so created_at never goes backwards along the chain.
        values["created_at"] = timezone.now()
        values["hash"] = row_hash(values)
        entry = AuditLog.objects.create(**values)
        if sensitivity == Sensitivity.CRITICAL:
            _alert_admins(entry, actor)
    log.info(
        "audit %s (%s) on %s %s",
        event_type,
        sensitivity,
        values["object_type"] or "-",
        values["object_id"] or "-",
        extra={
            "event": event_type,
            "sensitivity": str(sensitivity),
            "actor_id": values["actor_id"],
            "object_type": values["object_type"],
            "object_id": values["object_id"],
        },
    )
    return entry


def _alert_admins(entry: AuditLog, actor) -> None:
    """Every critical event reaches every system admin at once: notification and email."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q
    from django.utils.translation import gettext as _

    from notifications.services import notify

    admins = list(get_user_model().objects.filter(Q(is_system_admin=True) | Q(is_superuser=True), is_active=True))
    who = actor.username if actor is not None else _("system")
    lines = []
    if entry.object_type:
        lines.append(_("Object: %(object)s") % {"object": f"{entry.object_type} {entry.object_id}".strip()})
    if entry.changes:
        lines.append(_("Changes: %(changes)s") % {"changes": json.dumps(entry.changes, ensure_ascii=False)[:1000]})
    notify(
        recipients=admins,
        type="audit_alert",
        title=_("Critical: %(event)s by %(who)s") % {"event": entry.event_type, "who": who},
        body="\n".join(lines),
        link=f"/audit/?id={entry.pk}",
        actor=actor,
        data={"audit_id": entry.pk, "event_type": entry.event_type, "sensitivity": entry.sensitivity},
        email=True,
    )


def verify_chain(*, batch_size: int = 2000) -> dict:
    """Recompute every hash in id order; report the first row whose hash or link is wrong."""
    expected_prev = GENESIS_HASH
    checked = 0
    fields = ("id", "hash", *HASHED_FIELDS)
    for row in AuditLog.objects.order_by("id").values(*fields).iterator(chunk_size=batch_size):
        problem = None
        if row["prev_hash"] != expected_prev:
            problem = "prev_hash does not match the previous row's hash (a row was removed, inserted or edited)"
        elif row_hash(row) != row["hash"]:
            problem = "content does not match its hash (the row was edited)"
        if problem:
            return {
                "ok": False,
                "checked": checked,
                "broken": {
                    "id": row["id"],
                    "event_type": row["event_type"],
                    "created_at": row["created_at"],
                    "reason": problem,
                    "expected_prev_hash": expected_prev,
                    "prev_hash": row["prev_hash"],
                    "hash": row["hash"],
                },
            }
        checked += 1
        expected_prev = row["hash"]
    return {"ok": True, "checked": checked}


def verify_all() -> dict:
    """The chain check plus whether the append-only triggers are in place."""
    from . import triggers

    result = verify_chain()
    gone = triggers.missing(connection)
    result["triggers"] = "ok" if not gone else "missing: " + ", ".join(sorted(gone))
    return result
