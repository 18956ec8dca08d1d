from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One thing one person should know about. Marking read is idempotent (no version)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    # Open set (mention, assignment, due_soon, trigger_failed, audit_alert, weekly_report,
    # room_invite, project_member, ...): other apps add types without a migration.
    type = models.CharField(_("type"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.CharField(_("body"), max_length=2000, blank=True, default="")
    link = models.CharField(_("link"), max_length=500, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    data = models.JSONField(_("data"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notif_recipient_recent_idx"),
            # Partial index: the unread count and the bell's replay only ever read unread rows.
            models.Index(
                fields=["recipient", "-created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notif_recipient_unread_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(type=""), name="notification_type_not_empty"),
            models.CheckConstraint(condition=~models.Q(title=""), name="notification_title_not_empty"),
        ]

    def __str__(self):
        return f"{self.type}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    # Text for the reader, in the language active now. A notification whose data carries "i18n"
    # stores its English source text (msgid) instead of text translated for whoever was active
    # when it was created: data["i18n"] is True (title and body are msgids) or
    # {"title": msgid, "body": msgid, "params": {...}, "translate_params": [names]}.
    def _shown(self, field: str) -> str:
        raw = getattr(self, field)
        spec = self.data.get("i18n") if isinstance(self.data, dict) else None
        if spec is True:
            return gettext(raw) if raw else raw
        if isinstance(spec, dict) and isinstance(spec.get(field), str):
            params = dict(spec.get("params") or {})
            for name in spec.get("translate_params") or ():
                if isinstance(params.get(name), str):
                    params[name] = gettext(params[name])
            try:
                return (gettext(spec[field]) % params)[: 200 if field == "title" else 2000]
            except (KeyError, TypeError, ValueError):
                return raw
        return raw

    @property
    def shown_title(self) -> str:
        return self._shown("title")

    @property
    def shown_body(self) -> str:
        return self._shown("body")
