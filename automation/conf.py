"""Automation settings: Django settings win (tests override them), else the environment."""

import os

from django.conf import settings


def due_soon_hours() -> int:
    return int(getattr(settings, "DUE_SOON_HOURS", None) or os.environ.get("DUE_SOON_HOURS") or 24)


def webhook_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", None) or os.environ.get("WEBHOOK_TIMEOUT_SECONDS") or 10)


def webhook_allowed_hosts() -> list[str]:
    """Hosts (as written in webhook URLs) exempt from the address policy; see egress.py."""
    value = getattr(settings, "WEBHOOK_ALLOWED_HOSTS", None)
    if value is None:
        value = os.environ.get("WEBHOOK_ALLOWED_HOSTS", "")
    if isinstance(value, str):
        value = value.split(",")
    return [h for h in value if h and h.strip()]
