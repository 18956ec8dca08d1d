"""The key of the audit chain's HMAC and of the anchors' signatures: AUDIT_HMAC_KEY.

It must never be stored in the database it protects. Production reads it from the
environment (`check --deploy` refuses a missing or short one, audit/checks.py). A
development checkout without it gets a random key generated once into var/audit-hmac.key
(git-ignored, like the SQLite file), so every process of that checkout agrees on it.
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MIN_KEY_LENGTH = 32
DEV_KEY_FILE = "audit-hmac.key"


def _dev_key_path() -> Path:
    return Path(settings.BASE_DIR) / "var" / DEV_KEY_FILE


def _dev_key() -> str:
    path = _dev_key_path()
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a private temporary file and linked into place: two processes starting at
    # once both end up reading the one key that won, never a half-written file.
    tmp = path.with_name(f".{DEV_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


def hmac_key() -> bytes:
    """AUDIT_HMAC_KEY as bytes; ImproperlyConfigured in production when it is missing."""
    configured = settings.AUDIT_HMAC_KEY
    if configured:
        return configured.encode("utf-8")
    if settings.PRODUCTION:
        raise ImproperlyConfigured("DJANGO_ENV=production needs AUDIT_HMAC_KEY (32+ random characters).")
    return _dev_key().encode("utf-8")


def key_id(key: bytes | None = None) -> str:
    """A short public fingerprint of the key, written into anchors: tells "signed with
    another key" (a rotated or wrong key) apart from "tampered with"."""
    return hmac.new(key or hmac_key(), b"contorl-audit-key-id", hashlib.sha256).hexdigest()[:16]


def mac(purpose: bytes, text: str, *, key: bytes | None = None) -> str:
    """HMAC-SHA256 with a purpose prefix, so a row hash can never pass for an anchor signature."""
    return hmac.new(key or hmac_key(), purpose + b"\x00" + text.encode("utf-8"), hashlib.sha256).hexdigest()
