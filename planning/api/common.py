"""Parsing helpers and the generic planning viewset every endpoint builds on."""

from django.utils.translation import gettext as _
from rest_framework import status, viewsets
from rest_framework.response import Response

from contorl import ratelimits
from contorl.errors import ValidationFailed
from contorl.lookups import visible_or_404
from contorl.versioning import require_version

from .. import permissions as P
from ..payloads import columns, payload


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationFailed(_("Expected a JSON object."), details={"body": [_("Expected a JSON object.")]})
    return request.data


def _validated(serializer_class, data, *, partial=False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _version_param(request) -> int | None:
    if request.query_params.get("version") in (None, ""):
        return None
    return require_version(request.query_params)


# --- the generic viewset -----------------------------------------------------------------


class PlanningViewSet(ratelimits.RateLimitedViewMixin, viewsets.GenericViewSet):
    """list / retrieve / create / partial_update / destroy over one model. Subclasses say
    who may see (`visible`) and which service writes; the services decide who may write."""

    lookup_value_regex = r"\d{1,18}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    patch_serializer_class = None

    def get_queryset(self):
        model = self.serializer_class.Meta.model
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return model.objects.none()
        return self.visible(model.objects.all())

    def visible(self, queryset):
        return queryset

    def get_object(self):
        return visible_or_404(self.get_queryset(), self.kwargs["pk"])

    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        fast = columns(queryset.model)
        if fast is None:
            page = self.paginate_queryset(queryset)
            return self.get_paginated_response([payload(o) for o in page])
        page = self.paginate_queryset(queryset.values_list(*fast.attnames))
        return self.get_paginated_response([fast.payload(row) for row in page])

    def retrieve(self, request, pk=None):
        return Response(payload(self.get_object()))

    def create(self, request):
        obj = self.do_create(_validated(self.serializer_class, _body(request)))
        return Response(payload(obj), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        obj = self.get_object()
        version = require_version(_body(request))
        data = _validated(self.patch_serializer_class or self.serializer_class, request.data, partial=True)
        return Response(payload(self.do_update(obj, version, data)))

    def destroy(self, request, pk=None):
        self.do_delete(self.get_object(), _version_param(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    # subclasses: call the one service of each write with by=self.request.user
    def do_create(self, data):
        raise NotImplementedError

    def do_update(self, obj, version, data):
        raise NotImplementedError

    def do_delete(self, obj, version):
        raise NotImplementedError


class _ProjectScoped(PlanningViewSet):
    """Rows of one project: visible with any planning role on it."""

    def visible(self, queryset):
        ids = P.visible_project_ids(self.request.user)
        return queryset if ids is None else queryset.filter(project_id__in=ids)
