"""Response shapes of the tasks API for the OpenAPI schema (documentation only).

The API renders selector payloads (tasks/selectors.py), not its input serializers; these
serializers describe those payloads. tasks/api/ imports this module, which registers
the `document_output` extensions.
"""

from rest_framework import serializers

from contorl.openapi import UserBriefOut, document_output


class ProjectOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    key = serializers.CharField()
    department = serializers.IntegerField(allow_null=True)
    description = serializers.CharField(allow_blank=True)
    archived = serializers.BooleanField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class MemberOut(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    user = serializers.IntegerField()
    user_detail = UserBriefOut()
    role = serializers.CharField()
    version = serializers.IntegerField()


class StatusOut(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()
    order = serializers.IntegerField()
    is_done = serializers.BooleanField()
    version = serializers.IntegerField()


class TaskOut(serializers.Serializer):
    """selectors.task_payload: the representation of the API and of every project event."""

    id = serializers.IntegerField()
    project = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    status = serializers.IntegerField()
    assignee = serializers.IntegerField(allow_null=True)
    assignee_detail = UserBriefOut(allow_null=True)
    priority = serializers.IntegerField()
    start_date = serializers.DateField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    estimated_hours = serializers.FloatField(allow_null=True)
    parent = serializers.IntegerField(allow_null=True)
    subtask_count = serializers.IntegerField()
    position = serializers.IntegerField()
    custom_fields = serializers.DictField(child=serializers.JSONField())
    custom_field_errors = serializers.DictField(child=serializers.JSONField())
    depends_on = serializers.ListField(child=serializers.IntegerField())
    version = serializers.IntegerField()
    is_deleted = serializers.BooleanField()
    deleted_at = serializers.DateTimeField(allow_null=True)
    deleted_by = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class BoardColumnOut(StatusOut):
    tasks = TaskOut(many=True)


class BoardOut(serializers.Serializer):
    project = ProjectOut()
    statuses = BoardColumnOut(many=True)


class CommentOut(serializers.Serializer):
    id = serializers.IntegerField()
    task = serializers.IntegerField()
    author = UserBriefOut(allow_null=True)
    body = serializers.CharField()
    mentions = serializers.ListField(child=serializers.CharField())
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AttachmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    task = serializers.IntegerField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_by = UserBriefOut(allow_null=True)
    created_at = serializers.DateTimeField()
    url = serializers.CharField(help_text="Download path (permission-checked).")


class DependencyOut(serializers.Serializer):
    id = serializers.IntegerField()
    task = serializers.IntegerField()
    depends_on = serializers.IntegerField()
    depends_on_title = serializers.CharField()
    depends_on_deleted = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class HistoryChangeOut(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class HistoryEntryOut(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(allow_null=True)
    type = serializers.CharField(help_text="created, changed or deleted")
    at = serializers.DateTimeField()
    by = UserBriefOut(allow_null=True)
    changes = HistoryChangeOut(many=True)


class RestoreOut(serializers.Serializer):
    task = TaskOut()
    restored = serializers.ListField(child=serializers.IntegerField())


class TaskBulkSucceededOut(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()


class TaskBulkFailedOut(serializers.Serializer):
    id = serializers.JSONField(allow_null=True, help_text="The id as sent (null when missing).")
    error = serializers.DictField(help_text="The error envelope's body: code, message, details.")


class BulkUpdateOut(serializers.Serializer):
    succeeded = TaskBulkSucceededOut(many=True)
    failed = TaskBulkFailedOut(many=True)


document_output("tasks.api.serializers.ProjectSerializer", ProjectOut)
document_output("tasks.api.serializers.MemberSerializer", MemberOut)
document_output("tasks.api.serializers.StatusSerializer", StatusOut)
document_output("tasks.api.serializers.TaskSerializer", TaskOut)
document_output("tasks.api.serializers.CommentSerializer", CommentOut)
document_output("tasks.api.serializers.AttachmentSerializer", AttachmentOut)
