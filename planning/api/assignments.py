"""Assignments (with bulk move/resize) and actuals."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from contorl.errors import ValidationFailed

from .. import filters, services
from .common import _ProjectScoped
from .schema import AssignmentBulkResultOut
from .serializers import ActualSerializer, AssignmentPatchSerializer, AssignmentSerializer

BULK_ITEM = (
    '{"id": int, "version": int, "start"?: date, "end"?: date, "hours_per_day"?: decimal string, "worker"?: int}'
)


def bulk_item_parser():
    """parse(assignment, item) for one bulk request: one bulk item -> validated assignment
    fields (a DomainError fails that item alone). One serializer serves every item: building
    a serializer copies its fields, which for 100 items cost more than checking them."""
    serializer = AssignmentPatchSerializer(partial=True)

    def parse(assignment, item) -> dict:
        if not isinstance(item, dict):
            raise ValidationFailed.field("body", _("Expected a JSON object."))
        fields = {k: v for k, v in item.items() if k in ("start", "end", "hours_per_day", "worker")}
        try:
            return dict(serializer.run_validation(fields))
        except serializers.ValidationError as exc:
            errors = serializers.as_serializer_error(exc)
            details = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()}
            raise ValidationFailed(next(iter(details.values()))[0], details=details) from None

    return parse


class AssignmentViewSet(_ProjectScoped):
    """Assignments: planners of the project write them; events go to the project's group."""

    serializer_class = AssignmentSerializer
    patch_serializer_class = AssignmentPatchSerializer
    filterset_class = filters.AssignmentFilter

    def do_create(self, data):
        return services.assignment_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        return services.assignment_update(assignment=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.assignment_delete(assignment=obj, by=self.request.user, version=version)

    @extend_schema(
        # Any object is taken: an item without its id or version, or with an invalid field,
        # fails alone in the answer, as a stale or forbidden one does (planning/README.md).
        request={"application/json": {"type": "array", "items": {"type": "object", "description": BULK_ITEM}}},
        responses={200: AssignmentBulkResultOut},
        description="Move/resize many assignments; each item succeeds or fails alone (savepoint per item). "
        'Returns {"succeeded": [{"id", "version"}], "failed": [{"id", "code", "current", "error"}]}.',
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request):
        if not isinstance(request.data, list):
            raise ValidationFailed(
                _("Expected a JSON list of {id, version, ...fields}."), details={"body": [_("Expected a list.")]}
            )
        return Response(services.assignment_bulk_update(items=request.data, by=request.user, parse=bulk_item_parser()))


class ActualViewSet(_ProjectScoped):
    """Actuals: planners of the project, and the worker themselves on projects they can see."""

    serializer_class = ActualSerializer
    filterset_class = filters.ActualFilter

    def do_create(self, data):
        return services.actual_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        data.pop("project", None)
        return services.actual_update(actual=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.actual_delete(actual=obj, by=self.request.user, version=version)
