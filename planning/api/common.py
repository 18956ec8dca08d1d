"""Parsing helpers and the generic planning viewset every endpoint builds on."""

from django.utils.translation import gettext as _
from rest_framework import status, viewsets
from rest_framework.response import Response

from contorl import ratelimits
from contorl.accounts.permissions import is_admin
from contorl.errors import Forbidden, NotFound, ValidationFailed
from contorl.versioning import require_version

from .. import permissions as P
from ..payloads import payload


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


def _no_such(name: str, raw) -> ValidationFailed:
    # Same answer for "no such row" and "not yours": ids of invisible rows never leak.
    return ValidationFailed.field(name, _('Invalid pk "%(pk)s" - object does not exist.') % {"pk": raw})


# --- the generic viewset -----------------------------------------------------------------


class PlanningViewSet(ratelimits.RateLimitedViewMixin, viewsets.GenericViewSet):
    """list / retrieve / create / partial_update / destroy over one model. Subclasses say
    who may see (`visible`), who may write (`check_write`) and which service writes."""

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
        obj = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if obj is None:
            raise NotFound()
        return obj

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([payload(o) for o in page])

    def retrieve(self, request, pk=None):
        return Response(payload(self.get_object()))

    def create(self, request):
        data = _validated(self.serializer_class, _body(request))
        self.check_write(None, data)
        obj = self.do_create(data)
        return Response(payload(obj), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        obj = self.get_object()
        version = require_version(_body(request))
        data = _validated(self.patch_serializer_class or self.serializer_class, request.data, partial=True)
        self.check_write(obj, data)
        obj = self.do_update(obj, version, data)
        return Response(payload(obj))

    def destroy(self, request, pk=None):
        obj = self.get_object()
        self.check_write(obj, {})
        self.do_delete(obj, _version_param(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    # subclasses
    def check_write(self, obj, data) -> None:
        raise Forbidden()

    def do_create(self, data):
        raise NotImplementedError

    def do_update(self, obj, version, data):
        raise NotImplementedError

    def do_delete(self, obj, version):
        raise NotImplementedError


class _ProjectScoped(PlanningViewSet):
    """Rows of one project: visible with any planning role on it, written by `write_role`."""

    write_role = P.PLANNER

    def visible(self, queryset):
        ids = P.visible_project_ids(self.request.user)
        return queryset if ids is None else queryset.filter(project_id__in=ids)

    def _project_for_create(self, data):
        project = data["project"]
        if P.project_role(self.request.user, project) is None:
            raise _no_such("project", project.pk)
        return project

    def check_write(self, obj, data):
        project = obj.project if obj is not None else self._project_for_create(data)
        P.require_project(self.request.user, project, self.write_role)


def _has_any_grant(user) -> bool:
    return is_admin(user) or bool(P._grants(user))
