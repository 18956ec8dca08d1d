"""Server-rendered pages of projects and tasks, plus the workload API.

Pages render the first state (so they work before any JS runs and load fast); the small
scripts under static/tasks/ then talk to the REST API (window.contorl.api) and the project
socket. Invisible projects and tasks are 404 here exactly as in the API.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from contorl.accounts.permissions import is_admin
from contorl.errors import NotFound
from contorl.lookups import visible_or_404
from contorl.ratelimits import RateLimitedViewMixin

from . import permissions, selectors, workload
from .models import CustomField, Project, ProjectMember, Task


def _priority_labels():
    return [
        (0, _("None")),
        (1, _("Low")),
        (2, _("Normal")),
        (3, _("High")),
        (4, _("Urgent")),
    ]


def _page_lookup(queryset, pk, *, may_see):
    """visible_or_404 for a page: Django's 404 page, not the API's JSON envelope."""
    try:
        return visible_or_404(queryset, pk, may_see=may_see)
    except NotFound:
        raise Http404 from None


def _visible_project(request, project_id: int) -> Project:
    return _page_lookup(
        selectors.project_page_lookup(),
        project_id,
        may_see=lambda project: permissions.can_view_project(request.user, project),
    )


def _project_context(request, project: Project) -> dict:
    role = permissions.project_role(request.user, project)
    members = list(selectors.project_members(project))
    member_users = [
        {"id": m.user_id, "username": m.user.username, "display_name": m.user.display_name} for m in members
    ]
    fields = selectors.project_custom_fields(project)
    return {
        "project": project,
        "role": role,
        "can_edit": permissions.can_edit_project(request.user, project),
        "is_owner": permissions.is_project_owner(request.user, project),
        "priorities": _priority_labels(),
        "page_data": {
            "project": selectors.project_payload(project),
            "role": role,
            "can_edit": permissions.can_edit_project(request.user, project),
            "is_owner": permissions.is_project_owner(request.user, project),
            "members": member_users,
            "custom_fields": [
                {"id": f.pk, "key": f.key, "name": f.name, "type": f.type, "options": f.options, "formula": f.formula}
                for f in fields
            ],
            "me": {"id": request.user.pk, "username": request.user.username},
        },
    }


@login_required
def project_list(request):
    projects = list(selectors.project_list(user=request.user).select_related("department"))
    templates = selectors.template_choices()
    return render(
        request,
        "tasks/project_list.html",
        {
            "projects": projects,
            "templates": templates,
            "page_data": {"templates": templates},
        },
    )


@login_required
def board(request, project_id: int):
    project = _visible_project(request, project_id)
    context = _project_context(request, project)
    context["page_data"]["board"] = selectors.board(project)
    context["view"] = "board"
    return render(request, "tasks/board.html", context)


@login_required
def task_list(request, project_id: int):
    project = _visible_project(request, project_id)
    context = _project_context(request, project)
    context["page_data"]["board"] = selectors.board(project)
    context["view"] = "list"
    return render(request, "tasks/task_list.html", context)


@login_required
def project_settings(request, project_id: int):
    project = _visible_project(request, project_id)
    context = _project_context(request, project)
    context["view"] = "settings"
    context["page_data"]["statuses"] = [selectors.status_payload(s) for s in selectors.project_statuses(project)]
    context["page_data"]["member_rows"] = [
        {
            "id": m.pk,
            "user": m.user_id,
            "username": m.user.username,
            "display_name": m.user.display_name,
            "role": m.role,
            "version": m.version,
        }
        for m in selectors.project_members(project)
    ]
    context["page_data"]["custom_field_rows"] = [
        {
            "id": f.pk,
            "key": f.key,
            "name": f.name,
            "type": f.type,
            "options": f.options,
            "formula": f.formula,
            "version": f.version,
        }
        for f in selectors.project_custom_fields(project)
    ]
    context["page_data"]["all_users"] = selectors.active_user_choices()
    context["roles"] = ProjectMember.Role.choices
    context["field_types"] = CustomField.Type.choices
    return render(request, "tasks/project_settings.html", context)


@login_required
def task_detail(request, task_id: int):
    def may_see(task: Task) -> bool:
        if task.is_deleted:
            # Whoever may restore it (admins, the project's members and owners, as the API
            # allows) sees the page with its restore buttons; everyone else gets a 404.
            return is_admin(request.user) or permissions.can_edit_project(request.user, task.project)
        return permissions.can_view_task(request.user, task)

    task = _page_lookup(selectors.task_page_lookup(), task_id, may_see=may_see)
    project = task.project
    context = _project_context(request, project)
    payload = selectors.task_payload(selectors.task_fresh(task.pk))
    context["task"] = task
    context["page_data"]["task"] = payload
    context["page_data"]["statuses"] = [selectors.status_payload(s) for s in selectors.project_statuses(project)]
    context["page_data"]["is_admin"] = is_admin(request.user)
    return render(request, "tasks/task_detail.html", context)


@login_required
def project_task_redirect(request, project_id: int, task_id: int):
    # Notification links use /projects/<p>/tasks/<t>/; the task page lives at /tasks/<t>/.
    return redirect("tasks:task-detail", task_id=task_id)


def dashboard_context(request) -> dict:
    """The dashboard card: my open tasks, soonest due first (two queries)."""
    mine = selectors.open_tasks_of(request.user)
    return {"tasks": list(mine[:8]), "projects": selectors.project_list(user=request.user).count()}


@login_required
def workload_page(request):
    return render(
        request,
        "tasks/workload.html",
        {
            "departments": workload.department_choices(request.user),
            "max_weeks": workload.MAX_WEEKS,
            "default_weeks": workload.DEFAULT_WEEKS,
        },
    )


class WorkloadView(RateLimitedViewMixin, APIView):
    """GET /api/workload/?department=&start=YYYY-MM-DD&weeks=N (see tasks/workload.py)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("department", int, required=False),
            OpenApiParameter("start", str, required=False, description="YYYY-MM-DD; the Monday of its week is used"),
            OpenApiParameter("weeks", int, required=False, description="1..26, default 8"),
        ],
        responses={200: dict},
    )
    def get(self, request):
        params = workload.parse_params(request.query_params)
        return Response(workload.workload_for(request.user, **params))
