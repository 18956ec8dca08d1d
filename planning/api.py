"""REST API under /api/planning/: parse, check permission (planning/permissions.py), call a
service (planning/services.py), render (planning/payloads.py). planning/README.md lists it.

Every entity: GET list (django-filter filters, page/page_size paging), GET one, POST,
PATCH (with "version"; stale -> 409 version_conflict with details.current) and DELETE
(soft delete; `?version=n` makes it a compare-and-set too).
"""

import csv
import io
from decimal import Decimal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from contorl import ratelimits
from contorl.accounts.models import Department, User
from contorl.accounts.permissions import is_admin
from contorl.errors import Forbidden, NotFound, ValidationFailed
from contorl.pagination import StandardPagination
from contorl.versioning import require_version
from tasks.api import StrictPK
from tasks.models import Project, Task

from . import filters, permissions, reports, services
from .models import (
    MAX_HOURS_PER_DAY,
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
from .payloads import payload

P = permissions
HOURS = {"max_digits": 4, "decimal_places": 2, "min_value": 0, "max_value": MAX_HOURS_PER_DAY}


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationFailed(_("Expected a JSON object."), details={"body": [_("Expected a JSON object.")]})
    return request.data


def _validated(serializer_class, data, *, partial=False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _version_param(request) -> int | None:
    if request.query_params.get("version") in (None, ""):
        return None
    return require_version(request.query_params)


def _no_such(name: str, raw) -> ValidationFailed:
    # Same answer for "no such row" and "not yours": ids of invisible rows never leak.
    return ValidationFailed.field(name, _('Invalid pk "%(pk)s" - object does not exist.') % {"pk": raw})


# --- serializers (input validation; output is always payloads.payload) --------------------


class Out(serializers.ModelSerializer):
    def to_representation(self, instance):
        return payload(instance)


class PortfolioSerializer(Out):
    description = serializers.CharField(max_length=10_000, allow_blank=True, required=False)

    class Meta:
        model = Portfolio
        fields = ["id", "name", "description", "version", "created_at", "updated_at"]
        read_only_fields = ["version", "created_at", "updated_at"]


class ProgramSerializer(Out):
    portfolio = StrictPK(queryset=Portfolio.objects.all())
    description = serializers.CharField(max_length=10_000, allow_blank=True, required=False)

    class Meta:
        model = Program
        fields = ["id", "portfolio", "name", "description", "version", "created_at", "updated_at"]
        read_only_fields = ["version", "created_at", "updated_at"]


class ProjectLinkSerializer(Out):
    project = StrictPK(queryset=Project.objects.all())
    program = StrictPK(queryset=Program.objects.all())

    class Meta:
        model = ProjectLink
        fields = ["id", "project", "program", "version", "created_at", "updated_at"]
        read_only_fields = ["version", "created_at", "updated_at"]
        validators = []  # one link per project: the service answers with a clear message


class PhaseSerializer(Out):
    project = StrictPK(queryset=Project.objects.all())
    order = serializers.IntegerField(min_value=0, max_value=1000, required=False)

    class Meta:
        model = ProjectPhase
        fields = ["id", "project", "name", "order", "start", "end", "gate_status", "version"]
        read_only_fields = ["version"]


class WorkerTypeSerializer(Out):
    description = serializers.CharField(max_length=2_000, allow_blank=True, required=False)

    class Meta:
        model = WorkerType
        fields = ["id", "name", "description", "version"]
        read_only_fields = ["version"]


class RateSerializer(Out):
    worker_type = StrictPK(queryset=WorkerType.objects.all())
    cost_per_hour = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    valid_to = serializers.DateField(allow_null=True, required=False)

    class Meta:
        model = Rate
        fields = ["id", "worker_type", "cost_per_hour", "valid_from", "valid_to", "version"]
        read_only_fields = ["version"]


class WorkerSerializer(Out):
    user = StrictPK(queryset=User.objects.filter(is_active=True), allow_null=True, required=False)
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    department = StrictPK(queryset=Department.objects.all(), allow_null=True, required=False)
    worker_type = StrictPK(queryset=WorkerType.objects.all())
    weekly_capacity_hours = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=168, required=False
    )

    class Meta:
        model = Worker
        fields = ["id", "user", "name", "department", "worker_type", "weekly_capacity_hours", "version"]
        read_only_fields = ["version"]
        validators = []


class WorkerExceptionSerializer(Out):
    worker = StrictPK(queryset=Worker.objects.all())
    hours_off = serializers.DecimalField(**HOURS)

    class Meta:
        model = WorkerException
        fields = ["id", "worker", "start", "end", "hours_off", "reason", "version"]
        read_only_fields = ["version"]


class AssignmentSerializer(Out):
    project = StrictPK(queryset=Project.objects.all())
    worker = StrictPK(queryset=Worker.objects.all())
    phase = StrictPK(queryset=ProjectPhase.objects.all(), allow_null=True, required=False)
    task = StrictPK(queryset=Task.objects.all(), allow_null=True, required=False)
    hours_per_day = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=Decimal("0.01"), max_value=24)

    class Meta:
        model = ResourceAssignment
        fields = ["id", "project", "worker", "phase", "task", "start", "end", "hours_per_day", "note", "version"]
        read_only_fields = ["version"]


