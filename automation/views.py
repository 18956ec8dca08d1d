"""Pages of the automation app: a project's triggers (list, editor, execution log) and its
weekly report. Pages render the first state; static/automation/triggers.js talks to the API."""

import datetime

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from contorl.errors import ValidationFailed
from tasks import permissions as perms
from tasks.models import CustomField, Project, ProjectMember, Status, Task

from . import reports, rules, selectors
from .api import trigger_payload
from .models import Trigger


def _visible_project(request, project_id: int) -> Project:
    project = Project.objects.filter(pk=project_id).first()
    if project is None or not perms.can_view_project(request.user, project):
        raise Http404
    return project


@login_required
def triggers_page(request, project_id: int):
    project = _visible_project(request, project_id)
    is_owner = perms.is_project_owner(request.user, project)
    triggers = list(selectors.project_triggers(project))
    statuses = list(Status.objects.filter(project=project).order_by("order", "id").values("id", "name"))
    members = [
        {"id": m.user_id, "username": m.user.username, "role": m.role}
        for m in ProjectMember.objects.filter(project=project).select_related("user").order_by("user__username")
    ]
    fields = list(CustomField.objects.filter(project=project).order_by("order", "id").values("key", "name", "type"))
    page_data = {
        "project": {"id": project.pk, "key": project.key, "name": project.name},
        "is_owner": is_owner,
        "triggers": [trigger_payload(t, show_secret=is_owner) for t in triggers],
        "events": [{"value": v, "label": str(label)} for v, label in Trigger.Event.choices],
        "statuses": statuses,
        "members": members,
        "custom_fields": fields,
    }
    return render(
        request,
        "automation/triggers.html",
        {
            "project": project,
            "is_owner": is_owner,
            "triggers": triggers,
            "statuses": statuses,
            "members": members,
            "custom_fields": fields,
            "fields": list(rules.FIELD_TYPES),
            "settable": rules.SETTABLE,
            "ops": rules.OPS,
            "events": Trigger.Event.choices,
            "page_data": page_data,
        },
    )


def _latest_week_with_data(project) -> str | None:
    """The ISO week of the project's latest task change (not in the future), or None.

    A fresh project has all its activity in the current week, so the previous week, the
    delivered report's default, would open on an empty page."""
    latest = (
        Task.history.model.objects.filter(project_id=project.pk, history_date__lte=timezone.now())
        .order_by("-history_date")
        .values_list("history_date", flat=True)
        .first()
    )
    if latest is None:
        return None
    day = timezone.localdate(latest)
    return reports.week_label(day - datetime.timedelta(days=day.weekday()))


@login_required
def weekly_report_page(request, project_id: int):
    project = _visible_project(request, project_id)
    latest = _latest_week_with_data(project)
    week = request.GET.get("week") or latest
    error = None
    try:
        report = reports.weekly_report(project, week)
    except ValidationFailed as exc:
        error = exc.message
        report = reports.weekly_report(project, latest)
    label, monday = reports.parse_week(report["week"])
    prev_label = reports.week_label(monday - datetime.timedelta(days=7))
    next_label = reports.week_label(monday + datetime.timedelta(days=7))
    return render(
        request,
        "automation/weekly_report.html",
        {
            "project": project,
            "report": report,
            "chart": reports.chart(report),
            "error": error,
            "prev_week": prev_label,
            "next_week": next_label,
            "latest_week": latest,
            "week_start": monday,
            "week_end": monday + datetime.timedelta(days=6),
        },
        status=400 if error else 200,
    )
