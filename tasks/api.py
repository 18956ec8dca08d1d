"""REST API for projects, tasks and their parts: parse, check permission, call a service, render.

Permission rule everywhere: an object the user may not see is 404; a visible object the user
may not change is 403 (tasks/permissions.py decides both).
"""

from django.conf import settings
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from contorl import ratelimits
from contorl.accounts.models import Department, User
from contorl.accounts.permissions import is_admin
from contorl.errors import Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from contorl.openapi import paginated
from contorl.storage import download_response
from contorl.versioning import require_version

from . import permissions, selectors, services
from .models import (
    MAX_HOURS,
    MAX_POSITION,
    Attachment,
    Comment,
    CustomField,
    Project,
    ProjectMember,
    ProjectTemplate,
    Status,
    Task,
    TaskDependency,
    color_validator,
    field_key_validator,
    key_validator,
)
from .openapi import BoardOut, BulkUpdateOut, CommentOut, DependencyOut, HistoryEntryOut, RestoreOut

MAX_INT = 2**31 - 1


def _int_param(request, name):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed.field(name, "A valid integer is required.") from None
    if not 0 < value <= 2**63 - 1:
        raise ValidationFailed.field(name, "A valid id is required.")
    return value


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no", ""):
        return value.lower() in ("true", "1", "yes")
    if value is None:
        return False
    raise ValidationFailed("Expected a boolean.", details={"value": ["Must be a valid boolean."]})


def _body(request) -> dict:
    if not isinstance(request.data, dict) and not hasattr(request.data, "getlist"):
        raise ValidationFailed("Expected a JSON object.", details={"body": ["Expected a JSON object."]})
    return request.data


