"""Automation: per-project triggers, every attempt of every run, and the scheduled-job facts.

A trigger *run* (one firing of one trigger for one task event) is identified by `run_id`;
that id is the webhook `Idempotency-Key`. Each attempt of a run is one `TriggerExecution`
row (attempt 1, 2, 3, 4), so the log shows every try with its time and error.
"""

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contorl.versioning import Versioned

MAX_ATTEMPTS = 4  # the first try plus 3 retries (1 s, 2 s, 4 s)
MAX_DEPTH = 3


def new_secret() -> str:
    return secrets.token_hex(32)


class Trigger(Versioned):
    class Event(models.TextChoices):
        TASK_CREATED = "task_created", _("Task created")
        STATUS_CHANGED = "status_changed", _("Status changed")
        ASSIGNED = "assigned", _("Task assigned")
        FIELD_CHANGED = "field_changed", _("Field changed")
        DUE_SOON = "due_soon", _("Due date approaching")

    project = models.ForeignKey("tasks.Project", on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(_("name"), max_length=200)
    event = models.CharField(_("event"), max_length=20, choices=Event.choices)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    actions = models.JSONField(_("actions"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    # Off for triggers copied from a template or another project: their webhook actions are
    # skipped until a project owner has looked at where they send task data and enabled them.
    webhooks_enabled = models.BooleanField(_("webhooks enabled"), default=True)
    # HMAC key for webhook signatures; shown to project owners only.
    secret = models.CharField(max_length=64, default=new_secret, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project_id", "name", "id"]
        indexes = [models.Index(fields=["project", "event", "is_active"], name="trigger_match_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(event__in=["task_created", "status_changed", "assigned", "field_changed", "due_soon"]),
                name="trigger_event_known",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def webhook_urls(self) -> list[str]:
        return [a.get("url") for a in self.actions or [] if isinstance(a, dict) and a.get("type") == "webhook"]


class TriggerExecution(models.Model):
    """One attempt of one run of a trigger."""

    class Outcome(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCESS = "success", _("Succeeded")
        RETRYING = "retrying", _("Failed, will retry")
        FAILED = "failed", _("Permanently failed")
        SKIPPED = "skipped", _("Skipped")

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="executions")
    run_id = models.UUIDField(db_index=True)
    attempt = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100)])
    task = models.ForeignKey("tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event = models.CharField(max_length=20)
    # The event snapshot the run works from (task fields before/after, changed fields).
    context = models.JSONField(default=dict, blank=True)
    depth = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(MAX_DEPTH)])
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.QUEUED)
    error = models.CharField(max_length=2000, blank=True)
    # How many times a broker delivered this attempt (> 1 after a worker died mid-attempt).
    deliveries = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(1000)])
    replay = models.BooleanField(default=False)
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["trigger", "-queued_at"], name="trigger_exec_log_idx")]
        constraints = [
            models.UniqueConstraint(fields=["run_id", "attempt"], name="trigger_exec_run_attempt"),
            models.CheckConstraint(condition=Q(attempt__gte=1) & Q(attempt__lte=100), name="trigger_exec_attempt"),
            models.CheckConstraint(
                condition=Q(outcome__in=["queued", "running", "success", "retrying", "failed", "skipped"]),
                name="trigger_exec_outcome",
            ),
        ]

    def __str__(self):
        return f"{self.trigger_id}/{self.run_id} #{self.attempt} {self.outcome}"


class TriggerEffect(models.Model):
    """An action of a run that has taken effect. Written in the same transaction as the
    effect itself (or right after a webhook was accepted), so a redelivered or retried run
    skips it: every action takes effect once."""

    run_id = models.UUIDField()
    action_index = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run_id", "action_index"], name="trigger_effect_once")]

    def __str__(self):
        return f"{self.run_id} action {self.action_index}"


class DueReminder(models.Model):
    """The fact that a task's due date was announced once (a new due date announces again)."""

    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="+")
    due_date = models.DateField()
    notified_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "due_date"], name="due_reminder_once")]

    def __str__(self):
        return f"task {self.task_id} due {self.due_date}"


class WeeklyReport(models.Model):
    """The report delivered for one project and ISO week; its row makes delivery happen once."""

    project = models.ForeignKey("tasks.Project", on_delete=models.CASCADE, related_name="+")
    week = models.CharField(max_length=8)  # e.g. 2026-W47
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-week"]
        constraints = [models.UniqueConstraint(fields=["project", "week"], name="weekly_report_once")]

    def __str__(self):
        return f"project {self.project_id} {self.week}"
