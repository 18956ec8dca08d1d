"""Projects, their kanban statuses, tasks and everything hanging off a task.

Every user-editable model is `Versioned` (optimistic locking, see contorl/versioning.py).
Rules that span models (cascade delete/restore, cycle checks, formulas) live in
tasks/services.py, not here.
"""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contorl.history import HistoricalRecords
from contorl.prepared_writes import PreparedInsert
from contorl.versioning import Versioned

MAX_POSITION = 1_000_000_000
MAX_HOURS = 10_000
PRIORITY_MIN, PRIORITY_MAX = 0, 4

key_validator = RegexValidator(r"^[A-Z][A-Z0-9]{1,9}$", _("2-10 capital letters or digits, starting with a letter."))
field_key_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{0,39}$", _("Lower-case letters, digits and underscores, starting with a letter.")
)
color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour like #1f6feb."))


class Project(Versioned):
    name = models.CharField(_("name"), max_length=200)
    key = models.CharField(_("key"), max_length=10, unique=True, validators=[key_validator])
    department = models.ForeignKey(
        "accounts.Department",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="projects",
        verbose_name=_("department"),
    )
    description = models.TextField(_("description"), max_length=10_000, blank=True)
    archived = models.BooleanField(_("archived"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")

    def __str__(self):
        return f"{self.key} · {self.name}"


class ProjectMember(Versioned):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MEMBER = "member", _("Member")
        VIEWER = "viewer", _("Viewer")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="project_member_unique"),
            models.CheckConstraint(condition=Q(role__in=["owner", "member", "viewer"]), name="project_member_role"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.project.key} ({self.role})"


class Status(Versioned):
    """A kanban column of one project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="statuses")
    name = models.CharField(_("name"), max_length=80)
    color = models.CharField(_("colour"), max_length=7, default="#8b949e", validators=[color_validator])
    order = models.PositiveSmallIntegerField(_("order"), default=0, validators=[MaxValueValidator(1000)])
    is_done = models.BooleanField(_("done column"), default=False)

    class Meta:
        ordering = ["project_id", "order", "id"]
        verbose_name_plural = _("statuses")
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="status_name_unique"),
            models.CheckConstraint(condition=Q(order__lte=1000), name="status_order_range"),
        ]

    def __str__(self):
        return self.name


class LiveTaskManager(models.Manager):
    """The default manager: soft-deleted tasks are hidden from every ordinary query."""

    def get_queryset(self):
        return super().get_queryset().filter(is_deleted=False)


class Task(Versioned):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), max_length=20_000, blank=True)
    # RESTRICT, not PROTECT: a column with tasks cannot be deleted on its own, but deleting
    # the whole project (which cascades to both) may take its tasks along.
    status = models.ForeignKey(Status, on_delete=models.RESTRICT, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tasks"
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        default=2,
        validators=[MinValueValidator(PRIORITY_MIN), MaxValueValidator(PRIORITY_MAX)],
        help_text=_("0 none, 1 low, 2 normal, 3 high, 4 urgent"),
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    estimated_hours = models.DecimalField(
        _("estimated hours"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_HOURS)],
    )
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="subtasks")
    position = models.PositiveIntegerField(_("position"), default=0, validators=[MaxValueValidator(MAX_POSITION)])
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    # key -> short error marker for formula fields whose value is null because evaluation failed
    custom_field_errors = models.JSONField(default=dict, blank=True, editable=False)
    is_deleted = models.BooleanField(default=False, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Position in a topological order of the dependency graph (NULL: the id), kept by
    # services.dependency_add so that an edge which agrees with the order needs no graph walk.
    topo_rank = models.BigIntegerField(null=True, blank=True, editable=False)

    objects = LiveTaskManager()
    all_objects = models.Manager()
    history = HistoricalRecords(excluded_fields=["custom_field_errors", "topo_rank"])

    class Meta:
        ordering = ["status_id", "position", "id"]
        base_manager_name = "all_objects"
        indexes = [
            models.Index(fields=["project", "status", "position"], name="task_board_idx"),
            models.Index(fields=["parent", "deleted_at"], name="task_parent_deleted_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(priority__gte=0) & Q(priority__lte=4), name="task_priority_range"),
            models.CheckConstraint(condition=Q(position__lte=MAX_POSITION), name="task_position_range"),
            models.CheckConstraint(
                condition=Q(estimated_hours__isnull=True)
                | (Q(estimated_hours__gte=0) & Q(estimated_hours__lte=MAX_HOURS)),
                name="task_hours_range",
            ),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(due_date__isnull=True)
                | Q(due_date__gte=models.F("start_date")),
                name="task_dates_order",
            ),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="task_not_own_parent"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"


class TaskDependency(PreparedInsert):
    """`task` cannot finish before `depends_on`: depends_on blocks task."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="dependencies")
    depends_on = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="dependents")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = _("task dependencies")
        constraints = [
            models.UniqueConstraint(fields=["task", "depends_on"], name="task_dependency_unique"),
            models.CheckConstraint(condition=~Q(task=models.F("depends_on")), name="task_dependency_not_self"),
        ]
        indexes = [models.Index(fields=["depends_on", "task"], name="task_dep_reverse_idx")]

    def __str__(self):
        return f"{self.task_id} depends on {self.depends_on_id}"


class Comment(Versioned):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("comment"), max_length=10_000)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="task_mentions")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"comment {self.pk} on task {self.task_id}"


def attachment_path(instance, filename):
    """Storage names are always server-generated; the user's name never reaches the disk."""
    suffix = PurePosixPath(filename).suffix.lower()
    if not suffix[1:].isalnum() or len(suffix) > 10:
        suffix = ""
    return f"attachments/{instance.task.project_id}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.original_name


class CustomField(Versioned):
    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        SELECT = "select", _("Select")
        USER = "user", _("User")
        FORMULA = "formula", _("Formula")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="custom_fields")
    key = models.CharField(_("key"), max_length=40, validators=[field_key_validator])
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    options = models.JSONField(_("options"), default=list, blank=True)
    formula = models.CharField(_("formula"), max_length=500, blank=True)
    order = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(1000)])

    class Meta:
        ordering = ["project_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="custom_field_key_unique"),
            models.CheckConstraint(
                condition=Q(type__in=["text", "number", "date", "select", "user", "formula"]), name="custom_field_type"
            ),
        ]

    def __str__(self):
        return f"{self.key} ({self.type})"


class ProjectTemplate(Versioned):
    """A reusable project skeleton. `data` = {"statuses": [...], "custom_fields": [...], "triggers": [...]}."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), max_length=10_000, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class DeletedTaskManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(is_deleted=True)


class DeletedTask(Task):
    """Soft-deleted tasks, for the admin's recycle bin (restore goes through the services)."""

    objects = DeletedTaskManager()

    class Meta:
        proxy = True
        verbose_name = _("deleted task")
        verbose_name_plural = _("deleted tasks")
