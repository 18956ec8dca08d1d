"""The one call path for audit entries: `audit.record(...)`, called from services only.

record() only INSERTs, in the caller's transaction: no lock, no read of the chain, so
audited writes to different projects commit side by side. The row is unsealed (no seq, no
hash) until the sealer (audit/sealing.py) chains it, right after the caller commits and
again on Celery beat. A rolled-back transaction takes its unsealed row with it and leaves
nothing in the chain to repair.
"""

import ipaddress
import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from contorl.logging import current_request_id

from . import anchors, keys
from .models import GENESIS_HASH, AuditLog, Sensitivity
from .sealing import HASHED_FIELDS, chain_head, row_hash, seal_after_commit, seal_pending

log = logging.getLogger("contorl.audit")

__all__ = [
    "HASHED_FIELDS",
    "Sensitivity",
    "chain_head",
    "record",
    "record_many",
    "row_hash",
    "seal_pending",
    "verify_all",
    "verify_chain",
]


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


def _row_values(event_type: str, *, actor, obj, sensitivity, changes, request, object_type, object_id) -> dict:
    if not event_type or len(event_type) > 64:
        raise ValueError("event_type must be 1..64 characters")
    if object_type is None and obj is not None:
        object_type = obj._meta.label_lower
    if object_id is None and obj is not None:
        object_id = obj.pk
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None  # AnonymousUser
    return {
        "event_type": event_type,
        "sensitivity": str(sensitivity),
        "actor_id": actor.pk if actor is not None else None,
        "object_type": (object_type or "")[:100],
        "object_id": "" if object_id is None else str(object_id)[:64],
        "changes": _normalise_changes(changes),
        "request_id": _request_id(request),
        "ip": _client_ip(request),
    }


def _logged(values: dict) -> None:
    log.info(
        "audit %s (%s) on %s %s",
        values["event_type"],
        values["sensitivity"],
        values["object_type"] or "-",
        values["object_id"] or "-",
        extra={
            "event": values["event_type"],
            "sensitivity": values["sensitivity"],
            "actor_id": values["actor_id"],
            "object_type": values["object_type"],
            "object_id": values["object_id"],
        },
    )


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
    """Insert one unsealed audit row (in the caller's transaction); critical ones alert every admin."""
    sensitivity = Sensitivity(sensitivity)
    values = _row_values(
        event_type,
        actor=actor,
        obj=obj,
        sensitivity=sensitivity,
        changes=changes,
        request=request,
        object_type=object_type,
        object_id=object_id,
    )
    if sensitivity == Sensitivity.CRITICAL:
        with transaction.atomic():  # the row and its alerts stand or fall together
            entry = AuditLog.objects.create(**values, created_at=timezone.now())
            _alert_admins(entry, actor)
    else:
        # One INSERT needs no savepoint of its own: two round trips fewer per audited write.
        entry = AuditLog.objects.create(**values, created_at=timezone.now())
    # Outside our own savepoint: queued at the caller's level, one run serves all its rows.
    seal_after_commit()
    _logged(values)
    return entry


def record_many(
    event_type: str, *, actor, entries: list[tuple], sensitivity: Sensitivity = Sensitivity.LOW, request=None
) -> list[AuditLog]:
    """record() for many objects of one write in one INSERT: `entries` is [(obj, changes)].
    Not for critical events (each of those alerts the admins)."""
    sensitivity = Sensitivity(sensitivity)
    if sensitivity == Sensitivity.CRITICAL:
        raise ValueError("critical events are recorded one by one")
    now = timezone.now()
    rows = [
        _row_values(
            event_type,
            actor=actor,
            obj=obj,
            sensitivity=sensitivity,
            changes=changes,
            request=request,
            object_type=None,
            object_id=None,
        )
        for obj, changes in entries
    ]
    created = AuditLog.objects.bulk_create([AuditLog(**values, created_at=now) for values in rows])
    if created:
        seal_after_commit()
    for values in rows:
        _logged(values)
    return created


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


