"""REST for the signed-in user's own notifications."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from contorl import ratelimits
from contorl.errors import NotFound, ValidationFailed

from . import selectors, services


class ActorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()


class NotificationSerializer(serializers.Serializer):
    """Renders selectors.notification_payload (the one representation)."""

    id = serializers.IntegerField(read_only=True)
    type = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    body = serializers.CharField(read_only=True)
    link = serializers.CharField(read_only=True)
    data = serializers.JSONField(read_only=True)
    actor = ActorSerializer(read_only=True, allow_null=True)
    read_at = serializers.DateTimeField(read_only=True, allow_null=True)
    is_read = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance):
        return super().to_representation(selectors.notification_payload(instance))


def _unread_param(raw):
    if raw in (None, ""):
        return None
    value = str(raw).lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ValidationFailed.field("unread", "Use true or false.")


class NotificationViewSet(ratelimits.RateLimitedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    lookup_value_regex = r"\d{1,18}"
    filter_backends: list = []

    def get_queryset(self):
        return selectors.notifications_for(
            self.request.user, unread=_unread_param(self.request.query_params.get("unread"))
        )

    @extend_schema(parameters=[OpenApiParameter("unread", bool, description="true: only unread; false: only read")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=inline_serializer("UnreadCount", {"count": serializers.IntegerField()}))
    @action(detail=False, url_path="unread-count")
    def unread_count(self, request):
        return Response({"count": selectors.unread_count(request.user.pk)})

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        try:
            notification_id = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        notification = services.notification_mark_read(notification_id=notification_id, user=request.user)
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "ReadAll", {"marked": serializers.IntegerField(), "count": serializers.IntegerField()}
        ),
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        marked = services.notification_mark_all_read(user=request.user)
        return Response({"marked": marked, "count": selectors.unread_count(request.user.pk)})
