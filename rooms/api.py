"""REST endpoints for incident rooms: parse, call one service or selector, render."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from contorl import ratelimits
from contorl.errors import NotFound, ValidationFailed
from contorl.pagination import StandardPagination
from contorl.storage import download_response
from contorl.versioning import require_version

from . import payloads, presence, selectors, services
from .models import Message, Role, Room, RoomTemplate, Severity
from .openapi import (
    MessageEditOut,
    MessagePageOut,
    MessageSearchAllOut,
    MessageSearchOut,
    ReactionInput,
    ReactionOut,
    RoomMemberOut,
    UsersOut,
)
from .parsers import StrictMultiPartParser


class RoomInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    severity = serializers.ChoiceField(choices=Severity.values, required=False)
    location = serializers.CharField(max_length=120, required=False, allow_blank=True)
    template = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    task = serializers.IntegerField(min_value=1, max_value=2**62, required=False, allow_null=True)


class RoomPatch(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    severity = serializers.ChoiceField(choices=Severity.values, required=False)
    location = serializers.CharField(max_length=120, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=["active", "resolved", "archived"], required=False)
    task = serializers.IntegerField(min_value=1, max_value=2**62, required=False, allow_null=True)


class MemberInput(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, max_value=2**62, required=False)
    username = serializers.CharField(max_length=150, required=False)
    role = serializers.ChoiceField(choices=Role.values, default=Role.EDITOR)


class TemplateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    title_pattern = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    severity = serializers.ChoiceField(choices=Severity.values, required=False)
    location = serializers.CharField(max_length=120, required=False, allow_blank=True)
    members = serializers.JSONField(required=False)


class MessageInput(serializers.Serializer):
    """For the schema only: size limits are checked by the service so they can answer 413."""

    content = serializers.CharField(required=False, allow_blank=True)
    message_type = serializers.ChoiceField(
        choices=["text", "image_ref", "file_ref", "incident_data"], required=False, default="text"
    )
    metadata = serializers.JSONField(required=False)
    client_id = serializers.CharField(max_length=64, required=False)
    version = serializers.IntegerField(min_value=1, required=False, help_text="Required for PATCH.")


class FileInput(serializers.Serializer):
    file = serializers.FileField()


def _valid(serializer_class, data, *, partial=False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def resolve_task(user, data: dict) -> None:
    """Swap a task id for the Task, if the caller may see it (else 400, never a leak)."""
    if data.get("task") is None:
        return
    task = selectors.visible_task(user, data["task"])
    if task is None:
        raise ValidationFailed.field("task", "No such task.")
    data["task"] = task


def _messages(messages) -> list[dict]:
    return [payloads.message_payload(m, reactions=list(m.reactions.all())) for m in messages]


class RoomViewSet(ratelimits.RateLimitedViewMixin, GenericViewSet):
    pagination_class = StandardPagination
    serializer_class = RoomInput
    queryset = Room.objects.none()  # for the schema; reads go through selectors
    lookup_value_regex = r"\d{1,18}"
    rate_tiers = {"files": ratelimits.HEAVY, "members": ratelimits.STANDARD}

    def initial(self, request, *args, **kwargs):
        # Chat sends are counted once, by the CHAT tier inside rooms.services.message_send
        # (shared with the WebSocket path); the per-view standard budget would cap chat at 60/min.
        if getattr(self, "action", None) == "messages" and request.method == "POST":
            GenericViewSet.initial(self, request, *args, **kwargs)
            return
        super().initial(request, *args, **kwargs)

    def _room(self, pk):
        return selectors.room_for(self.request.user, pk)

    def list(self, request):
        p = request.query_params
        qs = selectors.rooms_for(
            request.user, status=p.get("status", ""), severity=p.get("severity", ""), q=p.get("q", "")
        )
        page = self.paginate_queryset(qs)
        data = [payloads.room_payload(r, my_role=r.my_role or Role.OWNER, member_count=r.member_count) for r in page]
        return self.get_paginated_response(data)

    def create(self, request):
        data = _valid(RoomInput, request.data)
        resolve_task(request.user, data)
        template_id = data.pop("template", None)
        if template_id is not None:
            template = selectors.template_or_none(template_id)
            if template is None:
                raise ValidationFailed.field("template", "No such template.")
            room = services.room_create_from_template(
                template=template,
                by=request.user,
                location=data.get("location", ""),
                title=data.get("title", ""),
                task=data.get("task"),
            )
        else:
            if "title" not in data:
                raise ValidationFailed.field("title", "This field is required.")
            room = services.room_create(by=request.user, **data)
        return Response(payloads.room_payload(room, my_role=Role.OWNER), status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        room, role = self._room(pk)
        return Response(payloads.room_payload(room, my_role=role))

    def partial_update(self, request, pk=None):
        room, _role = self._room(pk)
        version = require_version(request.data)
        fields = _valid(RoomPatch, request.data, partial=True)
        resolve_task(request.user, fields)
        room = services.room_update(room=room, by=request.user, version=version, fields=fields)
        return Response(payloads.room_payload(room, my_role=_role))

    @extend_schema(methods=["GET"], responses=RoomMemberOut(many=True))
    @extend_schema(methods=["POST"], request=MemberInput, responses={201: RoomMemberOut})
    @action(detail=True, methods=["get", "post"])
    def members(self, request, pk=None):
        room, _role = self._room(pk)
        if request.method == "GET":
            return Response([payloads.member_payload(m) for m in selectors.members_of(room)])
        data = _valid(MemberInput, request.data)
        member = services.member_add(
            room=room, by=request.user, role=data["role"], user_id=data.get("user"), username=data.get("username", "")
        )
        return Response(payloads.member_payload(member), status=status.HTTP_201_CREATED)

    @extend_schema(methods=["PATCH"], request=MemberInput, responses=RoomMemberOut)
    @action(detail=True, methods=["patch", "delete"], url_path=r"members/(?P<member_id>\d{1,18})")
    def member_detail(self, request, pk=None, member_id=None):
        room, _role = self._room(pk)
        member = selectors.member_of(room, member_id)
        if request.method == "DELETE":
            services.member_remove(member=member, by=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        version = require_version(request.data)
        data = _valid(MemberInput, request.data, partial=True)
        member = services.member_update(
            member=member, role=data.get("role", member.role), version=version, by=request.user
        )
        return Response(payloads.member_payload(member))

    @extend_schema(methods=["GET"], responses=MessagePageOut)
    @extend_schema(methods=["POST"], request=MessageInput, responses={201: MessageInput, 200: MessageInput})
    @action(detail=True, methods=["get", "post"])
    def messages(self, request, pk=None):
        room, _role = self._room(pk)
        if request.method == "GET":
            p = request.query_params
            page = selectors.message_page(
                room, after_seq=p.get("after_seq"), before_seq=p.get("before_seq"), limit=p.get("limit")
            )
            return Response({"results": _messages(page), "last_seq": room.last_seq})
        body = request.data if isinstance(request.data, dict) else {}
        if not body:
            raise ValidationFailed("A JSON object with content and message_type is required.")
        message, created = services.message_send(
            room=room,
            by=request.user,
            content=body.get("content", ""),
            message_type=body.get("message_type", "text"),
            metadata=body.get("metadata"),
            client_id=body.get("client_id"),
        )
        return Response(
            payloads.message_payload(message), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(responses=MessageSearchOut)
    @action(detail=True, methods=["get"], url_path="messages/search")
    def search(self, request, pk=None):
        room, _role = self._room(pk)
        return Response({"results": _messages(selectors.message_search(room, request.query_params.get("q", "")))})

    @extend_schema(operation_id="rooms_messages_search_all", responses=MessageSearchAllOut)
    @action(detail=False, methods=["get"], url_path="messages/search")
    def search_all(self, request):
        """Messages matching q in every room the caller is a member of, newest first."""
        found = selectors.message_search_all(request.user, request.query_params.get("q", ""))
        results = []
        for message in found:
            data = payloads.message_payload(message, reactions=list(message.reactions.all()))
            data["room_title"] = message.room.title
            results.append(data)
        return Response({"results": results})

    @extend_schema(responses=UsersOut)
    @action(detail=True, methods=["get"])
    def online(self, request, pk=None):
        room, _role = self._room(pk)
        return Response({"users": presence.online_users(room.pk)})

    @extend_schema(responses=UsersOut)
    @action(detail=True, methods=["get"])
    def typing(self, request, pk=None):
        room, _role = self._room(pk)
        return Response({"users": presence.typing_users(room.pk)})

    @extend_schema(methods=["GET"], responses=FileInput(many=True))
    @extend_schema(methods=["POST"], request={"multipart/form-data": FileInput}, responses={201: FileInput})
    @action(detail=True, methods=["get", "post"], parser_classes=[StrictMultiPartParser])
    def files(self, request, pk=None):
        room, _role = self._room(pk)
        if request.method == "GET":
            return Response([payloads.file_payload(f) for f in selectors.files_of(room)])
        room_file = services.file_upload(room=room, by=request.user, upload=request.FILES.get("file"))
        return Response(payloads.file_payload(room_file), status=status.HTTP_201_CREATED)


class MessageViewSet(ratelimits.RateLimitedViewMixin, GenericViewSet):
    serializer_class = MessageInput
    queryset = Message.objects.none()  # for the schema; reads go through selectors
    lookup_value_regex = r"\d{1,18}"

    def retrieve(self, request, pk=None):
        return Response(payloads.message_payload(selectors.live_message_for(request.user, pk)))

    def partial_update(self, request, pk=None):
        message = selectors.message_for(request.user, pk)
        version = require_version(request.data)
        if "content" not in request.data:
            raise ValidationFailed.field("content", "This field is required.")
        message = services.message_edit(
            message=message,
            by=request.user,
            content=request.data.get("content"),
            metadata=request.data.get("metadata"),
            version=version,
        )
        return Response(payloads.message_payload(message))

    def destroy(self, request, pk=None):
        message = selectors.message_for(request.user, pk)
        services.message_delete(message=message, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=MessageEditOut(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        message = selectors.live_message_for(request.user, pk)
        return Response([payloads.edit_payload(e) for e in selectors.message_history(message)])

    @extend_schema(request=ReactionInput, responses={201: ReactionOut, 200: ReactionOut})
    @action(detail=True, methods=["post"])
    def reactions(self, request, pk=None):
        message = selectors.message_for(request.user, pk)
        emoji = request.data.get("emoji") if isinstance(request.data, dict) else None
        reaction, created = services.reaction_add(message=message, by=request.user, emoji=emoji)
        body = {"message_id": message.pk, "emoji": reaction.emoji, "user": reaction.user_id, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @action(detail=True, methods=["delete"], url_path=r"reactions/(?P<emoji>[^/]+)")
    def reaction_remove(self, request, pk=None, emoji=None):
        message = selectors.message_for(request.user, pk)
        services.reaction_remove(message=message, by=request.user, emoji=emoji)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomTemplateViewSet(ratelimits.RateLimitedViewMixin, GenericViewSet):
    pagination_class = StandardPagination
    serializer_class = TemplateInput
    queryset = RoomTemplate.objects.none()  # for the schema
    lookup_value_regex = r"\d{1,18}"

    def list(self, request):
        page = self.paginate_queryset(selectors.templates())
        return self.get_paginated_response([payloads.template_payload(t) for t in page])

    def retrieve(self, request, pk=None):
        return Response(payloads.template_payload(selectors.template_for(pk)))

    def create(self, request):
        data = _valid(TemplateInput, request.data)
        template = services.template_create(by=request.user, **data)
        return Response(payloads.template_payload(template), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        template = selectors.template_for(pk)
        version = require_version(request.data)
        fields = _valid(TemplateInput, request.data, partial=True)
        template = services.template_update(template=template, by=request.user, version=version, fields=fields)
        return Response(payloads.template_payload(template))

    def destroy(self, request, pk=None):
        services.template_delete(template=selectors.template_for(pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RoomInput, responses={201: RoomInput})
    @action(detail=True, methods=["post"])
    def open(self, request, pk=None):
        """Open a room from this template in one step: {"location"?, "title"?}."""
        template = selectors.template_for(pk)
        data = _valid(RoomInput, request.data, partial=True)
        room = services.room_create_from_template(
            template=template, by=request.user, location=data.get("location", ""), title=data.get("title", "")
        )
        return Response(payloads.room_payload(room, my_role=Role.OWNER), status=status.HTTP_201_CREATED)


class RoomFileViewSet(ratelimits.RateLimitedViewMixin, GenericViewSet):
    serializer_class = FileInput
    lookup_value_regex = r"\d{1,18}"

    def retrieve(self, request, pk=None):
        return Response(payloads.file_payload(selectors.file_for(request.user, pk)))

    def _send(self, field, name: str, content_type: str):
        if not field:
            raise NotFound()
        return download_response(field, filename=name, content_type=content_type)

    @extend_schema(responses={(200, "*/*"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        room_file = selectors.file_for(request.user, pk)
        return self._send(room_file.file, room_file.original_name, room_file.content_type)

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def thumbnail(self, request, pk=None):
        room_file = selectors.file_for(request.user, pk)
        response = self._send(room_file.thumbnail, f"thumb-{room_file.pk}.png", "image/png")
        response["Content-Disposition"] = "inline"
        return response
