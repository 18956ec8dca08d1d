"""One row per signed-in browser session, so people can see and end their sessions."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def key_hash(session_key: str) -> str:
    """A stable, non-secret handle for a session (group names, logs); never the key itself."""
    return hashlib.sha256(session_key.encode()).hexdigest()


class UserSession(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="browser_sessions", verbose_name=_("user")
    )
    # The session store already holds the key in clear; we keep it only to delete that session.
    session_key = models.CharField(max_length=40, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True, default="")
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    backend = models.CharField(_("signed in with"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(_("signed in"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"), auto_now_add=True, db_index=True)

    class Meta:
        app_label = "accounts"
        ordering = ["-last_seen_at"]
        verbose_name = _("browser session")
        verbose_name_plural = _("browser sessions")

    def __str__(self):
        return f"{self.user} · {self.ip or '?'} · {self.last_seen_at:%Y-%m-%d %H:%M}"
