"""The kernel's door to the audit trail: accounts code records through here, the audit app
(audit/apps.py) registers the recorder, so contorl/ imports no domain app.

`record()` takes the arguments of audit.services.record and returns what it returns. With no
recorder registered it raises: a security event must never be dropped silently.
"""

from collections.abc import Callable

from django.db import models
from django.utils.translation import gettext_lazy as _


class Sensitivity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


_recorder: Callable | None = None


def register_recorder(recorder: Callable) -> None:
    global _recorder
    _recorder = recorder


def record(event_type: str, **kwargs):
    if _recorder is None:
        raise RuntimeError("No audit recorder registered: is the audit app installed?")
    return _recorder(event_type, **kwargs)
