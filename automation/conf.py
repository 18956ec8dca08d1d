"""Automation settings: Django settings win (tests override them), else the environment."""

import os

from django.conf import settings


def due_soon_hours() -> int:
    return int(getattr(settings, "DUE_SOON_HOURS", None) or os.environ.get("DUE_SOON_HOURS") or 24)


def webhook_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", None) or os.environ.get("WEBHOOK_TIMEOUT_SECONDS") or 10)
