"""django-filter sets of the planning list endpoints (invalid values -> 400 validation_error).

Date-range filters `from_date` / `to_date` select rows whose period overlaps the range.
"""

import django_filters as df

from contorl.filters import BooleanFilter, FilterSet, IdFilter

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


class PortfolioFilter(FilterSet):
    name = df.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Portfolio
        fields = ["name"]


class ProgramFilter(FilterSet):
    name = df.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Program
        fields = ["portfolio", "name"]


class ProjectLinkFilter(FilterSet):
    portfolio = IdFilter(field_name="program__portfolio_id")

    class Meta:
        model = ProjectLink
        fields = ["program", "project", "portfolio"]


class PhaseFilter(FilterSet):
    class Meta:
        model = ProjectPhase
        fields = ["project", "gate_status"]


class WorkerTypeFilter(FilterSet):
    name = df.CharFilter(lookup_expr="icontains")

    class Meta:
        model = WorkerType
        fields = ["name"]


class RateFilter(FilterSet):
    on = df.DateFilter(method="valid_on", label="valid on this day")

    class Meta:
        model = Rate
        fields = ["worker_type", "on"]

    def valid_on(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=value), valid_from__lte=value)


class WorkerFilter(FilterSet):
    name = df.CharFilter(lookup_expr="icontains")
    external = BooleanFilter(field_name="user", lookup_expr="isnull")

    class Meta:
        model = Worker
        fields = ["worker_type", "department", "user", "name", "external"]


class _Overlap(FilterSet):
    from_date = df.DateFilter(field_name="end", lookup_expr="gte")
    to_date = df.DateFilter(field_name="start", lookup_expr="lte")


class WorkerExceptionFilter(_Overlap):
    class Meta:
        model = WorkerException
        fields = ["worker", "from_date", "to_date"]


class AssignmentFilter(_Overlap):
    program = IdFilter(field_name="project__planning_link__program_id")
    portfolio = IdFilter(field_name="project__planning_link__program__portfolio_id")
    worker_type = IdFilter(field_name="worker__worker_type_id")

    class Meta:
        model = ResourceAssignment
        fields = ["project", "phase", "task", "worker", "worker_type", "program", "portfolio", "from_date", "to_date"]


class ActualFilter(FilterSet):
    from_date = df.DateFilter(field_name="date", lookup_expr="gte")
    to_date = df.DateFilter(field_name="date", lookup_expr="lte")
    program = IdFilter(field_name="project__planning_link__program_id")
    portfolio = IdFilter(field_name="project__planning_link__program__portfolio_id")

    class Meta:
        model = Actual
        fields = ["project", "phase", "task", "worker", "program", "portfolio", "from_date", "to_date"]


class ScopeAssignmentFilter(FilterSet):
    class Meta:
        model = ScopeAssignment
        fields = ["user", "role", "portfolio", "program", "project"]
