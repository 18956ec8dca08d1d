"""Response shapes of the rooms API for the OpenAPI schema (documentation only).

The API renders rooms/payloads.py dicts, not its input serializers; these serializers
describe those payloads. rooms/api.py imports this module, which registers the
`document_output` extensions.
"""

from rest_framework import serializers

from contorl.openapi import UserBriefOut, document_output


class RoomOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    severity = serializers.CharField()
    location = serializers.CharField(allow_blank=True)
    task = serializers.IntegerField(allow_null=True)
    created_by = UserBriefOut(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_seq = serializers.IntegerField()
    version = serializers.IntegerField()
    my_role = serializers.CharField(required=False)
    member_count = serializers.IntegerField(required=False, help_text="In lists only.")


class RoomMemberOut(serializers.Serializer):
    id = serializers.IntegerField()
    room = serializers.IntegerField()
    user = UserBriefOut()
    role = serializers.CharField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class ReactionSummaryOut(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    users = serializers.ListField(child=serializers.IntegerField())


class MessageOut(serializers.Serializer):
    id = serializers.IntegerField()
    room = serializers.IntegerField()
    seq = serializers.IntegerField()
    sender = UserBriefOut(allow_null=True)
    content = serializers.CharField(allow_blank=True)
    html = serializers.CharField(allow_blank=True, help_text="Sanitized display HTML of `content`.")
    message_type = serializers.CharField(help_text="text, image_ref, file_ref, system or incident_data")
    metadata = serializers.JSONField()
    client_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted_at = serializers.DateTimeField(allow_null=True)
    is_deleted = serializers.BooleanField()
    reactions = ReactionSummaryOut(many=True)
    version = serializers.IntegerField()


class MessagePageOut(serializers.Serializer):
    results = MessageOut(many=True)
    last_seq = serializers.IntegerField()


class MessageSearchOut(serializers.Serializer):
    results = MessageOut(many=True)


class FoundMessageOut(MessageOut):
    room_title = serializers.CharField()


class MessageSearchAllOut(serializers.Serializer):
    results = FoundMessageOut(many=True)


class UsersOut(serializers.Serializer):
    users = UserBriefOut(many=True)


class MessageEditOut(serializers.Serializer):
    id = serializers.IntegerField()
    content = serializers.CharField(allow_blank=True)
    html = serializers.CharField(allow_blank=True)
    metadata = serializers.JSONField()
    edited_by = UserBriefOut(allow_null=True)
    edited_at = serializers.DateTimeField()


class ReactionInput(serializers.Serializer):
    emoji = serializers.CharField()


class ReactionOut(serializers.Serializer):
    message_id = serializers.IntegerField()
    emoji = serializers.CharField()
    user = serializers.IntegerField()
    created = serializers.BooleanField(help_text="false when the reaction was already there (200)")


class RoomTemplateOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    title_pattern = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    severity = serializers.CharField()
    location = serializers.CharField(allow_blank=True)
    members = serializers.JSONField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class RoomFileOut(serializers.Serializer):
    id = serializers.IntegerField()
    room = serializers.IntegerField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    is_image = serializers.BooleanField()
    url = serializers.CharField()
    thumbnail_url = serializers.CharField(allow_null=True)
    uploaded_by = UserBriefOut(allow_null=True)
    created_at = serializers.DateTimeField()


document_output("rooms.api.RoomInput", RoomOut)
document_output("rooms.api.MessageInput", MessageOut)
document_output("rooms.api.TemplateInput", RoomTemplateOut)
document_output("rooms.api.FileInput", RoomFileOut)
