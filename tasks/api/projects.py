"""REST endpoints of projects and what belongs to them: members, statuses, custom fields,
and the shared project templates."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contorl import ratelimits
from contorl.errors import NotFound
from contorl.lookups import visible_or_404
from contorl.versioning import require_version

from .. import selectors, services
from ..models import CustomField, ProjectMember, ProjectTemplate, Status
from ..openapi import BoardOut
from .base import Base, json_body, validated
from .serializers import (
    CustomFieldSerializer,
    MemberSerializer,
    ProjectSerializer,
    SaveAsTemplateSerializer,
    StatusSerializer,
    TemplateSerializer,
)


class ProjectViewSet(Base):
    serializer_class = ProjectSerializer
    # Membership changes are permission changes: the sensitive tier.
    rate_tiers = {
        "members_add": ratelimits.SENSITIVE,
        "member_detail": ratelimits.SENSITIVE,
        "member_remove": ratelimits.SENSITIVE,
    }

    def get_queryset(self):
        qs = selectors.project_list(user=self.request.user)
        if self.request.query_params.get("archived") in ("true", "false"):
            qs = qs.filter(archived=self.request.query_params["archived"] == "true")
        return qs

    def get_object(self):
        return visible_or_404(selectors.project_list(user=self.request.user), self.kwargs["pk"])

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([selectors.project_payload(p) for p in page])

    def retrieve(self, request, pk=None):
        return Response(selectors.project_payload(self.get_object()))

    def create(self, request):
        data = validated(ProjectSerializer, json_body(request))
        project = services.project_create(by=request.user, **data)
        return Response(selectors.project_payload(project), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None, partial=True):
        project = self.get_object()
        version = require_version(json_body(request))
        serializer = ProjectSerializer(project, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        fields = {k: v for k, v in serializer.validated_data.items() if k not in ("key", "template")}
        project = services.project_update(project=project, version=version, by=request.user, **fields)
        return Response(selectors.project_payload(project))

    def update(self, request, pk=None):
        return self.partial_update(request, pk, partial=False)

    def destroy(self, request, pk=None):
        project = self.get_object()
        services.project_delete(project=project, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=BoardOut)
    @action(detail=True, methods=["get"])
    def board(self, request, pk=None):
        return Response(selectors.board(self.get_object()))

    @extend_schema(responses=MemberSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=MemberSerializer)
    def members(self, request, pk=None):
        project = self.get_object()
        return Response([MemberSerializer(m).data for m in selectors.project_members(project)])

    @extend_schema(responses={201: MemberSerializer})
    @members.mapping.post
    def members_add(self, request, pk=None):
        project = self.get_object()
        data = validated(MemberSerializer, json_body(request))
        member = services.member_add(project=project, by=request.user, **data)
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)

    def _member(self, project, user_id) -> ProjectMember:
        member = selectors.project_member(project, user_id)
        if member is None:
            raise NotFound()
        return member

    @action(
        detail=True, methods=["patch"], url_path=r"members/(?P<user_id>\d{1,18})", serializer_class=MemberSerializer
    )
    def member_detail(self, request, pk=None, user_id=None):
        project = self.get_object()
        member = self._member(project, user_id)
        version = require_version(json_body(request))
        role = serializers.ChoiceField(choices=ProjectMember.Role.choices).run_validation(request.data.get("role"))
        member = services.member_update(member=member, role=role, version=version, by=request.user)
        return Response(MemberSerializer(member).data)

    @member_detail.mapping.delete
    def member_remove(self, request, pk=None, user_id=None):
        project = self.get_object()
        member = self._member(project, user_id)
        services.member_remove(member=member, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=StatusSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=StatusSerializer)
    def statuses(self, request, pk=None):
        project = self.get_object()
        return Response([selectors.status_payload(s) for s in selectors.project_statuses(project)])

    @extend_schema(responses={201: StatusSerializer})
    @statuses.mapping.post
    def statuses_create(self, request, pk=None):
        project = self.get_object()
        data = validated(StatusSerializer, json_body(request))
        created = services.status_create(project=project, by=request.user, **data)
        return Response(selectors.status_payload(created), status=status.HTTP_201_CREATED)

    @extend_schema(responses=CustomFieldSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="custom-fields", serializer_class=CustomFieldSerializer)
    def custom_fields(self, request, pk=None):
        project = self.get_object()
        return Response(CustomFieldSerializer(selectors.project_custom_fields(project), many=True).data)

    @extend_schema(responses={201: CustomFieldSerializer})
    @custom_fields.mapping.post
    def custom_fields_create(self, request, pk=None):
        project = self.get_object()
        data = validated(CustomFieldSerializer, json_body(request))
        field = services.custom_field_create(project=project, by=request.user, **data)
        return Response(CustomFieldSerializer(field).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SaveAsTemplateSerializer, responses={201: TemplateSerializer})
    @action(detail=True, methods=["post"], url_path="save-as-template", serializer_class=SaveAsTemplateSerializer)
    def save_as_template(self, request, pk=None):
        project = self.get_object()
        data = validated(SaveAsTemplateSerializer, json_body(request))
        template = services.project_save_as_template(project=project, by=request.user, **data)
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class StatusViewSet(Base):
    """/api/statuses/{id}/: read, PATCH (with version), DELETE - project owners."""

    serializer_class = StatusSerializer
    queryset = Status.objects.none()  # for the schema generator only

    def get_object(self):
        return visible_or_404(selectors.status_lookup(), self.kwargs["pk"], may_see=self.in_visible_project)

    def retrieve(self, request, pk=None):
        return Response(selectors.status_payload(self.get_object()))

    def partial_update(self, request, pk=None):
        obj = self.get_object()
        version = require_version(json_body(request))
        data = validated(StatusSerializer, request.data, partial=True)
        obj = services.status_update(status=obj, version=version, by=request.user, **data)
        return Response(selectors.status_payload(obj))

    def destroy(self, request, pk=None):
        obj = self.get_object()
        services.status_delete(status=obj, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomFieldViewSet(Base):
    """/api/custom-fields/{id}/: read, PATCH (with version), DELETE - project owners."""

    serializer_class = CustomFieldSerializer
    queryset = CustomField.objects.none()  # for the schema generator only

    def get_object(self):
        return visible_or_404(selectors.custom_field_lookup(), self.kwargs["pk"], may_see=self.in_visible_project)

    def retrieve(self, request, pk=None):
        return Response(CustomFieldSerializer(self.get_object()).data)

    def partial_update(self, request, pk=None):
        obj = self.get_object()
        version = require_version(json_body(request))
        data = validated(CustomFieldSerializer, request.data, partial=True)
        data.pop("key", None)  # keys are referenced by formulas and stored values: immutable
        obj = services.custom_field_update(field=obj, version=version, by=request.user, **data)
        return Response(CustomFieldSerializer(obj).data)

    def destroy(self, request, pk=None):
        obj = self.get_object()
        services.custom_field_delete(field=obj, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectTemplateViewSet(Base):
    """Templates are shared: everyone signed in reads them; the creator or an admin edits."""

    serializer_class = TemplateSerializer
    queryset = ProjectTemplate.objects.none()  # for the schema generator only

    def get_queryset(self):
        return selectors.template_list()

    def get_object(self):
        return visible_or_404(selectors.template_list(), self.kwargs["pk"])

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TemplateSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(TemplateSerializer(self.get_object()).data)

    def create(self, request):
        data = validated(TemplateSerializer, json_body(request))
        template = services.template_create(by=request.user, **data)
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        template = self.get_object()
        version = require_version(json_body(request))
        data = validated(TemplateSerializer, request.data, partial=True)
        template = services.template_update(template=template, version=version, by=request.user, **data)
        return Response(TemplateSerializer(template).data)

    def destroy(self, request, pk=None):
        template = self.get_object()
        services.template_delete(template=template, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
