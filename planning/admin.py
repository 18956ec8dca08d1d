"""Django admin for every planning entity.

Change forms carry the version they were opened at (tasks.admin.VersionCheckForm) and save
through planning/services/, so an admin edit is a compare-and-set that is validated,
audited and published exactly like an API write. Deletes are the services' soft deletes;
role grants and revokes are audited permission changes.
"""

from django.contrib import admin, messages

from contorl.errors import DomainError
from tasks.admin import VersionCheckForm

from . import services
from .models import (
    Actual,
    Portfolio,
    Program,
    ProjectLink,
    ProjectPhase,
    Rate,
    ResourceAssignment,
    ScopeAssignment,
    Worker,
    WorkerException,
    WorkerType,
)

# model -> (create(by, **fields), update(obj, version, by, **fields), delete(obj, by))
SERVICES = {
    Portfolio: (
        services.portfolio_create,
        lambda o, v, by, **f: services.portfolio_update(portfolio=o, version=v, by=by, **f),
        lambda o, by: services.portfolio_delete(portfolio=o, by=by),
    ),
    Program: (
        services.program_create,
        lambda o, v, by, **f: services.program_update(program=o, version=v, by=by, **f),
        lambda o, by: services.program_delete(program=o, by=by),
    ),
    ProjectLink: (
        services.link_create,
        lambda o, v, by, **f: services.link_update(link=o, version=v, by=by, program=f.get("program", o.program)),
        lambda o, by: services.link_delete(link=o, by=by),
    ),
    ProjectPhase: (
        services.phase_create,
        lambda o, v, by, **f: services.phase_update(phase=o, version=v, by=by, **f),
        lambda o, by: services.phase_delete(phase=o, by=by),
    ),
    WorkerType: (
        services.worker_type_create,
        lambda o, v, by, **f: services.worker_type_update(worker_type=o, version=v, by=by, **f),
        lambda o, by: services.worker_type_delete(worker_type=o, by=by),
    ),
    Rate: (
        services.rate_create,
        lambda o, v, by, **f: services.rate_update(rate=o, version=v, by=by, **f),
        lambda o, by: services.rate_delete(rate=o, by=by),
    ),
    Worker: (
        services.worker_create,
        lambda o, v, by, **f: services.worker_update(worker=o, version=v, by=by, **f),
        lambda o, by: services.worker_delete(worker=o, by=by),
    ),
    WorkerException: (
        services.exception_create,
        lambda o, v, by, **f: services.exception_update(exception=o, version=v, by=by, **f),
        lambda o, by: services.exception_delete(exception=o, by=by),
    ),
    ResourceAssignment: (
        services.assignment_create,
        lambda o, v, by, **f: services.assignment_update(assignment=o, version=v, by=by, **f),
        lambda o, by: services.assignment_delete(assignment=o, by=by),
    ),
    Actual: (
        services.actual_create,
        lambda o, v, by, **f: services.actual_update(actual=o, version=v, by=by, **f),
        lambda o, by: services.actual_delete(actual=o, by=by),
    ),
    ScopeAssignment: (
        services.grant_create,
        lambda o, v, by, **f: services.grant_update(grant=o, version=v, by=by, role=f.get("role", o.role)),
        lambda o, by: services.grant_delete(grant=o, by=by),
    ),
}


class PlanningAdmin(admin.ModelAdmin):
    form = VersionCheckForm
    readonly_fields = ["version"]
    # The first form field that identifies the parent: immutable after creation.
    fixed_after_create: tuple[str, ...] = ()

    def get_queryset(self, request):
        # Soft-deleted rows stay out of the admin lists, like everywhere else.
        return self.model.objects.all()

    def get_readonly_fields(self, request, obj=None):
        fixed = self.fixed_after_create if obj is not None else ()
        return [*self.readonly_fields, *fixed]

    def save_model(self, request, obj, form, change):
        create, update, _delete = SERVICES[type(obj)]
        names = {f.name for f in obj._meta.concrete_fields} - set(self.get_readonly_fields(request, obj))
        try:
            if change:
                fields = {n: form.cleaned_data[n] for n in form.changed_data if n in names}
                fresh = type(obj).objects.get(pk=obj.pk)
                update(fresh, form.cleaned_data["expected_version"], request.user, **fields)
            else:
                fields = {n: form.cleaned_data[n] for n in form.cleaned_data if n in names}
                obj.pk = create(by=request.user, **fields).pk
        except DomainError as exc:
            self.message_user(request, f"{exc.message} {exc.details or ''}", messages.ERROR)

    def delete_model(self, request, obj):
        try:
            SERVICES[type(obj)][2](obj, request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Portfolio)
class PortfolioAdmin(PlanningAdmin):
    list_display = ["name", "version", "updated_at"]
    search_fields = ["name"]


@admin.register(Program)
class ProgramAdmin(PlanningAdmin):
    list_display = ["name", "portfolio", "version"]
    list_filter = ["portfolio"]
    search_fields = ["name"]


@admin.register(ProjectLink)
class ProjectLinkAdmin(PlanningAdmin):
    list_display = ["project", "program", "version"]
    list_filter = ["program"]
    fixed_after_create = ("project",)

    def get_queryset(self, request):
        return ProjectLink.objects.select_related("project", "program")


@admin.register(ProjectPhase)
class ProjectPhaseAdmin(PlanningAdmin):
    list_display = ["name", "project", "order", "start", "end", "gate_status", "version"]
    list_filter = ["gate_status", "project"]
    fixed_after_create = ("project",)


@admin.register(WorkerType)
class WorkerTypeAdmin(PlanningAdmin):
    list_display = ["name", "version"]
    search_fields = ["name"]


@admin.register(Rate)
class RateAdmin(PlanningAdmin):
    list_display = ["worker_type", "cost_per_hour", "valid_from", "valid_to", "version"]
    list_filter = ["worker_type"]
    fixed_after_create = ("worker_type",)


@admin.register(Worker)
class WorkerAdmin(PlanningAdmin):
    list_display = ["name", "user", "worker_type", "department", "weekly_capacity_hours", "version"]
    list_filter = ["worker_type", "department"]
    search_fields = ["name", "user__username"]
    autocomplete_fields = ["user"]


@admin.register(WorkerException)
class WorkerExceptionAdmin(PlanningAdmin):
    list_display = ["worker", "start", "end", "hours_off", "reason", "version"]
    list_filter = ["worker"]
    fixed_after_create = ("worker",)


@admin.register(ResourceAssignment)
class ResourceAssignmentAdmin(PlanningAdmin):
    list_display = ["worker", "project", "phase", "start", "end", "hours_per_day", "version"]
    list_filter = ["project", "worker"]
    fixed_after_create = ("project",)
    raw_id_fields = ["task"]


@admin.register(Actual)
class ActualAdmin(PlanningAdmin):
    list_display = ["worker", "project", "date", "hours", "cost", "version"]
    list_filter = ["project", "worker"]
    readonly_fields = ["version", "rate", "cost"]
    fixed_after_create = ("project",)
    raw_id_fields = ["task"]


@admin.register(ScopeAssignment)
class ScopeAssignmentAdmin(PlanningAdmin):
    """Grants are permission changes: through the services (audited as planning.permission_change)."""

    list_display = ["user", "role", "portfolio", "program", "project", "version"]
    list_filter = ["role"]
    autocomplete_fields = ["user"]
    fixed_after_create = ("user", "portfolio", "program", "project")

    def get_queryset(self, request):
        return ScopeAssignment.objects.select_related("user", "portfolio", "program", "project")
