"""Server-rendered planning pages: the assignment calendar, plan vs actual, the timesheet.

The calendar and the timesheet render their frame and page data; their scripts then talk to
/api/planning/ and to the project sockets. Plan vs actual is rendered whole on the server (the
table and an SVG chart), so it reads and prints without JavaScript.
"""

import datetime
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from contorl.errors import NotFound, ValidationFailed
from tasks.models import Project

from . import permissions as P
from . import reports
from .api.reports import report_scope
from .models import ProjectPhase, Worker, WorkerType


def _monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def _projects(user) -> list[dict]:
    ids = P.visible_project_ids(user)  # None: all (administrators)
    projects = Project.objects.order_by("key") if ids is None else Project.objects.filter(pk__in=ids).order_by("key")
    return [{"id": p.pk, "key": p.key, "name": p.name, "role": P.project_role(user, p)} for p in projects]


@login_required
def calendar_page(request):
    projects = _projects(request.user)
    page = {
        "today": datetime.date.today().isoformat(),
        "start": _monday(datetime.date.today()).isoformat(),
        "max_days": reports.MAX_CAPACITY_DAYS,
        "projects": projects,
        "worker_types": list(WorkerType.objects.order_by("name").values("id", "name")),
        "phases": list(
            ProjectPhase.objects.filter(project_id__in=[p["id"] for p in projects])
            .order_by("project_id", "order", "id")
            .values("id", "name", "project_id")
        ),
    }
    return render(request, "planning/calendar.html", {"page_data": page})


@login_required
def timesheet_page(request):
    me = Worker.objects.filter(user=request.user).first()
    projects = _projects(request.user)
    page = {
        "today": datetime.date.today().isoformat(),
        "start": _monday(datetime.date.today()).isoformat(),
        "worker": me.pk if me else None,
        "worker_name": me.name if me else None,
        "projects": projects,
        "phases": list(
            ProjectPhase.objects.filter(project_id__in=[p["id"] for p in projects])
            .order_by("project_id", "order", "id")
            .values("id", "name", "project_id")
        ),
    }
    return render(request, "planning/timesheet.html", {"page_data": page, "worker": me})


class _Query:
    """What planning.api.reports.report_scope reads, for a plain Django request."""

    def __init__(self, request, params):
        self.query_params, self.user = params, request.user


CHART_W, CHART_H, PAD_L, PAD_B, PAD_T = 760, 260, 56, 44, 16


def _chart(weeks: list[dict]) -> dict | None:
    """Cumulative planned and actual hours per week as SVG polyline points (server-drawn)."""
    if not weeks:
        return None
    planned = [Decimal(w["cumulative_planned_hours"]) for w in weeks]
    actual = [Decimal(w["cumulative_actual_hours"]) for w in weeks]
    top = max([*planned, *actual, Decimal(1)])
    inner_w, inner_h = CHART_W - PAD_L - 44, CHART_H - PAD_B - PAD_T  # room for the last week's bars
    step = inner_w / max(1, len(weeks) - 1)

    def points(values):
        return " ".join(
            f"{PAD_L + i * step:.1f},{PAD_T + inner_h - float(v / top) * inner_h:.1f}" for i, v in enumerate(values)
        )

    ticks = [{"y": PAD_T + inner_h - inner_h * f, "label": f"{float(top) * f:,.0f}"} for f in (0, 0.25, 0.5, 0.75, 1)]
    labels = [{"x": PAD_L + i * step, "text": w["week"].split("-")[-1]} for i, w in enumerate(weeks)]
    bars = []
    bar_w = max(4.0, min(24.0, step * 0.35)) if len(weeks) > 1 else 24.0
    week_top = max([Decimal(w["planned_hours"]) for w in weeks] + [Decimal(w["actual_hours"]) for w in weeks] + [1])
    for i, w in enumerate(weeks):
        x = PAD_L + i * step
        for offset, key, css in ((-bar_w, "planned_hours", "bar-planned"), (0, "actual_hours", "bar-actual")):
            h = float(Decimal(w[key]) / week_top) * inner_h * 0.5
            bars.append({"x": x + offset, "y": PAD_T + inner_h - h, "w": bar_w, "h": h, "class": css, "title": w[key]})
    return {
        "width": CHART_W,
        "height": CHART_H,
        "planned": points(planned),
        "actual": points(actual),
        "ticks": ticks,
        "labels": labels,
        "bars": bars,
        "axis_x": PAD_L,
        "axis_y": PAD_T + inner_h,
        "right": CHART_W - 12,
    }


@login_required
def plan_vs_actual_page(request):
    from .models import Portfolio, Program

    user = request.user
    scopes = {
        "portfolios": list(P.visible_portfolios(user).order_by("name").values("id", "name")),
        "programs": list(P.visible_programs(user).order_by("name").values("id", "name")),
        "projects": _projects(user),
    }
    report, error, query = None, None, ""
    given = {k: request.GET.get(k) for k in ("portfolio", "program", "project", "phase") if request.GET.get(k)}
    kind, _sep, pk = request.GET.get("scope", "").partition(":")  # the page's own select: "program:3"
    if not given and kind in ("portfolio", "program", "project") and pk:
        given = {kind: pk}
    if not given and scopes["portfolios"]:
        given = {"portfolio": str(scopes["portfolios"][0]["id"])}
    if given:
        params = request.GET.copy()
        params.pop("scope", None)
        for key, value in given.items():  # QueryDict.update would append, not replace
            params[key] = value
        shim = _Query(request, params)
        try:
            scope, projects, phase = report_scope(shim)
            report = reports.plan_vs_actual(
                projects=projects,
                phase=phase,
                start=reports.parse_date(shim.query_params, "start"),
                end=reports.parse_date(shim.query_params, "end"),
            )
            report["scope"] = scope
            name_of = {"portfolio": Portfolio, "program": Program, "project": Project, "phase": ProjectPhase}
            obj = name_of[scope["type"]].objects.filter(pk=scope["id"]).first()
            report["scope_name"] = str(getattr(obj, "name", obj))
            query = params.urlencode()
        except NotFound as exc:
            raise Http404 from exc
        except ValidationFailed as exc:
            error = exc.message or _("The report could not be made.")
    return render(
        request,
        "planning/plan_vs_actual.html",
        {
            "scopes": scopes,
            "report": report,
            "chart": _chart(report["weeks"]) if report else None,
            "error": error,
            "given": given,
            "query": query,
        },
    )
