"""REST endpoints of tasks: list, read, write, soft delete and restore, bulk update,
dependencies and history. Comments and attachments of a task are in discussion.py."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contorl import ratelimits
from contorl.errors import Forbidden, NotFound, ValidationFailed
from contorl.lookups import visible_or_404
from contorl.versioning import require_version

from .. import permissions, selectors, services
from ..models import Task
from ..openapi import BulkUpdateOut, DependencyOut, HistoryEntryOut, RestoreOut
from .base import Base, bool_param, int_param, json_body, validated
from .discussion import TaskDiscussionActions
from .serializers import DependencyInput, RestoreInput, TaskSerializer, task_fields


class TaskViewSet(TaskDiscussionActions, Base):
    serializer_class = TaskSerializer
    queryset = Task.objects.none()  # for the schema generator only
    rate_tiers = {"attachments_upload": ratelimits.HEAVY}

    def get_serializer(self, *args, **kwargs):
        # Used by the error handler to render details.current on a version conflict.
        return TaskSerializer(*args, **kwargs)

    def get_object(self, *, deleted_ok: bool = False, payload_data: bool = False, dependencies: bool = True) -> Task:
        """`payload_data`: read what task_payload() needs too (a PATCH answers with it);
        without the `dependencies` for a request that changes them."""
        user = self.request.user

        def may_see(task: Task) -> bool:
            permissions.remember_member_role(user, task.project, task.member_role)
            if not permissions.can_view_project(user, task.project):
                return False
            return not task.is_deleted or deleted_ok or permissions.can_see_deleted(user)

        lookup = selectors.TASK_FOR_REQUEST[payload_data, payload_data and dependencies]
        return visible_or_404(lookup, self.kwargs["pk"], may_see=may_see, user_id=user.pk)

    def list(self, request):
        include_deleted = bool_param(request.query_params.get("include_deleted", "false"))
        if include_deleted and not permissions.can_see_deleted(request.user):
            raise Forbidden("Only administrators can list deleted tasks.")
        project = int_param(request, "project")
        if project is not None:
            visible_or_404(selectors.project_list(user=request.user), project)
        qs = selectors.task_list(
            user=request.user,
            project=project,
            status=int_param(request, "status"),
            assignee=int_param(request, "assignee"),
            parent=int_param(request, "parent"),
            include_deleted=include_deleted,
            custom_filters={k[3:]: v for k, v in request.query_params.items() if k.startswith("cf_") and len(k) <= 43},
            ordering=request.query_params.get("ordering") or None,
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response([selectors.task_payload(t) for t in page])

    def retrieve(self, request, pk=None):
        return Response(selectors.task_payload(selectors.task_fresh(self.get_object().pk)))

    def create(self, request):
        body = json_body(request)
        raw_project = body.get("project")
        if isinstance(raw_project, bool) or not isinstance(raw_project, (int, str)) or not str(raw_project).isdigit():
            raise ValidationFailed.field("project", "A project id is required.")
        try:
            project = visible_or_404(selectors.project_list(user=request.user), int(raw_project))
        except NotFound:
            # Same answer for "no such project" and "not yours": never leak existence.
            raise ValidationFailed.field("project", f'Invalid pk "{raw_project}" - object does not exist.') from None
        fields = task_fields(body, partial=False)
        written = services.task_create_published(project=project, by=request.user, **fields)
        return Response(written.payload, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None, partial=True):
        task = self.get_object(payload_data=True)
        version = require_version(json_body(request))
        fields = task_fields(request.data, partial=True)
        if not partial:
            fields.setdefault("title", task.title)
        written = services.task_update_published(task=task, version=version, by=request.user, **fields)
        return Response(written.payload)

    def update(self, request, pk=None):
        return self.partial_update(request, pk, partial=False)

    def destroy(self, request, pk=None):
        task = self.get_object()
        force = bool_param(request.query_params.get("force", "false"))
        version = int_param(request, "version")
        services.task_delete(task=task, by=request.user, force=force, version=version)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RestoreInput, responses=RestoreOut)
    @action(detail=True, methods=["post"], serializer_class=RestoreInput)
    def restore(self, request, pk=None):
        # Members may undo deletes in their projects even though they cannot list deleted tasks.
        task = self.get_object(deleted_ok=True)
        data = validated(RestoreInput, request.data if isinstance(request.data, dict) else {})
        done = services.task_restore(task=task, by=request.user, cascade=data["cascade"])
        return Response(
            {
                "task": selectors.task_payload(selectors.task_fresh(task.pk)),
                "restored": [t.pk for t in done],
            }
        )

    @extend_schema(
        request={"application/json": {"type": "array", "items": {"type": "object"}}}, responses=BulkUpdateOut
    )
    @action(detail=False, methods=["post"], url_path="bulk-update")
    def bulk_update(self, request):
        def parse(task, item):
            data = {k: v for k, v in item.items() if k not in ("id", "version")}
            try:
                return task_fields(data, partial=True)
            except serializers.ValidationError as exc:
                details = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in exc.detail.items()}
                raise ValidationFailed(next(iter(details.values()))[0], details=details) from None

        if not isinstance(request.data, list):
            raise ValidationFailed("Expected a JSON list of {id, version, ...fields}.", details={"body": ["list"]})
        return Response(services.task_bulk_update(items=request.data, by=request.user, parse=parse))

    @extend_schema(responses=DependencyOut(many=True))
    @action(detail=True, methods=["get"], serializer_class=DependencyInput)
    def dependencies(self, request, pk=None):
        task = self.get_object()
        return Response([selectors.dependency_payload(d) for d in selectors.task_dependencies(task)])

    @extend_schema(request=DependencyInput, responses={201: DependencyOut})
    @dependencies.mapping.post
    def dependencies_add(self, request, pk=None):
        task = self.get_object(payload_data=True, dependencies=False)
        data = validated(DependencyInput, json_body(request))
        other = selectors.live_task_in_project(task.project_id, data["depends_on"])
        if other is None:
            raise ValidationFailed.field("depends_on", services.NOT_IN_PROJECT)
        dep = services.dependency_add(task=task, depends_on=other, by=request.user)
        return Response(selectors.dependency_payload(dep), status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["delete"], url_path=r"dependencies/(?P<depends_on>\d{1,18})")
    def dependency_remove(self, request, pk=None, depends_on=None):
        task = self.get_object()
        dep = selectors.task_dependency(task, depends_on)
        if dep is None:
            raise NotFound()
        services.dependency_remove(dependency=dep, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=HistoryEntryOut(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        task = self.get_object()
        return Response(selectors.task_history(task))
