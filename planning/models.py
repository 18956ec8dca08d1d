"""Resource planning: portfolios and programs above tasks.Project, phases, workers and their
rates, assignments (the plan), actuals (hours worked) and scoped planning roles.

Every model users edit is `Versioned` (compare-and-set writes through planning/services/)
and, where users delete, soft-deleted: `objects` hides deleted rows, `all_objects` sees all.
A project joins a program through `ProjectLink` (one row per project, here rather than a
column on tasks.Project, so the tasks app never depends on planning).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from contorl.versioning import Versioned

MAX_HOURS_PER_DAY = Decimal(24)
MAX_MONEY = Decimal("99999999.99")


class LiveManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(is_deleted=False)


class PlanningModel(Versioned):
    is_deleted = models.BooleanField(default=False, db_index=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LiveManager()
    all_objects = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"


class Portfolio(PlanningModel):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), max_length=10_000, blank=True)

    class Meta(PlanningModel.Meta):
        ordering = ["name", "id"]
        verbose_name = _("portfolio")
        verbose_name_plural = _("portfolios")

    def __str__(self):
        return self.name


class Program(PlanningModel):
    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.PROTECT, related_name="programs", verbose_name=_("portfolio")
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), max_length=10_000, blank=True)

    class Meta(PlanningModel.Meta):
        ordering = ["portfolio_id", "name", "id"]
        verbose_name = _("program")
        verbose_name_plural = _("programs")

    def __str__(self):
        return self.name


class ProjectLink(Versioned):
    """tasks.Project -> Program (optional: a project without a link stands alone)."""

    project = models.OneToOneField(
        "tasks.Project", on_delete=models.CASCADE, related_name="planning_link", verbose_name=_("project")
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="links", verbose_name=_("program"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["program_id", "project_id"]
        verbose_name = _("project link")
        verbose_name_plural = _("project links")

    def __str__(self):
        return f"{self.project_id} -> {self.program_id}"


class ProjectPhase(PlanningModel):
    class Gate(models.TextChoices):
        NOT_STARTED = "not_started", _("Not started")
        PENDING = "pending", _("Pending review")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed")
        WAIVED = "waived", _("Waived")

    project = models.ForeignKey(
        "tasks.Project", on_delete=models.CASCADE, related_name="phases", verbose_name=_("project")
    )
    name = models.CharField(_("name"), max_length=200)
    order = models.PositiveSmallIntegerField(_("order"), default=0, validators=[MaxValueValidator(1000)])
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    gate_status = models.CharField(_("gate status"), max_length=12, choices=Gate.choices, default=Gate.NOT_STARTED)

    class Meta(PlanningModel.Meta):
        ordering = ["project_id", "order", "start", "id"]
        verbose_name = _("project phase")
        verbose_name_plural = _("project phases")
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="planning_phase_dates_order"),
        ]

    def __str__(self):
        return self.name


class WorkerType(PlanningModel):
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), max_length=2_000, blank=True)

    class Meta(PlanningModel.Meta):
        ordering = ["name", "id"]
        verbose_name = _("worker type")
        verbose_name_plural = _("worker types")

    def __str__(self):
        return self.name


class Rate(PlanningModel):
    """Cost per hour of a worker type from valid_from to valid_to, both days included
    (valid_to empty: open-ended). Live rates of one type never overlap: the service checks
    under a row lock on the worker type, and on PostgreSQL an exclusion constraint
    (migration 0002) makes it impossible even for writes that bypass the service."""

    worker_type = models.ForeignKey(
        WorkerType, on_delete=models.PROTECT, related_name="rates", verbose_name=_("worker type")
    )
    cost_per_hour = models.DecimalField(
        _("cost per hour"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    class Meta(PlanningModel.Meta):
        ordering = ["worker_type_id", "valid_from", "id"]
        verbose_name = _("rate")
        verbose_name_plural = _("rates")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")), name="planning_rate_dates_order"
            ),
            models.CheckConstraint(condition=Q(cost_per_hour__gte=0), name="planning_rate_not_negative"),
        ]

    def __str__(self):
        return f"{self.worker_type_id}: {self.cost_per_hour} from {self.valid_from}"


class Worker(PlanningModel):
    """A person who can be planned: a CONTORL user or an external (name only)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="planning_worker",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=200)
    department = models.ForeignKey(
        "accounts.Department",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("department"),
    )
    worker_type = models.ForeignKey(
        WorkerType, on_delete=models.PROTECT, related_name="workers", verbose_name=_("worker type")
    )
    weekly_capacity_hours = models.DecimalField(
        _("weekly capacity (hours)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(40),
        validators=[MinValueValidator(0), MaxValueValidator(168)],
    )

    class Meta(PlanningModel.Meta):
        ordering = ["name", "id"]
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        constraints = [
            models.CheckConstraint(
                condition=Q(weekly_capacity_hours__gte=0) & Q(weekly_capacity_hours__lte=168),
                name="planning_worker_capacity_range",
            ),
        ]

    @property
    def is_external(self) -> bool:
        return self.user_id is None

    def __str__(self):
        return self.name


class WorkerException(PlanningModel):
    """Leave and other calendar exceptions: `hours_off` on each working day from start to end."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="exceptions", verbose_name=_("worker"))
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    hours_off = models.DecimalField(
        _("hours off per day"),
        max_digits=4,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_HOURS_PER_DAY)],
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta(PlanningModel.Meta):
        ordering = ["worker_id", "start", "id"]
        verbose_name = _("worker exception")
        verbose_name_plural = _("worker exceptions")
        constraints = [models.CheckConstraint(condition=Q(end__gte=F("start")), name="planning_exception_dates")]

    def __str__(self):
        return f"{self.worker_id}: {self.start}..{self.end}"


class ResourceAssignment(PlanningModel):
    """The plan: `worker` on `project` (optionally one phase and/or task) for `hours_per_day`
    on each working day (Mon-Fri) from start to end, both included."""

    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("worker"))
    project = models.ForeignKey(
        "tasks.Project", on_delete=models.CASCADE, related_name="assignments", verbose_name=_("project")
    )
    phase = models.ForeignKey(
        ProjectPhase,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assignments",
        verbose_name=_("phase"),
    )
    task = models.ForeignKey(
        "tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("task")
    )
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    hours_per_day = models.DecimalField(
        _("hours per day"),
        max_digits=4,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_HOURS_PER_DAY)],
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta(PlanningModel.Meta):
        ordering = ["start", "id"]
        verbose_name = _("resource assignment")
        verbose_name_plural = _("resource assignments")
        indexes = [
            models.Index(fields=["worker", "start", "end"], name="planning_assign_worker_idx"),
            models.Index(fields=["project", "start"], name="planning_assign_project_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="planning_assignment_dates"),
            models.CheckConstraint(
                condition=Q(hours_per_day__gt=0) & Q(hours_per_day__lte=24), name="planning_assignment_hours"
            ),
        ]

    def __str__(self):
        return f"{self.worker_id} on {self.project_id} {self.start}..{self.end}"


class Actual(PlanningModel):
    """Hours worked. `rate` and `cost` are written by the services: the rate of the worker's
    type valid on `date`, and hours x that rate (null when no rate covers the day). They are
    recomputed whenever that type's rates change, so costs always follow the rate table."""

    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="actuals", verbose_name=_("worker"))
    project = models.ForeignKey(
        "tasks.Project", on_delete=models.CASCADE, related_name="actuals", verbose_name=_("project")
    )
    phase = models.ForeignKey(
        ProjectPhase, null=True, blank=True, on_delete=models.SET_NULL, related_name="actuals", verbose_name=_("phase")
    )
    task = models.ForeignKey(
        "tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("task")
    )
    date = models.DateField(_("date"))
    hours = models.DecimalField(
        _("hours"),
        max_digits=4,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_HOURS_PER_DAY)],
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    rate = models.ForeignKey(Rate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False)
    cost = models.DecimalField(_("cost"), max_digits=12, decimal_places=2, null=True, blank=True, editable=False)

    class Meta(PlanningModel.Meta):
        ordering = ["date", "id"]
        verbose_name = _("actual")
        verbose_name_plural = _("actuals")
        indexes = [
            models.Index(fields=["project", "date"], name="planning_actual_project_idx"),
            models.Index(fields=["worker", "date"], name="planning_actual_worker_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(hours__gt=0) & Q(hours__lte=24), name="planning_actual_hours"),
        ]

    def __str__(self):
        return f"{self.worker_id} {self.date} {self.hours}h"


class ScopeAssignment(Versioned):
    """A planning role granted to a user on exactly one scope. Grants inherit downward:
    portfolio -> its programs -> their projects. Grant, role change and revoke are audited
    as `planning.permission_change`. Revoking deletes the row (the audit log keeps it)."""

    class Role(models.TextChoices):
        VIEWER = "viewer", _("Viewer")
        PLANNER = "planner", _("Planner")
        MANAGER = "manager", _("Manager")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="planning_roles", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    portfolio = models.ForeignKey(
        Portfolio, null=True, blank=True, on_delete=models.CASCADE, related_name="grants", verbose_name=_("portfolio")
    )
    program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.CASCADE, related_name="grants", verbose_name=_("program")
    )
    project = models.ForeignKey(
        "tasks.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="planning_grants",
        verbose_name=_("project"),
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user_id", "id"]
        verbose_name = _("planning role")
        verbose_name_plural = _("planning roles")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(portfolio__isnull=False, program__isnull=True, project__isnull=True)
                    | Q(portfolio__isnull=True, program__isnull=False, project__isnull=True)
                    | Q(portfolio__isnull=True, program__isnull=True, project__isnull=False)
                ),
                name="planning_grant_one_scope",
            ),
            models.CheckConstraint(condition=Q(role__in=["viewer", "planner", "manager"]), name="planning_grant_role"),
            models.UniqueConstraint(
                fields=["user", "portfolio"], condition=Q(portfolio__isnull=False), name="planning_grant_portfolio"
            ),
            models.UniqueConstraint(
                fields=["user", "program"], condition=Q(program__isnull=False), name="planning_grant_program"
            ),
            models.UniqueConstraint(
                fields=["user", "project"], condition=Q(project__isnull=False), name="planning_grant_project"
            ),
        ]

    @property
    def scope_type(self) -> str:
        return "portfolio" if self.portfolio_id else "program" if self.program_id else "project"

    @property
    def scope_id(self) -> int:
        return self.portfolio_id or self.program_id or self.project_id

    def __str__(self):
        return f"{self.user_id} {self.role} @ {self.scope_type} {self.scope_id}"
