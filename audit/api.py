"""Admin-only REST for the audit trail: list with filters, CSV export, chain verification."""

import csv
import io
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, renderers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from contorl import ratelimits
from contorl.accounts.permissions import IsSystemAdmin
from contorl.renderers import FastJSONRenderer

from . import selectors, services

CSV_COLUMNS = [
    "id",
    "created_at",
    "event_type",
    "sensitivity",
    "actor_id",
    "actor",
    "object_type",
    "object_id",
    "changes",
    "request_id",
    "ip",
    "seq",
    "prev_hash",
    "hash",
]
CSV_MAX_ROWS = 200_000  # one export; narrow the filters for more


class CSVRenderer(renderers.BaseRenderer):
    """Selected by ?format=csv. The list streams its own body; errors stay JSON envelopes."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data, cls=DjangoJSONEncoder).encode()


class AuditLogSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_type = serializers.CharField()
    sensitivity = serializers.CharField()
    actor = serializers.DictField(allow_null=True)
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    changes = serializers.JSONField(allow_null=True)
    request_id = serializers.CharField()
    ip = serializers.CharField()
    created_at = serializers.DateTimeField()
    # null until the sealer has chained the row (audit/sealing.py)
    seq = serializers.IntegerField(allow_null=True)
    prev_hash = serializers.CharField(allow_null=True)
    hash = serializers.CharField(allow_null=True)

    def to_representation(self, instance):
        return super().to_representation(selectors.audit_log_row(instance))


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet formula injection: a cell starting with = + - @ would be evaluated.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_stream(queryset):
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush():
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return value

    yield "\ufeff"  # BOM so spreadsheet programs read UTF-8 (Chinese names) correctly
    writer.writerow(CSV_COLUMNS)
    yield flush()
    for entry in queryset[:CSV_MAX_ROWS].iterator(chunk_size=2000):
        writer.writerow(
            [
                _csv_cell(v)
                for v in (
                    entry.pk,
                    entry.created_at.isoformat(),
                    entry.event_type,
                    entry.sensitivity,
                    entry.actor_id or "",
                    entry.actor.username if entry.actor_id else "",
                    entry.object_type,
                    entry.object_id,
                    "" if entry.changes is None else json.dumps(entry.changes, ensure_ascii=False, sort_keys=True),
                    entry.request_id,
                    entry.ip,
                    entry.seq,
                    entry.prev_hash,
                    entry.hash,
                )
            ]
        )
        yield flush()


FILTER_PARAMS = [
    OpenApiParameter("event_type", str, description="Exact, or a prefix ending in '.' (task.)"),
    OpenApiParameter("sensitivity", str, description="low, medium, high, critical (comma-separated allowed)"),
    OpenApiParameter("actor", int, description="User id"),
    OpenApiParameter("object_type", str, description="app_label.model, e.g. tasks.task"),
    OpenApiParameter("object_id", str),
    OpenApiParameter("created_after", str, description="ISO date or date-time, inclusive"),
    OpenApiParameter("created_before", str, description="ISO date or date-time, inclusive"),
    OpenApiParameter("format", str, description="csv to download every matching row as CSV (heavy rate tier)"),
]


class AuditLogViewSet(ratelimits.RateLimitedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditLogSerializer
    permission_classes = [IsSystemAdmin]
    renderer_classes = [FastJSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer]
    filter_backends: list = []
    rate_tiers = {"verify": ratelimits.HEAVY}

    def get_queryset(self):
        return selectors.audit_logs(self.request.query_params)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.action == "list" and request.accepted_renderer.format == "csv":
            ratelimits.check(request, ratelimits.HEAVY)  # on top of the standard tier

    @extend_schema(parameters=FILTER_PARAMS)
    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "csv":
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            response = StreamingHttpResponse(_csv_stream(self.get_queryset()), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
            return response
        return super().list(request, *args, **kwargs)

    @extend_schema(
        responses=inline_serializer(
            "AuditVerify",
            {
                "ok": serializers.BooleanField(),
                "checked": serializers.IntegerField(),
                "unsealed": serializers.DictField(),
                "anchor": serializers.DictField(),
                "broken": serializers.DictField(required=False),
                "triggers": serializers.CharField(),
            },
        )
    )
    @action(detail=False)
    def verify(self, request):
        return Response(services.verify_all())
