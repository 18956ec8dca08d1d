"""Response documentation of the non-CRUD endpoints (OpenAPI only)."""

from rest_framework import serializers


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


class CapacityCellOut(serializers.Serializer):
    capacity = serializers.CharField()
    leave = serializers.CharField()
    assigned = serializers.CharField()
    over_allocated = serializers.BooleanField()


class CapacityRowOut(serializers.Serializer):
    worker = CapacityWorkerOut()
    days = CapacityDayOut(many=True, required=False, help_text="one per day of the range (not with ?compact=true)")
    cells = CapacityCellOut(many=True, required=False, help_text="?compact=true: the row's distinct cells")
    day_cells = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        required=False,
        help_text="?compact=true: per day of the range, from start, the index of its cell in `cells`",
    )
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
