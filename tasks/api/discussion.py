"""REST endpoints of comments and attachments: those of one task (mixed into TaskViewSet,
under /api/tasks/{id}/) and each one by id (/api/comments/{id}/, /api/attachments/{id}/)."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from contorl.errors import PayloadTooLarge
from contorl.lookups import visible_or_404
from contorl.openapi import paginated
from contorl.storage import download_response
from contorl.versioning import require_version

from .. import selectors, services
from ..models import Attachment, Comment
from ..openapi import CommentOut
from .base import Base, json_body, validated
from .serializers import AttachmentSerializer, CommentSerializer


class TaskDiscussionActions:
    """The comments and attachments of one task; TaskViewSet supplies get_object."""

    @extend_schema(responses=paginated(CommentOut))
    @action(detail=True, methods=["get"], serializer_class=CommentSerializer)
    def comments(self, request, pk=None):
        task = self.get_object()
        page = self.paginate_queryset(selectors.task_comments(task))
        return self.get_paginated_response(CommentSerializer(page, many=True).data)

    @extend_schema(request=CommentSerializer, responses={201: CommentSerializer})
    @comments.mapping.post
    def comments_create(self, request, pk=None):
        task = self.get_object()
        data = validated(CommentSerializer, json_body(request))
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
        task = self.get_object()
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
        data = validated(AttachmentSerializer, request.data)
        attachment = services.attachment_create(task=task, by=request.user, upload=data["file"], name=data.get("name"))
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

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
        return visible_or_404(selectors.comment_lookup(), self.kwargs["pk"], may_see=self.in_visible_task)

    def retrieve(self, request, pk=None):
        return Response(CommentSerializer(self.get_object()).data)

    @extend_schema(request=CommentSerializer(partial=False))
    def partial_update(self, request, pk=None):
        comment = self.get_object()
        version = require_version(json_body(request))
        data = validated(CommentSerializer, request.data)
        comment = services.comment_update(comment=comment, version=version, by=request.user, **data)
        return Response(CommentSerializer(comment).data)

    def destroy(self, request, pk=None):
        comment = self.get_object()
        services.comment_delete(comment=comment, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttachmentViewSet(Base):
    serializer_class = AttachmentSerializer
    queryset = Attachment.objects.none()  # for the schema generator only

    def get_object(self):
        return visible_or_404(selectors.attachment_lookup(), self.kwargs["pk"], may_see=self.in_visible_task)

    def retrieve(self, request, pk=None):
        return Response(AttachmentSerializer(self.get_object()).data)

    def destroy(self, request, pk=None):
        attachment = self.get_object()
        services.attachment_delete(attachment=attachment, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={(200, "*/*"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        attachment = self.get_object()
        return download_response(
            attachment.file, filename=attachment.original_name, content_type=attachment.content_type
        )