def _anchor_report(found, at_anchor, last) -> dict:
    """Compare the chain with the newest anchor: truncation, rewrite, or a forged anchor."""
    if found is None:
        return {"status": "missing", "detail": "No anchor yet: truncation of the newest rows cannot be detected."}
    body, name = found["body"], found["name"]
    if body is None or not anchors.signature_ok(body):
        other_key = isinstance(body, dict) and body.get("key_id") not in (None, keys.key_id())
        return {
            "status": "invalid",
            "name": name,
            "detail": "The anchor was signed with another key."
            if other_key
            else "The anchor's signature does not verify: the file was edited or forged.",
        }
    report = {k: body[k] for k in ("seq", "id", "hash", "anchored_at")} | {"name": name}
    if last is None or last["seq"] < body["seq"]:
        ends = f"seq {last['seq']} (id {last['id']})" if last else "nothing"
        report["status"] = "truncated"
        report["detail"] = (
            f"The chain ends at {ends}, but seq {body['seq']} (id {body['id']}) was anchored at "
            f"{body['anchored_at']}: the newest sealed rows were deleted."
        )
    elif at_anchor is None or (at_anchor["id"], at_anchor["hash"]) != (body["id"], body["hash"]):
        report["status"] = "rewritten"
        report["detail"] = (
            f"The row at seq {body['seq']} is not the one anchored at {body['anchored_at']}: "
            "the chain was rewritten up to there."
        )
    else:
        report["status"] = "ok"
    return report


def verify_chain(*, batch_size: int = 2000) -> dict:
    """Recompute every seal in chain order, report the first bad row, the unsealed rows,
    and how the chain compares with the newest anchor."""
    key = keys.hmac_key()
    # The anchor first: it can only name rows already committed, so the walk below sees them.
    found = anchors.latest()
    anchored_seq = found["body"].get("seq") if found and found["body"] else None
    expected_seq, expected_prev = 1, GENESIS_HASH
    checked, broken, at_anchor, last = 0, None, None, None
    fields = ("hash", *HASHED_FIELDS)
    for row in AuditLog.objects.filter(seq__isnull=False).order_by("seq").values(*fields).iterator(batch_size):
        if row["seq"] == anchored_seq:
            at_anchor = row
        last = row
        if broken:
            continue  # keep walking only to find the anchored row and the real end
        problem = None
        if row["seq"] != expected_seq:
            problem = f"chain position {expected_seq} is missing (a sealed row was removed)"
        elif row["prev_hash"] != expected_prev:
            problem = "prev_hash does not match the previous row's hash (a row was removed, inserted or edited)"
        elif row_hash(row, key=key) != row["hash"]:
            problem = "content does not match its HMAC (the row was edited, or re-hashed without the key)"
        if problem:
            broken = {
                "id": row["id"],
                "seq": row["seq"],
                "event_type": row["event_type"],
                "created_at": row["created_at"],
                "reason": problem,
                "expected_prev_hash": expected_prev,
                "prev_hash": row["prev_hash"],
                "hash": row["hash"],
            }
            continue
        checked += 1
        expected_seq, expected_prev = row["seq"] + 1, row["hash"]
    pending = AuditLog.objects.filter(seq__isnull=True).order_by("id").values("id", "created_at")
    oldest = pending.first()
    anchor = _anchor_report(found, at_anchor, last)
    result = {
        "ok": broken is None and anchor["status"] in ("ok", "missing"),
        "checked": checked,
        "unsealed": {"count": pending.count(), "oldest_id": oldest and oldest["id"]}
        | {"oldest_created_at": oldest and oldest["created_at"]},
        "anchor": anchor,
    }
    if broken:
        result["broken"] = broken
    return result


def verify_all() -> dict:
    """The chain check plus whether the append-only triggers are in place."""
    from . import triggers

    result = verify_chain()
    gone = triggers.missing(connection)
    result["triggers"] = "ok" if not gone else "missing: " + ", ".join(sorted(gone))
    return result