def _validated(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- serializers ---------------------------------------------------------------------------


class StrictPK(serializers.PrimaryKeyRelatedField):
    """A primary key that must really be an integer id: 1.5, true or "1e3" are refused, not truncated."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)) or (isinstance(data, str) and not data.isdigit()):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 0 < int(data) <= 2**63 - 1:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(int(data))


class ProjectSerializer(serializers.ModelSerializer):
    key = serializers.CharField(max_length=10, validators=[key_validator])
    department = StrictPK(queryset=Department.objects.all(), allow_null=True, required=False)
    description = serializers.CharField(max_length=10_000, allow_blank=True, required=False)
    template = StrictPK(queryset=ProjectTemplate.objects.all(), write_only=True, required=False, allow_null=True)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "key",
            "department",
            "description",
            "archived",
            "version",
            "created_at",
            "updated_at",
            "template",
        ]
        read_only_fields = ["version", "created_at", "updated_at"]

    def to_representation(self, instance):
        return selectors.project_payload(instance)


class MemberSerializer(serializers.ModelSerializer):
    user = StrictPK(queryset=User.objects.filter(is_active=True))
    role = serializers.ChoiceField(choices=ProjectMember.Role.choices)

    class Meta:
        model = ProjectMember
        fields = ["id", "project", "user", "role", "version"]
        read_only_fields = ["project", "version"]

    def to_representation(self, instance):
        return {
            "id": instance.pk,
            "project": instance.project_id,
            "user": instance.user_id,
            "user_detail": selectors.user_brief(instance.user),
            "role": instance.role,
            "version": instance.version,
        }


class StatusSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=80)
    color = serializers.CharField(max_length=7, validators=[color_validator], required=False)
    order = serializers.IntegerField(min_value=0, max_value=1000, required=False)

    class Meta:
        model = Status
        fields = ["id", "project", "name", "color", "order", "is_done", "version"]
        read_only_fields = ["project", "version"]

    def to_representation(self, instance):
        return selectors.status_payload(instance)


class CustomFieldSerializer(serializers.ModelSerializer):
    key = serializers.CharField(max_length=40, validators=[field_key_validator])
    name = serializers.CharField(max_length=100)
    options = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=100, required=False, allow_empty=True
    )
    formula = serializers.CharField(max_length=500, allow_blank=True, required=False)
    order = serializers.IntegerField(min_value=0, max_value=1000, required=False)

    class Meta:
        model = CustomField
        fields = ["id", "project", "key", "name", "type", "options", "formula", "order", "version"]
        read_only_fields = ["project", "version"]


class TemplateSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10_000, allow_blank=True, required=False)
    data = serializers.JSONField(required=False)

    class Meta:
        model = ProjectTemplate
        fields = ["id", "name", "description", "data", "created_by", "version", "created_at", "updated_at"]
        read_only_fields = ["created_by", "version", "created_at", "updated_at"]


class SaveAsTemplateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10_000, allow_blank=True, required=False)


class TaskSerializer(serializers.Serializer):
    """Input fields of a task; output is always selectors.task_payload (same as the events)."""

    project = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(max_length=20_000, allow_blank=True, required=False)
    # Same message for "no such row" and "row of another project": ids elsewhere never leak.
    status = StrictPK(
        queryset=Status.objects.all(), required=False, error_messages={"does_not_exist": services.NOT_IN_PROJECT}
    )
    assignee = StrictPK(queryset=User.objects.all(), allow_null=True, required=False)
    priority = serializers.IntegerField(min_value=0, max_value=4, required=False)
    start_date = serializers.DateField(allow_null=True, required=False)
    due_date = serializers.DateField(allow_null=True, required=False)
    estimated_hours = serializers.DecimalField(
        max_digits=7, decimal_places=2, min_value=0, max_value=MAX_HOURS, allow_null=True, required=False
    )
    parent = StrictPK(
        queryset=Task.objects.all(),
        allow_null=True,
        required=False,
        error_messages={"does_not_exist": services.NOT_IN_PROJECT},
    )
    position = serializers.IntegerField(min_value=0, max_value=MAX_POSITION, required=False)
    custom_fields = serializers.DictField(child=serializers.JSONField(), required=False, allow_empty=True)

    def to_representation(self, instance):
        return selectors.task_payload(instance)

    def validate_custom_fields(self, value):
        if len(value) > 100:
            raise serializers.ValidationError("Too many custom field values.")
        return value


class TaskPatchSerializer(TaskSerializer):
    project = None
    title = serializers.CharField(max_length=300, required=False)


class CommentSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10_000)

    def to_representation(self, c):
        return {
            "id": c.pk,
            "task": c.task_id,
            "author": selectors.user_brief(c.author),
            "body": c.body,
            "mentions": [u.username for u in c.mentions.all()],
            "version": c.version,
            "created_at": selectors._dt(c.created_at),
            "updated_at": selectors._dt(c.updated_at),
        }


class AttachmentSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False, use_url=False)
    name = serializers.CharField(max_length=255, required=False)

    def to_representation(self, a):
        return {
            "id": a.pk,
            "task": a.task_id,
            "name": a.original_name,
            "content_type": a.content_type,
            "size": a.size,
            "uploaded_by": selectors.user_brief(a.uploaded_by),
            "created_at": selectors._dt(a.created_at),
            "url": selectors.attachment_url(a),
        }


class DependencyInput(serializers.Serializer):
    depends_on = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class RestoreInput(serializers.Serializer):
    cascade = serializers.BooleanField(required=False, default=True)


def _dependency_payload(dep: TaskDependency) -> dict:
    return {
        "id": dep.pk,
        "task": dep.task_id,
        "depends_on": dep.depends_on_id,
        "depends_on_title": dep.depends_on.title,
        "depends_on_deleted": dep.depends_on.is_deleted,
        "created_at": selectors._dt(dep.created_at),
    }


# --- helpers -----------------------------------------------------------------------------


def visible_project_or_404(user, pk) -> Project:
    project = selectors.project_list(user=user).filter(pk=pk).first()
    if project is None:
        raise NotFound()
    return project


def _task_fields(data, *, partial: bool) -> dict:
    serializer = (TaskPatchSerializer if partial else TaskSerializer)(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    fields = dict(serializer.validated_data)
    fields.pop("project", None)
    return fields


class Base(ratelimits.RateLimitedViewMixin, viewsets.GenericViewSet):
    rate_tier = ratelimits.STANDARD
    lookup_value_regex = r"\d{1,18}"  # ids only: "abc" or a 40-digit id is a plain 404


# --- projects ----------------------------------------------------------------------------


class ProjectViewSet(Base):
    serializer_class = ProjectSerializer
    # Membership changes are permission changes: the sensitive tier.
    rate_tiers = {
        "members_add": ratelimits.SENSITIVE,
        "member_detail": ratelimits.SENSITIVE,
        "member_remove": ratelimits.SENSITIVE,
    }

    def get_queryset(self):
        qs = selectors.project_list(user=self.request.user)
        if self.request.query_params.get("archived") in ("true", "false"):
            qs = qs.filter(archived=self.request.query_params["archived"] == "true")
        return qs

    def get_object(self):
        return visible_project_or_404(self.request.user, self.kwargs["pk"])

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([selectors.project_payload(p) for p in page])

    def retrieve(self, request, pk=None):
        return Response(selectors.project_payload(self.get_object()))

    def create(self, request):
        data = _validated(ProjectSerializer, _body(request))
        project = services.project_create(by=request.user, **data)
        return Response(selectors.project_payload(project), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None, partial=True):
        project = self.get_object()
        permissions.require_owner(request.user, project)
        version = require_version(_body(request))
        serializer = ProjectSerializer(project, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        fields = {k: v for k, v in serializer.validated_data.items() if k not in ("key", "template")}
        project = services.project_update(project=project, version=version, by=request.user, **fields)
        return Response(selectors.project_payload(project))

    def update(self, request, pk=None):
        return self.partial_update(request, pk, partial=False)

    def destroy(self, request, pk=None):
        project = self.get_object()
        permissions.require_owner(request.user, project)
        services.project_delete(project=project, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=BoardOut)
    @action(detail=True, methods=["get"])
    def board(self, request, pk=None):
        return Response(selectors.board(self.get_object()))

    @extend_schema(responses=MemberSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=MemberSerializer)
    def members(self, request, pk=None):
        project = self.get_object()
        return Response([MemberSerializer(m).data for m in selectors.project_members(project)])

    @extend_schema(responses={201: MemberSerializer})
    @members.mapping.post
    def members_add(self, request, pk=None):
        project = self.get_object()
        permissions.require_owner(request.user, project)
        data = _validated(MemberSerializer, _body(request))
        member = services.member_add(project=project, by=request.user, **data)
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)

    def _member(self, project, user_id) -> ProjectMember:
        member = (
            ProjectMember.objects.select_related("user", "project").filter(project=project, user_id=user_id).first()
        )
        if member is None:
            raise NotFound()
        return member

    @action(
        detail=True, methods=["patch"], url_path=r"members/(?P<user_id>\d{1,18})", serializer_class=MemberSerializer
    )
    def member_detail(self, request, pk=None, user_id=None):
        project = self.get_object()
        permissions.require_owner(request.user, project)
        member = self._member(project, user_id)
        version = require_version(_body(request))
        role = serializers.ChoiceField(choices=ProjectMember.Role.choices).run_validation(request.data.get("role"))
        member = services.member_update(member=member, role=role, version=version, by=request.user)
        return Response(MemberSerializer(member).data)

    @member_detail.mapping.delete
    def member_remove(self, request, pk=None, user_id=None):
        project = self.get_object()
        member = self._member(project, user_id)
        # Anyone may leave; removing others needs ownership.
        if member.user_id != request.user.pk:
            permissions.require_owner(request.user, project)
        services.member_remove(member=member, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=StatusSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=StatusSerializer)
    def statuses(self, request, pk=None):
        project = self.get_object()
        return Response([selectors.status_payload(s) for s in selectors.project_statuses(project)])

    @extend_schema(responses={201: StatusSerializer})
    @statuses.mapping.post
    def statuses_create(self, request, pk=None):
        project = self.get_object()
        permissions.require_owner(request.user, project)
        data = _validated(StatusSerializer, _body(request))
        created = services.status_create(project=project, by=request.user, **data)
        return Response(selectors.status_payload(created), status=status.HTTP_201_CREATED)

    @extend_schema(responses=CustomFieldSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="custom-fields", serializer_class=CustomFieldSerializer)
    def custom_fields(self, request, pk=None):
        project = self.get_object()
        return Response(CustomFieldSerializer(selectors.project_custom_fields(project), many=True).data)

    @extend_schema(responses={201: CustomFieldSerializer})
    @custom_fields.mapping.post
    def custom_fields_create(self, request, pk=None):
        project = self.get_object()
        permissions.require_owner(request.user, project)
        data = _validated(CustomFieldSerializer, _body(request))
        field = services.custom_field_create(project=project, by=request.user, **data)
        return Response(CustomFieldSerializer(field).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SaveAsTemplateSerializer, responses={201: TemplateSerializer})
    @action(detail=True, methods=["post"], url_path="save-as-template", serializer_class=SaveAsTemplateSerializer)
    def save_as_template(self, request, pk=None):
        project = self.get_object()
        permissions.require_owner(request.user, project)
        data = _validated(SaveAsTemplateSerializer, _body(request))
        template = services.project_save_as_template(project=project, by=request.user, **data)
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class StatusViewSet(Base):
    """/api/statuses/{id}/: read, PATCH (with version), DELETE - project owners."""

    serializer_class = StatusSerializer
    queryset = Status.objects.none()  # for the schema generator only

    def get_object(self):
        obj = Status.objects.select_related("project").filter(pk=self.kwargs["pk"]).first()
        if obj is None or not permissions.can_view_project(self.request.user, obj.project):
            raise NotFound()
        return obj

    def retrieve(self, request, pk=None):
        return Response(selectors.status_payload(self.get_object()))

    def partial_update(self, request, pk=None):
        obj = self.get_object()
        permissions.require_owner(request.user, obj.project)
        version = require_version(_body(request))
        data = _validated(StatusSerializer, request.data, partial=True)
        obj = services.status_update(status=obj, version=version, by=request.user, **data)
        return Response(selectors.status_payload(obj))

    def destroy(self, request, pk=None):
        obj = self.get_object()
        permissions.require_owner(request.user, obj.project)
        services.status_delete(status=obj, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomFieldViewSet(Base):
    """/api/custom-fields/{id}/: read, PATCH (with version), DELETE - project owners."""

    serializer_class = CustomFieldSerializer
    queryset = CustomField.objects.none()  # for the schema generator only

    def get_object(self):
        obj = CustomField.objects.select_related("project").filter(pk=self.kwargs["pk"]).first()
        if obj is None or not permissions.can_view_project(self.request.user, obj.project):
            raise NotFound()
        return obj

    def retrieve(self, request, pk=None):
        return Response(CustomFieldSerializer(self.get_object()).data)

    def partial_update(self, request, pk=None):
        obj = self.get_object()
        permissions.require_owner(request.user, obj.project)
        version = require_version(_body(request))
        data = _validated(CustomFieldSerializer, request.data, partial=True)
        data.pop("key", None)  # keys are referenced by formulas and stored values: immutable
        obj = services.custom_field_update(field=obj, version=version, by=request.user, **data)
        return Response(CustomFieldSerializer(obj).data)

    def destroy(self, request, pk=None):
        obj = self.get_object()
        permissions.require_owner(request.user, obj.project)
        services.custom_field_delete(field=obj, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectTemplateViewSet(Base):
    """Templates are shared: everyone signed in reads them; the creator or an admin edits."""

    serializer_class = TemplateSerializer
    queryset = ProjectTemplate.objects.all()

    def _editable(self, template):
        if not (is_admin(self.request.user) or template.created_by_id == self.request.user.pk):
            raise Forbidden("Only the creator or an administrator can change this template.")

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TemplateSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(TemplateSerializer(self.get_object()).data)

    def create(self, request):
        data = _validated(TemplateSerializer, _body(request))
        template = services.template_create(by=request.user, **data)
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        template = self.get_object()
        self._editable(template)
        version = require_version(_body(request))
        data = _validated(TemplateSerializer, request.data, partial=True)
        template = services.template_update(template=template, version=version, by=request.user, **data)
        return Response(TemplateSerializer(template).data)

    def destroy(self, request, pk=None):
        template = self.get_object()
        self._editable(template)
        services.template_delete(template=template, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- tasks -------------------------------------------------------------------------------


class TaskViewSet(Base):
    serializer_class = TaskSerializer
    queryset = Task.objects.none()  # for the schema generator only
    rate_tiers = {"attachments_upload": ratelimits.HEAVY}

    def get_serializer(self, *args, **kwargs):
        # Used by the error handler to render details.current on a version conflict.
        return TaskSerializer(*args, **kwargs)

    def get_object(self, *, deleted_ok: bool = False) -> Task:
        user = self.request.user
        task = Task.all_objects.select_related("project").filter(pk=self.kwargs["pk"]).first()
        if task is None or not permissions.can_view_project(user, task.project):
            raise NotFound()
        if task.is_deleted and not (deleted_ok or permissions.can_see_deleted(user)):
            raise NotFound()
        return task

    def _editable_task(self, **kwargs) -> Task:
        task = self.get_object(**kwargs)
        permissions.require_edit(self.request.user, task.project)
        return task

    def list(self, request):
        include_deleted = _bool(request.query_params.get("include_deleted", "false"))
        if include_deleted and not permissions.can_see_deleted(request.user):
            raise Forbidden("Only administrators can list deleted tasks.")
        project = _int_param(request, "project")
        if project is not None:
            visible_project_or_404(request.user, project)
        qs = selectors.task_list(
            user=request.user,
            project=project,
            status=_int_param(request, "status"),
            assignee=_int_param(request, "assignee"),
            parent=_int_param(request, "parent"),
            include_deleted=include_deleted,
            custom_filters={k[3:]: v for k, v in request.query_params.items() if k.startswith("cf_") and len(k) <= 43},
            ordering=request.query_params.get("ordering") or None,
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response([selectors.task_payload(t) for t in page])

    def retrieve(self, request, pk=None):
        return Response(selectors.task_payload(selectors.task_fresh(self.get_object().pk)))

    def create(self, request):
        body = _body(request)
        raw_project = body.get("project")
        if isinstance(raw_project, bool) or not isinstance(raw_project, (int, str)) or not str(raw_project).isdigit():
            raise ValidationFailed.field("project", "A project id is required.")
        project = selectors.project_list(user=request.user).filter(pk=int(raw_project)).first()
        if project is None:
            # Same answer for "no such project" and "not yours": never leak existence.
            raise ValidationFailed.field("project", f'Invalid pk "{raw_project}" - object does not exist.')
        permissions.require_edit(request.user, project)
        fields = _task_fields(body, partial=False)
        task = services.task_create(project=project, by=request.user, **fields)
        return Response(selectors.written_task_payload(task), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None, partial=True):
        task = self._editable_task()
        version = require_version(_body(request))
        fields = _task_fields(request.data, partial=True)
        if not partial:
            fields.setdefault("title", task.title)
        task = services.task_update(task=task, version=version, by=request.user, **fields)
        return Response(selectors.written_task_payload(task))

    def update(self, request, pk=None):
        return self.partial_update(request, pk, partial=False)

    def destroy(self, request, pk=None):
        task = self._editable_task()
        if task.is_deleted:
            raise NotFound()
        force = _bool(request.query_params.get("force", "false"))
        version = _int_param(request, "version")
        services.task_delete(task=task, by=request.user, force=force, version=version)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RestoreInput, responses=RestoreOut)
    @action(detail=True, methods=["post"], serializer_class=RestoreInput)
    def restore(self, request, pk=None):
        # Members may undo deletes in their projects even though they cannot list deleted tasks.
        task = self._editable_task(deleted_ok=True)
        data = _validated(RestoreInput, request.data if isinstance(request.data, dict) else {})
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
                return _task_fields(data, partial=True)
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
        deps = TaskDependency.objects.filter(task=task).select_related("depends_on").order_by("id")
        return Response([_dependency_payload(d) for d in deps])

    @extend_schema(request=DependencyInput, responses={201: DependencyOut})
    @dependencies.mapping.post
    def dependencies_add(self, request, pk=None):
        task = self._editable_task()
        data = _validated(DependencyInput, _body(request))
        other = Task.objects.filter(pk=data["depends_on"], project_id=task.project_id).first()
        if other is None:
            raise ValidationFailed.field("depends_on", services.NOT_IN_PROJECT)
        dep = services.dependency_add(task=task, depends_on=other, by=request.user)
        return Response(_dependency_payload(dep), status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["delete"], url_path=r"dependencies/(?P<depends_on>\d{1,18})")
    def dependency_remove(self, request, pk=None, depends_on=None):
        task = self._editable_task()
        dep = TaskDependency.objects.filter(task=task, depends_on_id=depends_on).select_related("task").first()
        if dep is None:
            raise NotFound()
        services.dependency_remove(dependency=dep, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=paginated(CommentOut))
    @action(detail=True, methods=["get"], serializer_class=CommentSerializer)
    def comments(self, request, pk=None):
        task = self.get_object()
        page = self.paginate_queryset(selectors.task_comments(task))
        return self.get_paginated_response(CommentSerializer(page, many=True).data)

    @extend_schema(request=CommentSerializer, responses={201: CommentSerializer})
    @comments.mapping.post
    def comments_create(self, request, pk=None):
        task = self._editable_task()
        data = _validated(CommentSerializer, _body(request))
        comment = services.comment_create(task=task, by=request.user, **data)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=AttachmentSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=AttachmentSerializer)
    def attachments(self, request, pk=None):
        task = self.get_object()
        return Response(AttachmentSerializer(selectors.task_attachments(task), many=True).data)

    @extend_schema(request={"multipart/form-data": AttachmentSerializer}, responses={201: AttachmentSerializer})
    @attachments.mapping.post
    def attachments_upload(self, request, pk=None):
        task = self._editable_task()
        # Refuse an oversized body before Django spools it to disk (multipart overhead allowed).
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.UPLOAD_MAX_BYTES + 64 * 1024:
            raise PayloadTooLarge(
                f"Files may be at most {settings.UPLOAD_MAX_BYTES} bytes.",
                details={"max_bytes": settings.UPLOAD_MAX_BYTES},
            )
        data = _validated(AttachmentSerializer, request.data)
        attachment = services.attachment_create(task=task, by=request.user, upload=data["file"], name=data.get("name"))
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=HistoryEntryOut(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        task = self.get_object()
        return Response(selectors.task_history(task))

    def get_parsers(self):
        if getattr(self, "action", None) == "attachments_upload" or (
            self.request is not None and self.request.method == "POST" and self.request.path.endswith("/attachments/")
        ):
            return [MultiPartParser(), FormParser()]
        return super().get_parsers()


class CommentViewSet(Base):
    serializer_class = CommentSerializer
    queryset = Comment.objects.none()  # for the schema generator only

    def get_object(self):
        comment = (
            Comment.objects.select_related("task__project", "author")
            .prefetch_related(Prefetch("mentions"))
            .filter(pk=self.kwargs["pk"])
            .first()
        )
        if comment is None or not permissions.can_view_task(self.request.user, comment.task):
            raise NotFound()
        return comment

    def retrieve(self, request, pk=None):
        return Response(CommentSerializer(self.get_object()).data)

    @extend_schema(request=CommentSerializer(partial=False))
    def partial_update(self, request, pk=None):
        comment = self.get_object()
        permissions.require_edit(request.user, comment.task.project)
        version = require_version(_body(request))
        data = _validated(CommentSerializer, request.data)
        comment = services.comment_update(comment=comment, version=version, by=request.user, **data)
        return Response(CommentSerializer(comment).data)

    def destroy(self, request, pk=None):
        comment = self.get_object()
        permissions.require_edit(request.user, comment.task.project)
        services.comment_delete(comment=comment, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttachmentViewSet(Base):
    serializer_class = AttachmentSerializer
    queryset = Attachment.objects.none()  # for the schema generator only

    def get_object(self):
        attachment = (
            Attachment.objects.select_related("task__project", "uploaded_by").filter(pk=self.kwargs["pk"]).first()
        )
        if attachment is None or not permissions.can_view_task(self.request.user, attachment.task):
            raise NotFound()
        return attachment

    def retrieve(self, request, pk=None):
        return Response(AttachmentSerializer(self.get_object()).data)

    def destroy(self, request, pk=None):
        attachment = self.get_object()
        permissions.require_edit(request.user, attachment.task.project)
        services.attachment_delete(attachment=attachment, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={(200, "*/*"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        attachment = self.get_object()
        return download_response(
            attachment.file, filename=attachment.original_name, content_type=attachment.content_type
        )