class AssignmentPatchSerializer(AssignmentSerializer):
    project = None  # an assignment stays in its project (and its project's event group)

    class Meta(AssignmentSerializer.Meta):
        fields = ["worker", "phase", "task", "start", "end", "hours_per_day", "note"]


class AssignmentBulkItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(min_value=1)
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    hours_per_day = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=Decimal("0.01"), required=False)
    worker = serializers.IntegerField(required=False)


class ActualSerializer(Out):
    project = StrictPK(queryset=Project.objects.all())
    worker = StrictPK(queryset=Worker.objects.all())
    phase = StrictPK(queryset=ProjectPhase.objects.all(), allow_null=True, required=False)
    task = StrictPK(queryset=Task.objects.all(), allow_null=True, required=False)
    hours = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=Decimal("0.01"), max_value=24)

    class Meta:
        model = Actual
        fields = ["id", "project", "worker", "phase", "task", "date", "hours", "note", "rate", "cost", "version"]
        read_only_fields = ["rate", "cost", "version"]


class ScopeAssignmentSerializer(Out):
    user = StrictPK(queryset=User.objects.all())
    portfolio = StrictPK(queryset=Portfolio.objects.all(), allow_null=True, required=False)
    program = StrictPK(queryset=Program.objects.all(), allow_null=True, required=False)
    project = StrictPK(queryset=Project.objects.all(), allow_null=True, required=False)

    class Meta:
        model = ScopeAssignment
        fields = ["id", "user", "role", "portfolio", "program", "project", "version"]
        read_only_fields = ["version"]
        validators = []


# --- response documentation of the non-CRUD endpoints -------------------------------------


