"""Input serializers (validation only; output is always payloads.payload)."""

from decimal import Decimal

from rest_framework import serializers

from contorl.accounts.models import Department, User
from tasks.api import StrictPK
from tasks.models import Project, Task

from ..models import (
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
from ..payloads import payload

HOURS = {"max_digits": 4, "decimal_places": 2, "min_value": 0, "max_value": MAX_HOURS_PER_DAY}


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
