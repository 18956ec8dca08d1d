"""Automation settings, all declared in contorl/settings.py (tests override them there)."""

from django.conf import settings


def due_soon_hours() -> int:
    return int(settings.DUE_SOON_HOURS)


def webhook_timeout() -> float:
    return float(settings.WEBHOOK_TIMEOUT_SECONDS)


def webhook_allowed_hosts() -> list[str]:
    """Hosts (as written in webhook URLs) exempt from the address policy; see egress.py."""
    value = settings.WEBHOOK_ALLOWED_HOSTS
    if isinstance(value, str):  # a test or a settings override may give one comma-separated string
        value = value.split(",")
    return [h for h in value if h and h.strip()]
