"""Anchors: the chain's newest (seq, id, hash), written outside the database, signed.

The HMAC makes a rewritten row detectable to anyone without the key, but deleting the
newest rows leaves a shorter chain that is still perfectly valid. An anchor remembers how
far the chain reached: a JSON file under the default storage (MEDIA_ROOT, or S3 when
STORAGE_URL is set) at audit/anchors/<YYYY-MM>/<UTC time>-<seq>.json, HMAC-signed with
AUDIT_HMAC_KEY, plus the same facts as one log line (event "audit_anchor") for the log
archive. `audit_verify` compares the chain with the newest anchor.

Written by Celery beat (when the head moved since the last anchor) and after sealing, at
most once per AUDIT_ANCHOR_INTERVAL seconds (a cache key is the throttle).
"""

import hmac
import json
import logging

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from . import keys
from .models import AuditLog
from .sealing import canonical_time

log = logging.getLogger("contorl.audit")

ANCHOR_DIR = "audit/anchors"
ANCHOR_PURPOSE = b"contorl-audit-anchor-v1"
SIGNED_FIELDS = ("version", "seq", "id", "hash", "anchored_at", "key_id")
THROTTLE_CACHE_KEY = "audit:anchor:due"


def _signed_text(body: dict) -> str:
    return json.dumps({k: body[k] for k in SIGNED_FIELDS}, sort_keys=True, separators=(",", ":"))


def sign(body: dict, *, key: bytes | None = None) -> str:
    return keys.mac(ANCHOR_PURPOSE, _signed_text(body), key=key)


def signature_ok(body: dict, *, key: bytes | None = None) -> bool:
    try:
        expected = sign(body, key=key)
    except (KeyError, TypeError):
        return False
    return isinstance(body.get("signature"), str) and hmac.compare_digest(expected, body["signature"])


def write_anchor(*, storage=None) -> dict | None:
    """Anchor the current head; None when nothing is sealed yet."""
    storage = storage or default_storage
    head = AuditLog.objects.filter(seq__isnull=False).order_by("-seq").values("seq", "id", "hash").first()
    if head is None:
        return None
    key = keys.hmac_key()
    now = timezone.now()
    body = {"version": 1, **head, "anchored_at": canonical_time(now), "key_id": keys.key_id(key)}
    body["signature"] = sign(body, key=key)
    name = f"{ANCHOR_DIR}/{now:%Y-%m}/{now:%Y%m%dT%H%M%S.%fZ}-{head['seq']}.json"
    body["name"] = storage.save(name, ContentFile(json.dumps(body, sort_keys=True).encode("utf-8")))
    log.info(
        "audit chain anchored at seq %s id %s hash %s signature %s",
        body["seq"],
        body["id"],
        body["hash"],
        body["signature"],
        extra={"event": "audit_anchor", "anchor": {k: body[k] for k in (*SIGNED_FIELDS, "signature", "name")}},
    )
    return body


def anchor_if_due() -> dict | None:
    """After sealing: anchor unless one was written in the last AUDIT_ANCHOR_INTERVAL seconds."""
    interval = int(settings.AUDIT_ANCHOR_INTERVAL)
    if interval > 0:
        try:
            due = cache.add(THROTTLE_CACHE_KEY, 1, timeout=interval)
        except Exception:  # a cache outage: beat writes the anchor instead
            log.warning("audit anchor throttle unavailable", exc_info=True)
            return None
        if not due:
            return None
    return write_anchor()


def _listdir(storage, path: str) -> tuple[list[str], list[str]]:
    try:
        return storage.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return [], []


def latest(*, storage=None) -> dict | None:
    """The newest anchor file as {"name", "body" (dict, or None if unreadable)}, or None."""
    storage = storage or default_storage
    for month in sorted(_listdir(storage, ANCHOR_DIR)[0], reverse=True):
        files = sorted((f for f in _listdir(storage, f"{ANCHOR_DIR}/{month}")[1] if f.endswith(".json")), reverse=True)
        if files:
            name = f"{ANCHOR_DIR}/{month}/{files[0]}"
            with storage.open(name, "rb") as handle:
                raw = handle.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            return {"name": name, "body": body if isinstance(body, dict) else None}
    return None


def anchor_if_moved(*, storage=None) -> dict | None:
    """Beat: anchor when the head differs from the newest anchor (or there is none)."""
    head = AuditLog.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", flat=True).first()
    if head is None:
        return None
    last = latest(storage=storage)
    if last and last["body"] and last["body"].get("seq") == head and signature_ok(last["body"]):
        return None
    return write_anchor(storage=storage)
