"""REST API of the automation app (thin: parse, check permission, call a service, render).

- /api/projects/{id}/triggers/            GET list (members), POST create (owners)
- /api/projects/{id}/triggers/{tid}/      GET, PATCH (with version), DELETE (owners)
- /api/triggers/{tid}/                    the same trigger without the project in the path
- /api/triggers/{tid}/executions/         GET every attempt, newest first (paginated)
- /api/triggers/{tid}/executions/{eid}/replay/   POST (owners): replay a permanently failed run
- /api/triggers/{tid}/rotate-secret/      POST {version} (owners)
- /api/projects/{id}/reports/weekly/?week=2026-W47[&format=csv]   heavy tier
Readers: anyone who can see the project. The webhook secret is shown to owners only.
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from contorl import ratelimits
from contorl.errors import VersionConflict
from contorl.lookups import visible_or_404
from contorl.pagination import StandardPagination
from contorl.versioning import require_version
from tasks import permissions as perms
from tasks.models import Project

from . import reports, rules, selectors, services
from .models import Trigger, TriggerExecution


def _dt(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def trigger_payload(trigger: Trigger, *, show_secret: bool) -> dict:
    data = {
        "id": trigger.pk,
        "project": trigger.project_id,
        "name": trigger.name,
        "event": trigger.event,
        "conditions": trigger.conditions,
        "actions": trigger.actions,
        "is_active": trigger.is_active,
        "webhooks_enabled": trigger.webhooks_enabled,
        "version": trigger.version,
        "created_by": trigger.created_by_id,
        "created_at": _dt(trigger.created_at),
        "updated_at": _dt(trigger.updated_at),
    }
    if show_secret:
        data["secret"] = trigger.secret
    return data


def execution_payload(row: TriggerExecution) -> dict:
    return {
        "id": row.pk,
        "trigger": row.trigger_id,
        "run_id": str(row.run_id),
        "attempt": row.attempt,
        "task": row.task_id,
        "event": row.event,
        "depth": row.depth,
        "outcome": row.outcome,
        "error": row.error,
        "deliveries": row.deliveries,
        "replay": row.replay,
        "queued_at": _dt(row.queued_at),
        "started_at": _dt(row.started_at),
        "finished_at": _dt(row.finished_at),
    }


class TriggerInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    event = serializers.ChoiceField(choices=Trigger.Event.choices)
    conditions = serializers.ListField(
        child=serializers.DictField(), max_length=rules.MAX_CONDITIONS, required=False, default=list
    )
    actions = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=rules.MAX_ACTIONS)
    is_active = serializers.BooleanField(required=False, default=True)
    webhooks_enabled = serializers.BooleanField(
        required=False,
        default=True,
        help_text="False: webhook actions are skipped. Copies from a template start False; "
        "only project owners can set it to true.",
    )


class TriggerOutput(TriggerInput):
    """The trigger representation (documentation; rendered by trigger_payload)."""

    id = serializers.IntegerField()
    project = serializers.IntegerField()
    version = serializers.IntegerField()
    secret = serializers.CharField(required=False, help_text="Project owners only.")
    created_by = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TriggerPatch(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=200, required=False)
    event = serializers.ChoiceField(choices=Trigger.Event.choices, required=False)
    conditions = serializers.ListField(child=serializers.DictField(), required=False)
    actions = serializers.ListField(child=serializers.DictField(), required=False)
    is_active = serializers.BooleanField(required=False)
    webhooks_enabled = serializers.BooleanField(required=False)


class VersionInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)


class ExecutionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    trigger = serializers.IntegerField()
    run_id = serializers.UUIDField(help_text="The webhook Idempotency-Key; shared by every attempt of a run.")
    attempt = serializers.IntegerField()
    task = serializers.IntegerField(allow_null=True)
    event = serializers.CharField()
    depth = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=TriggerExecution.Outcome.choices)
    error = serializers.CharField()
    deliveries = serializers.IntegerField()
    replay = serializers.BooleanField()
    queued_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


def _project_for(user, project_id) -> Project:
    return visible_or_404(Project.objects.all(), project_id, may_see=lambda p: perms.can_view_project(user, p))


def _trigger_for(user, trigger_id, project_id=None) -> Trigger:
    def may_see(trigger: Trigger) -> bool:
        in_path = project_id is None or str(trigger.project_id) == str(project_id)
        return in_path and perms.can_view_project(user, trigger.project)

    return visible_or_404(Trigger.objects.select_related("project"), trigger_id, may_see=may_see)


class _Base(ratelimits.RateLimitedViewMixin, APIView):
    def render_trigger(self, trigger: Trigger) -> dict:
        return trigger_payload(trigger, show_secret=perms.is_project_owner(self.request.user, trigger.project))


class ProjectTriggers(_Base):
    serializer_class = TriggerOutput

    @extend_schema(responses=TriggerOutput(many=True))
    def get(self, request, project_id):
        project = _project_for(request.user, project_id)
        show = perms.is_project_owner(request.user, project)
        return Response([trigger_payload(t, show_secret=show) for t in selectors.project_triggers(project)])

    @extend_schema(request=TriggerInput, responses={201: TriggerOutput})
    def post(self, request, project_id):
        project = _project_for(request.user, project_id)
        data = TriggerInput(data=request.data)
        data.is_valid(raise_exception=True)
        trigger = services.trigger_create(project=project, by=request.user, **data.validated_data)
        return Response(self.render_trigger(trigger), status=201)


class TriggerDetail(_Base):
    serializer_class = TriggerOutput

    def get(self, request, pk, project_id=None):
        return Response(self.render_trigger(_trigger_for(request.user, pk, project_id)))

    @extend_schema(request=TriggerPatch, responses=TriggerOutput)
    def patch(self, request, pk, project_id=None):
        trigger = _trigger_for(request.user, pk, project_id)
        version = require_version(request.data)
        data = TriggerInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k in request.data}
        try:
            trigger = services.trigger_update(trigger=trigger, version=version, by=request.user, **fields)
        except VersionConflict as exc:
            if exc.instance is not None:
                exc.current_data = self.render_trigger(exc.instance)
            raise
        return Response(self.render_trigger(trigger))

    put = patch

    @extend_schema(responses={204: None})
    def delete(self, request, pk, project_id=None):
        trigger = _trigger_for(request.user, pk, project_id)
        services.trigger_delete(trigger=trigger, by=request.user)
        return Response(status=204)


class TriggerRotateSecret(_Base):
    rate_tier = ratelimits.SENSITIVE
    serializer_class = TriggerOutput

    @extend_schema(request=VersionInput, responses=TriggerOutput)
    def post(self, request, pk):
        trigger = _trigger_for(request.user, pk)
        version = require_version(request.data)
        try:
            trigger = services.trigger_rotate_secret(trigger=trigger, version=version, by=request.user)
        except VersionConflict as exc:
            if exc.instance is not None:
                exc.current_data = self.render_trigger(exc.instance)
            raise
        return Response(self.render_trigger(trigger))


class TriggerExecutions(_Base):
    serializer_class = ExecutionOutput
    pagination_class = StandardPagination

    @extend_schema(responses=ExecutionOutput(many=True))
    def get(self, request, pk):
        trigger = _trigger_for(request.user, pk)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.trigger_executions(trigger), request, view=self)
        return paginator.get_paginated_response([execution_payload(r) for r in page])


class ExecutionReplay(_Base):
    serializer_class = ExecutionOutput

    @extend_schema(request=None, responses={202: ExecutionOutput})
    def post(self, request, pk, execution_id):
        trigger = _trigger_for(request.user, pk)
        execution = visible_or_404(TriggerExecution.objects.filter(trigger=trigger), execution_id)
        replay = services.execution_replay(execution=execution, by=request.user)
        replay.refresh_from_db()
        return Response(execution_payload(replay), status=202)


class WeeklyReportView(_Base):
    rate_tier = ratelimits.HEAVY

    @extend_schema(
        parameters=[
            OpenApiParameter("week", str, description="ISO week like 2026-W47; default: last week"),
            OpenApiParameter("format", str, enum=["json", "csv"]),
        ],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request, project_id):
        return self._get(request, project_id)

    def perform_content_negotiation(self, request, force=False):
        # `?format=csv` is ours, not DRF's format override: errors still render as JSON.
        if request.query_params.get("format") == "csv":
            return (JSONRenderer(), JSONRenderer.media_type)
        return super().perform_content_negotiation(request, force)

    def _get(self, request, project_id):
        project = _project_for(request.user, project_id)
        report = reports.weekly_report(project, request.query_params.get("week"))
        if request.query_params.get("format") == "csv":
            response = HttpResponse(reports.report_csv(report), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{project.key}-{report["week"]}.csv"'
            return response
        return Response(report)
