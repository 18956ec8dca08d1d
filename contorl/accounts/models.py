from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from contorl.versioning import Versioned


class Department(Versioned):
    name = models.CharField(_("name"), max_length=120, unique=True)
    code = models.CharField(_("code"), max_length=20, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.code} · {self.name}"


class User(AbstractUser, Versioned):
    class Role(models.TextChoices):
        OPERATOR = "operator", _("Operator")
        ENGINEER = "engineer", _("Engineer")
        SUPERVISOR = "supervisor", _("Supervisor")
        MANAGER = "manager", _("Manager")

    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="users", verbose_name=_("department")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.ENGINEER)
    is_department_manager = models.BooleanField(_("department manager"), default=False)
    is_system_admin = models.BooleanField(_("system admin"), default=False)
    weekly_capacity_hours = models.DecimalField(
        _("weekly capacity (hours)"), max_digits=5, decimal_places=1, default=40
    )
    email_notifications = models.BooleanField(_("email notifications"), default=False)
    # Set by "sign out everywhere": JWTs issued before it are refused (accounts/tokens.py).
    tokens_valid_after = models.DateTimeField(_("tokens valid after"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekly_capacity_hours__gte=0) & models.Q(weekly_capacity_hours__lte=168),
                name="user_capacity_range",
            )
        ]

    @property
    def is_admin(self) -> bool:
        """System admins (and Django superusers) may see and change everything."""
        return self.is_active and (self.is_system_admin or self.is_superuser)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


from .sessions_models import UserSession  # noqa: E402,F401  (registers the model with this app)