class AssignmentBulkSucceededOut(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()


class AssignmentBulkFailedOut(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    code = serializers.CharField()
    current = serializers.DictField(allow_null=True, help_text="the current assignment on version_conflict")
    error = serializers.DictField(help_text="the error envelope's {code, message, details} for this item")


class AssignmentBulkResultOut(serializers.Serializer):
    succeeded = AssignmentBulkSucceededOut(many=True)
    failed = AssignmentBulkFailedOut(many=True)


class CapacityDayOut(serializers.Serializer):
    date = serializers.DateField()
    capacity = serializers.CharField(help_text="hours available: weekly capacity / 5 minus leave; 0 at weekends")
    leave = serializers.CharField(help_text="hours off this day (calendar exceptions)")
    assigned = serializers.CharField(help_text="hours of live assignments this day, all projects")
    over_allocated = serializers.BooleanField()


class CapacityWorkerOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    user = serializers.IntegerField(allow_null=True)
    department = serializers.IntegerField(allow_null=True)
    worker_type = serializers.IntegerField()
    weekly_capacity_hours = serializers.CharField()


class CapacityRowOut(serializers.Serializer):
    worker = CapacityWorkerOut()
    days = CapacityDayOut(many=True)
    capacity_hours = serializers.CharField()
    assigned_hours = serializers.CharField()
    over_allocated_days = serializers.IntegerField()


class CapacityOut(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CapacityRowOut(many=True)
    start = serializers.DateField()
    end = serializers.DateField()


class _Money(serializers.Serializer):
    planned_hours = serializers.CharField()
    planned_cost = serializers.CharField()
    actual_hours = serializers.CharField()
    actual_cost = serializers.CharField()
    remaining_hours = serializers.CharField(help_text="planned - actual (negative: over plan)")
    remaining_cost = serializers.CharField()
    unpriced_planned_hours = serializers.CharField(help_text="hours on days no rate covers (not in the cost)")
    unpriced_actual_hours = serializers.CharField()


class PlanWeekOut(_Money):
    week = serializers.CharField(help_text="ISO week, e.g. 2026-W11")
    week_start = serializers.DateField()
    cumulative_planned_hours = serializers.CharField()
    cumulative_actual_hours = serializers.CharField()


class PlanScopeOut(serializers.Serializer):
    type = serializers.ChoiceField(choices=["project", "phase", "program", "portfolio"])
    id = serializers.IntegerField()


class PlanVsActualOut(serializers.Serializer):
    scope = PlanScopeOut()
    projects = serializers.ListField(child=serializers.IntegerField())
    start = serializers.DateField()
    end = serializers.DateField()
    weeks = PlanWeekOut(many=True)
    totals = _Money()


# --- the generic viewset -----------------------------------------------------------------


class PlanningViewSet(ratelimits.RateLimitedViewMixin, viewsets.GenericViewSet):
    """list / retrieve / create / partial_update / destroy over one model. Subclasses say
    who may see (`visible`), who may write (`check_write`) and which service writes."""

    lookup_value_regex = r"\d{1,18}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    patch_serializer_class = None

    def get_queryset(self):
        model = self.serializer_class.Meta.model
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return model.objects.none()
        return self.visible(model.objects.all())

    def visible(self, queryset):
        return queryset

    def get_object(self):
        obj = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if obj is None:
            raise NotFound()
        return obj

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([payload(o) for o in page])

    def retrieve(self, request, pk=None):
        return Response(payload(self.get_object()))

    def create(self, request):
        data = _validated(self.serializer_class, _body(request))
        self.check_write(None, data)
        obj = self.do_create(data)
        return Response(payload(obj), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        obj = self.get_object()
        version = require_version(_body(request))
        data = _validated(self.patch_serializer_class or self.serializer_class, request.data, partial=True)
        self.check_write(obj, data)
        obj = self.do_update(obj, version, data)
        return Response(payload(obj))

    def destroy(self, request, pk=None):
        obj = self.get_object()
        self.check_write(obj, {})
        self.do_delete(obj, _version_param(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    # subclasses
    def check_write(self, obj, data) -> None:
        raise Forbidden()

    def do_create(self, data):
        raise NotImplementedError

    def do_update(self, obj, version, data):
        raise NotImplementedError

    def do_delete(self, obj, version):
        raise NotImplementedError


class _ProjectScoped(PlanningViewSet):
    """Rows of one project: visible with any planning role on it, written by `write_role`."""

    write_role = P.PLANNER

    def visible(self, queryset):
        ids = P.visible_project_ids(self.request.user)
        return queryset if ids is None else queryset.filter(project_id__in=ids)

    def _project_for_create(self, data):
        project = data["project"]
        if P.project_role(self.request.user, project) is None:
            raise _no_such("project", project.pk)
        return project

    def check_write(self, obj, data):
        project = obj.project if obj is not None else self._project_for_create(data)
        P.require_project(self.request.user, project, self.write_role)


# --- portfolios, programs, links, phases -------------------------------------------------


class PortfolioViewSet(PlanningViewSet):
    """Portfolios: system admins create; managers of a portfolio change it."""

    serializer_class = PortfolioSerializer
    filterset_class = filters.PortfolioFilter

    def visible(self, queryset):
        return P.visible_portfolios(self.request.user)

    def check_write(self, obj, data):
        if obj is None:
            if not is_admin(self.request.user):
                raise Forbidden(_("Only administrators create portfolios."))
            return
        P.require(P.portfolio_role(self.request.user, obj.pk) or P.VIEWER, P.MANAGER)

    def do_create(self, data):
        return services.portfolio_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        return services.portfolio_update(portfolio=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.portfolio_delete(portfolio=obj, by=self.request.user, version=version)


class ProgramViewSet(PlanningViewSet):
    """Programs: managers of the portfolio create; managers of the program change it."""

    serializer_class = ProgramSerializer
    filterset_class = filters.ProgramFilter

    def visible(self, queryset):
        return P.visible_programs(self.request.user)

    def check_write(self, obj, data):
        user = self.request.user
        if obj is not None:
            P.require(P.program_role(user, obj) or P.VIEWER, P.MANAGER)
        if "portfolio" in data:
            portfolio = data["portfolio"]
            if not P.visible_portfolios(user).filter(pk=portfolio.pk).exists():
                raise _no_such("portfolio", portfolio.pk)
            P.require(P.portfolio_role(user, portfolio.pk) or P.VIEWER, P.MANAGER)

    def do_create(self, data):
        return services.program_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        return services.program_update(program=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.program_delete(program=obj, by=self.request.user, version=version)


class ProjectLinkViewSet(PlanningViewSet):
    """Project -> program links: a manager of the program links a project they can see."""

    serializer_class = ProjectLinkSerializer
    filterset_class = filters.ProjectLinkFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProjectLink.objects.none()
        ids = P.visible_project_ids(self.request.user)
        qs = ProjectLink.objects.select_related("program")
        return qs if ids is None else qs.filter(project_id__in=ids)

    def check_write(self, obj, data):
        user = self.request.user
        if obj is not None:
            P.require(P.program_role(user, obj.program) or P.VIEWER, P.MANAGER)
        elif P.project_role(user, data["project"]) is None:
            raise _no_such("project", data["project"].pk)
        if "program" in data:
            program = data["program"]
            if not P.visible_programs(user).filter(pk=program.pk).exists():
                raise _no_such("program", program.pk)
            P.require(P.program_role(user, program), P.MANAGER)

    def do_create(self, data):
        return services.link_create(by=self.request.user, project=data["project"], program=data["program"])

    def do_update(self, obj, version, data):
        if "program" not in data:
            raise ValidationFailed.field("program", _("This field is required."))
        return services.link_update(link=obj, version=version, by=self.request.user, program=data["program"])

    def do_delete(self, obj, version):
        services.link_delete(link=obj, by=self.request.user)


class PhaseViewSet(_ProjectScoped):
    serializer_class = PhaseSerializer
    filterset_class = filters.PhaseFilter
    write_role = P.MANAGER

    def do_create(self, data):
        return services.phase_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        data.pop("project", None)
        return services.phase_update(phase=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.phase_delete(phase=obj, by=self.request.user, version=version)


# --- worker types, rates, workers, exceptions --------------------------------------------


class _Resource(PlanningViewSet):
    """Shared resources: every signed-in user reads; planning managers write."""

    def check_write(self, obj, data):
        P.require_resource_manager(self.request.user)


class WorkerTypeViewSet(_Resource):
    serializer_class = WorkerTypeSerializer
    filterset_class = filters.WorkerTypeFilter

    def do_create(self, data):
        return services.worker_type_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        return services.worker_type_update(worker_type=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.worker_type_delete(worker_type=obj, by=self.request.user, version=version)


def _has_any_grant(user) -> bool:
    return is_admin(user) or bool(P._grants(user))


class RateViewSet(_Resource):
    """Rates are cost data: read by users holding a planning role, written by managers."""

    serializer_class = RateSerializer
    filterset_class = filters.RateFilter

    def visible(self, queryset):
        return queryset if _has_any_grant(self.request.user) else queryset.none()

    def do_create(self, data):
        return services.rate_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        data.pop("worker_type", None)
        return services.rate_update(rate=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.rate_delete(rate=obj, by=self.request.user, version=version)


class WorkerViewSet(_Resource):
    serializer_class = WorkerSerializer
    filterset_class = filters.WorkerFilter

    def get_queryset(self):
        return Worker.objects.select_related("worker_type")

    def do_create(self, data):
        return services.worker_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        return services.worker_update(worker=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.worker_delete(worker=obj, by=self.request.user, version=version)


class WorkerExceptionViewSet(_Resource):
    """Leave: read by planning role holders and the worker themselves; written by managers."""

    serializer_class = WorkerExceptionSerializer
    filterset_class = filters.WorkerExceptionFilter

    def visible(self, queryset):
        user = self.request.user
        return queryset if _has_any_grant(user) else queryset.filter(worker__user_id=user.pk)

    def do_create(self, data):
        return services.exception_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        data.pop("worker", None)
        return services.exception_update(exception=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.exception_delete(exception=obj, by=self.request.user, version=version)


# --- assignments and actuals -------------------------------------------------------------


def _parse_bulk_item(assignment, item) -> dict:
    """One bulk item -> validated assignment fields (a DomainError fails that item alone)."""
    if not isinstance(item, dict):
        raise ValidationFailed.field("body", _("Expected a JSON object."))
    fields = {k: v for k, v in item.items() if k in ("start", "end", "hours_per_day", "worker")}
    serializer = AssignmentPatchSerializer(data=fields, partial=True)
    if not serializer.is_valid():
        details = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in serializer.errors.items()}
        raise ValidationFailed(next(iter(details.values()))[0], details=details)
    return dict(serializer.validated_data)


class AssignmentViewSet(_ProjectScoped):
    """Assignments: planners of the project write them; events go to the project's group."""

    serializer_class = AssignmentSerializer
    patch_serializer_class = AssignmentPatchSerializer
    filterset_class = filters.AssignmentFilter

    def do_create(self, data):
        return services.assignment_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        return services.assignment_update(assignment=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.assignment_delete(assignment=obj, by=self.request.user, version=version)

    @extend_schema(
        request=AssignmentBulkItemSerializer(many=True),
        responses={200: AssignmentBulkResultOut},
        description="Move/resize many assignments; each item succeeds or fails alone (savepoint per item). "
        'Returns {"succeeded": [{"id", "version"}], "failed": [{"id", "code", "current", "error"}]}.',
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request):
        if not isinstance(request.data, list):
            raise ValidationFailed(
                _("Expected a JSON list of {id, version, ...fields}."), details={"body": [_("Expected a list.")]}
            )
        return Response(services.assignment_bulk_update(items=request.data, by=request.user, parse=_parse_bulk_item))


class ActualViewSet(_ProjectScoped):
    """Actuals: planners of the project, and the worker themselves on projects they can see."""

    serializer_class = ActualSerializer
    filterset_class = filters.ActualFilter

    def check_write(self, obj, data):
        user = self.request.user
        worker = obj.worker if obj is not None else data["worker"]
        project = obj.project if obj is not None else self._project_for_create(data)
        own = worker.user_id == user.pk and data.get("worker", worker).user_id == user.pk
        P.require_project(user, project, P.VIEWER if own else P.PLANNER)

    def do_create(self, data):
        return services.actual_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        data.pop("project", None)
        return services.actual_update(actual=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.actual_delete(actual=obj, by=self.request.user, version=version)


# --- scoped roles --------------------------------------------------------------------------


def _scope_role(user, grant_or_data) -> str | None:
    get = grant_or_data.get if isinstance(grant_or_data, dict) else lambda k: getattr(grant_or_data, k)
    if get("portfolio") is not None:
        return P.portfolio_role(user, get("portfolio").pk)
    if get("program") is not None:
        return P.program_role(user, get("program"))
    if get("project") is not None:
        return P.project_role(user, get("project"))
    return None


class ScopeAssignmentViewSet(PlanningViewSet):
    """Planning roles on a scope. Managers of the scope grant, change and revoke (sensitive
    tier, audited as planning.permission_change). Everyone sees their own grants; managers
    also see the grants on the scopes they manage."""

    serializer_class = ScopeAssignmentSerializer
    filterset_class = filters.ScopeAssignmentFilter
    rate_tiers = {
        "create": ratelimits.SENSITIVE,
        "partial_update": ratelimits.SENSITIVE,
        "destroy": ratelimits.SENSITIVE,
    }

    def get_queryset(self):
        qs = ScopeAssignment.objects.select_related("user", "portfolio", "program", "project")
        if getattr(self, "swagger_fake_view", False):
            return qs.none()
        user = self.request.user
        if is_admin(user):
            return qs
        managed = [g.pk for g in qs if g.user_id != user.pk and _scope_role(user, g) == P.MANAGER]
        from django.db.models import Q

        return qs.filter(Q(user_id=user.pk) | Q(pk__in=managed))

    def check_write(self, obj, data):
        user = self.request.user
        scope = obj if obj is not None else data
        role = _scope_role(user, scope)
        if role is None:
            raise ValidationFailed.field("scope", _("Give exactly one of portfolio, program or project you can see."))
        P.require(role, P.MANAGER)

    def do_create(self, data):
        return services.grant_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        if set(data) - {"role"} or "role" not in data:
            raise ValidationFailed.field("role", _("Only the role of a grant can change; revoke and grant again."))
        return services.grant_update(grant=obj, version=version, by=self.request.user, role=data["role"])

    def do_delete(self, obj, version):
        services.grant_delete(grant=obj, by=self.request.user)


# --- reports -------------------------------------------------------------------------------


class CapacityView(ratelimits.RateLimitedViewMixin, APIView):
    """Per worker per day: capacity (weekly / 5, minus leave), assigned hours, over-allocation."""

    pagination_class = StandardPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="YYYY-MM-DD"),
            OpenApiParameter(
                "end", str, required=True, description=f"YYYY-MM-DD, at most {reports.MAX_CAPACITY_DAYS} days"
            ),
            OpenApiParameter("worker", int),
            OpenApiParameter("worker_type", int),
            OpenApiParameter("department", int),
            OpenApiParameter("project", int, description="only workers assigned to this project in the range"),
            OpenApiParameter("over_allocated", bool, description="only workers over-allocated on some day"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: CapacityOut},
    )
    def get(self, request):
        q = request.query_params
        start, end = reports.parse_date(q, "start"), reports.parse_date(q, "end")
        if start is None or end is None:
            raise ValidationFailed(
                _("start and end are required."), details={"start": ["YYYY-MM-DD"], "end": ["YYYY-MM-DD"]}
            )
        if end < start or (end - start).days >= reports.MAX_CAPACITY_DAYS:
            raise ValidationFailed.field("end", _("The end must be after the start, at most 92 days later."))
        workers = Worker.objects.select_related("worker_type").order_by("name", "id")
        filterset = filters.WorkerFilter(q, queryset=workers)
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        workers = filterset.qs
        project = q.get("project")
        if project not in (None, ""):
            if not str(project).isdigit() or P.project_role(request.user, int(project)) is None:
                raise _no_such("project", project)
            workers = workers.filter(
                assignments__project_id=int(project),
                assignments__is_deleted=False,
                assignments__start__lte=end,
                assignments__end__gte=start,
            ).distinct()
        if not _has_any_grant(request.user):
            workers = workers.filter(user_id=request.user.pk)
        rows = reports.capacity(list(workers), start, end)
        if q.get("over_allocated") in ("true", "1"):
            rows = [r for r in rows if r["over_allocated_days"]]
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        response = paginator.get_paginated_response(page)
        response.data["start"], response.data["end"] = start.isoformat(), end.isoformat()
        return response


def _report_scope(request) -> tuple[dict, list[int], ProjectPhase | None]:
    """?project= | ?phase= | ?program= | ?portfolio= -> (scope, project ids, phase)."""
    given = {k: request.query_params.get(k) for k in ("project", "phase", "program", "portfolio")}
    given = {k: v for k, v in given.items() if v not in (None, "")}
    if len(given) != 1:
        raise ValidationFailed.field("scope", _("Give exactly one of project, phase, program or portfolio."))
    kind, raw = next(iter(given.items()))
    if not str(raw).isdigit() or not 0 < int(raw) <= 2**62:
        raise ValidationFailed.field(kind, _("A valid id is required."))
    pk, user, phase = int(raw), request.user, None
    if kind in ("project", "phase"):
        if kind == "phase":
            phase = ProjectPhase.objects.filter(pk=pk).first()
            project_id = phase.project_id if phase else None
        else:
            project_id = pk
        if project_id is None or P.project_role(user, project_id) is None:
            raise NotFound()
        projects = [project_id]
    elif kind == "program":
        if not P.program_role(user, pk) or not Program.objects.filter(pk=pk).exists():
            raise NotFound()
        projects = list(ProjectLink.objects.filter(program_id=pk).values_list("project_id", flat=True))
    else:
        if not P.portfolio_role(user, pk) or not Portfolio.objects.filter(pk=pk).exists():
            raise NotFound()
        projects = list(
            ProjectLink.objects.filter(program__portfolio_id=pk, program__is_deleted=False).values_list(
                "project_id", flat=True
            )
        )
    return {"type": kind, "id": pk}, projects, phase


_REPORT_PARAMS = [
    OpenApiParameter("project", int),
    OpenApiParameter("phase", int),
    OpenApiParameter("program", int),
    OpenApiParameter("portfolio", int),
    OpenApiParameter("start", str, description="YYYY-MM-DD (default: first planned or worked day)"),
    OpenApiParameter("end", str, description="YYYY-MM-DD (default: last planned or worked day)"),
]


def _plan_vs_actual(request) -> dict:
    scope, projects, phase = _report_scope(request)
    q = request.query_params
    report = reports.plan_vs_actual(
        projects=projects, phase=phase, start=reports.parse_date(q, "start"), end=reports.parse_date(q, "end")
    )
    return {"scope": scope, "projects": projects, **report}


class PlanVsActualView(ratelimits.RateLimitedViewMixin, APIView):
    """Planned vs actual vs remaining hours and cost per ISO week, for one scope."""

    @extend_schema(parameters=_REPORT_PARAMS, responses={200: PlanVsActualOut})
    def get(self, request):
        return Response(_plan_vs_actual(request))


class PlanVsActualCsvView(ratelimits.RateLimitedViewMixin, APIView):
    """The same report as CSV (heavy tier, like every export)."""

    rate_tier = ratelimits.HEAVY

    @extend_schema(parameters=_REPORT_PARAMS, responses={(200, "text/csv"): str})
    def get(self, request):
        report = _plan_vs_actual(request)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in reports.plan_vs_actual_csv_rows(report):
            writer.writerow(row)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        name = f"plan-vs-actual-{report['scope']['type']}-{report['scope']['id']}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
