"""Serializers of the tasks API: they validate input; output is the selectors' payloads."""

from rest_framework import serializers

from contorl.accounts.models import Department, User
from contorl.api_fields import GivenFieldsOnly
from contorl.payloads import timestamp, user_brief

from .. import selectors, services
from ..models import (
    MAX_HOURS,
    MAX_POSITION,
    CustomField,
    Project,
    ProjectMember,
    ProjectTemplate,
    Status,
    Task,
    color_validator,
    field_key_validator,
    key_validator,
)


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
            "user_detail": user_brief(instance.user),
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


class TaskPatchSerializer(GivenFieldsOnly, TaskSerializer):
    project = None
    title = serializers.CharField(max_length=300, required=False)


class CommentSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10_000)

    def to_representation(self, c):
        return {
            "id": c.pk,
            "task": c.task_id,
            "author": user_brief(c.author),
            "body": c.body,
            "mentions": [u.username for u in c.mentions.all()],
            "version": c.version,
            "created_at": timestamp(c.created_at),
            "updated_at": timestamp(c.updated_at),
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
            "uploaded_by": user_brief(a.uploaded_by),
            "created_at": timestamp(a.created_at),
            "url": selectors.attachment_url(a),
        }


class DependencyInput(serializers.Serializer):
    depends_on = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class RestoreInput(serializers.Serializer):
    cascade = serializers.BooleanField(required=False, default=True)


def task_fields(data, *, partial: bool) -> dict:
    serializer = (TaskPatchSerializer if partial else TaskSerializer)(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    fields = dict(serializer.validated_data)
    fields.pop("project", None)
    return fields
