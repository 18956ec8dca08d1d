"""Capacity and plan-vs-actual reports (JSON and CSV)."""

import csv
import io

from django import forms
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from contorl import ratelimits
from contorl.errors import NotFound, ValidationFailed
from contorl.filters import StrictNullBooleanField
from contorl.lookups import visible_or_404
from contorl.pagination import StandardPagination

from .. import filters, reports
from .. import permissions as P
from ..models import Portfolio, Program, ProjectLink, ProjectPhase, Worker
from .schema import CapacityOut, PlanVsActualOut


def _flag(query, name: str) -> bool:
    try:
        return bool(StrictNullBooleanField(required=False).clean(query.get(name)))
    except forms.ValidationError as exc:
        raise ValidationFailed.field(name, exc.messages[0]) from None


class CapacityView(ratelimits.RateLimitedViewMixin, APIView):
    """Per worker per day: capacity (weekly / 5, minus leave), assigned hours, over-allocation."""

    pagination_class = StandardPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="YYYY-MM-DD"),
            OpenApiParameter(
                "end", str, required=True, description=f"YYYY-MM-DD, at most {reports.MAX_CAPACITY_DAYS} days"
            ),
            OpenApiParameter("worker", int),
            OpenApiParameter("worker_type", int),
            OpenApiParameter("department", int),
            OpenApiParameter("project", int, description="only workers assigned to this project in the range"),
            OpenApiParameter("over_allocated", bool, description="only workers over-allocated on some day"),
            OpenApiParameter(
                "compact",
                bool,
                description="each row's distinct cells once (`cells`) and per day the index of its cell "
                "(`day_cells`) instead of `days` (what the assignment calendar reads)",
            ),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: CapacityOut},
    )
    def get(self, request):
        q = request.query_params
        start, end = reports.parse_date(q, "start"), reports.parse_date(q, "end")
        compact, over_only = _flag(q, "compact"), _flag(q, "over_allocated")
        if start is None or end is None:
            raise ValidationFailed(
                _("start and end are required."), details={"start": ["YYYY-MM-DD"], "end": ["YYYY-MM-DD"]}
            )
        if end < start or (end - start).days >= reports.MAX_CAPACITY_DAYS:
            raise ValidationFailed.field("end", _("The end must be after the start, at most 92 days later."))
        # What a row shows of its worker, nothing more: four timestamps a row cost more to read
        # than its days did to compute.
        workers = Worker.objects.only(*reports.CAPACITY_WORKER_FIELDS).order_by("name", "id")
        filterset = filters.WorkerFilter(q, queryset=workers)
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        workers = filterset.qs
        project = q.get("project")
        if project not in (None, ""):
            if not str(project).isdigit() or P.project_role(request.user, int(project)) is None:
                raise P.no_such("project", project)
            workers = workers.filter(
                assignments__project_id=int(project),
                assignments__is_deleted=False,
                assignments__start__lte=end,
                assignments__end__gte=start,
            ).distinct()
        if not P.has_any_grant(request.user):
            workers = workers.filter(user_id=request.user.pk)
        rows = reports.capacity(list(workers), start, end, compact=compact)
        if over_only:
            rows = [r for r in rows if r["over_allocated_days"]]
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        response = paginator.get_paginated_response(page)
        response.data["start"], response.data["end"] = start.isoformat(), end.isoformat()
        return response


def report_scope(request) -> tuple[dict, list[int], ProjectPhase | None]:
    """?project= | ?phase= | ?program= | ?portfolio= -> (scope, project ids, phase)."""
    given = {k: request.query_params.get(k) for k in ("project", "phase", "program", "portfolio")}
    given = {k: v for k, v in given.items() if v not in (None, "")}
    if len(given) != 1:
        raise ValidationFailed.field("scope", _("Give exactly one of project, phase, program or portfolio."))
    kind, raw = next(iter(given.items()))
    if not str(raw).isdigit() or not 0 < int(raw) <= 2**62:
        raise ValidationFailed.field(kind, _("A valid id is required."))
    pk, user, phase = int(raw), request.user, None
    if kind == "phase":
        phase = visible_or_404(ProjectPhase.objects, pk, may_see=lambda ph: P.project_role(user, ph.project_id))
        projects = [phase.project_id]
    elif kind == "project":
        if P.project_role(user, pk) is None:
            raise NotFound()
        projects = [pk]
    elif kind == "program":
        visible_or_404(Program.objects, pk, may_see=lambda program: P.program_role(user, program))
        projects = list(ProjectLink.objects.filter(program_id=pk).values_list("project_id", flat=True))
    else:
        visible_or_404(Portfolio.objects, pk, may_see=lambda portfolio: P.portfolio_role(user, portfolio.pk))
        projects = list(
            ProjectLink.objects.filter(program__portfolio_id=pk, program__is_deleted=False).values_list(
                "project_id", flat=True
            )
        )
    return {"type": kind, "id": pk}, projects, phase


_REPORT_PARAMS = [
    OpenApiParameter("project", int),
    OpenApiParameter("phase", int),
    OpenApiParameter("program", int),
    OpenApiParameter("portfolio", int),
    OpenApiParameter("start", str, description="YYYY-MM-DD (default: first planned or worked day)"),
    OpenApiParameter("end", str, description="YYYY-MM-DD (default: last planned or worked day)"),
]


def _plan_vs_actual(request) -> dict:
    scope, projects, phase = report_scope(request)
    q = request.query_params
    report = reports.plan_vs_actual(
        projects=projects, phase=phase, start=reports.parse_date(q, "start"), end=reports.parse_date(q, "end")
    )
    return {"scope": scope, "projects": projects, **report}


class PlanVsActualView(ratelimits.RateLimitedViewMixin, APIView):
    """Planned vs actual vs remaining hours and cost per ISO week, for one scope."""

    @extend_schema(parameters=_REPORT_PARAMS, responses={200: PlanVsActualOut})
    def get(self, request):
        return Response(_plan_vs_actual(request))


class PlanVsActualCsvView(ratelimits.RateLimitedViewMixin, APIView):
    """The same report as CSV (heavy tier, like every export)."""

    rate_tier = ratelimits.HEAVY

    @extend_schema(parameters=_REPORT_PARAMS, responses={(200, "text/csv"): str})
    def get(self, request):
        report = _plan_vs_actual(request)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in reports.plan_vs_actual_csv_rows(report):
            writer.writerow(row)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        name = f"plan-vs-actual-{report['scope']['type']}-{report['scope']['id']}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
