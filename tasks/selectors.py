"""Reads that matter: querysets with their joins/prefetches done, and the one task representation.

`task_payload(task)` is THE task representation: the REST API renders it and every project
event (task_created, task_updated, ...) carries it, so the board sees exactly what the API
returns. Querysets from `tasks_with_payload_data()` carry everything it needs, so rendering
N tasks costs a constant number of queries.
"""

import math
import re

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce
from django.urls import reverse

from contorl.accounts.models import User
from contorl.errors import ValidationFailed
from contorl.payloads import JsonText, TimestampText, json_value, timestamp, user_brief
from contorl.prepared import PreparedLookup

from .models import (
    Attachment,
    Comment,
    CustomField,
    Project,
    ProjectMember,
    ProjectTemplate,
    Status,
    Task,
    TaskDependency,
)
from .permissions import visible_projects, visible_tasks, with_member_role

FIELD_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _date(value):
    return value.isoformat() if value else None


def _live_subtask_count():
    live_children = (
        Task.objects.filter(parent=OuterRef("pk")).order_by().values("parent").annotate(c=Count("pk")).values("c")
    )
    return Coalesce(Subquery(live_children, output_field=IntegerField()), Value(0))


def tasks_with_payload_data(qs: QuerySet | None = None, *, dependencies: bool = True) -> QuerySet:
    """Annotate/prefetch what task_payload() reads: constant queries for any number of tasks.

    `dependencies=False`: not the dependencies (a caller about to change them reads them
    afterwards with live_dependencies())."""
    qs = Task.objects.all() if qs is None else qs
    qs = qs.select_related("assignee").annotate(live_subtask_count=_live_subtask_count())
    if not dependencies:
        return qs
    return qs.prefetch_related(Prefetch("dependencies", queryset=_live_dependencies(), to_attr="live_dependencies"))


def _live_dependencies() -> QuerySet:
    return TaskDependency.objects.filter(depends_on__is_deleted=False).only("id", "task_id", "depends_on_id")


# One task's live dependencies, as tasks_with_payload_data() prefetches them (in id order);
# compiled once (contorl.prepared): a PATCH and an added dependency read them.
_LIVE_DEPENDENCIES_OF = PreparedLookup(lambda task_id: _live_dependencies().filter(task_id=task_id).order_by("id"))


def live_dependencies(task: Task) -> list[TaskDependency]:
    """What tasks_with_payload_data() prefetches as `live_dependencies`, for one task."""
    return _LIVE_DEPENDENCIES_OF(task_id=task.pk)


def has_payload_data(task: Task, *, dependencies: bool = True) -> bool:
    """Was `task` read through tasks_with_payload_data() (with its `dependencies`)? Then a write
    that changed only its own columns can build the payload from it without reading the row
    again."""
    return hasattr(task, "live_subtask_count") and (not dependencies or hasattr(task, "live_dependencies"))


def task_payload(task: Task) -> dict:
    """The task representation used by the API and by every project event."""
    count = getattr(task, "live_subtask_count", None)
    if count is None:
        count = Task.objects.filter(parent_id=task.pk).count()
    deps = getattr(task, "live_dependencies", None)
    if deps is None:
        depends_on = list(
            TaskDependency.objects.filter(task_id=task.pk, depends_on__is_deleted=False)
            .order_by("id")
            .values_list("depends_on_id", flat=True)
        )
    else:
        depends_on = [d.depends_on_id for d in deps]
    return {
        "id": task.pk,
        "project": task.project_id,
        "title": task.title,
        "description": task.description,
        "status": task.status_id,
        "assignee": task.assignee_id,
        "assignee_detail": user_brief(task.assignee) if task.assignee_id else None,
        "priority": task.priority,
        "start_date": _date(task.start_date),
        "due_date": _date(task.due_date),
        "estimated_hours": float(task.estimated_hours) if task.estimated_hours is not None else None,
        "parent": task.parent_id,
        "subtask_count": count,
        "position": task.position,
        "custom_fields": task.custom_fields or {},
        "custom_field_errors": task.custom_field_errors or {},
        "depends_on": depends_on,
        "version": task.version,
        "is_deleted": task.is_deleted,
        "deleted_at": timestamp(task.deleted_at),
        "deleted_by": task.deleted_by_id,
        "created_at": timestamp(task.created_at),
        "updated_at": timestamp(task.updated_at),
    }


def task_fresh(task_id: int) -> Task:
    """Reload one task (deleted or not) with everything task_payload needs."""
    return tasks_with_payload_data(Task.all_objects.filter(pk=task_id)).get()


def project_payload(project: Project) -> dict:
    return {
        "id": project.pk,
        "name": project.name,
        "key": project.key,
        "department": project.department_id,
        "description": project.description,
        "archived": project.archived,
        "version": project.version,
        "created_at": timestamp(project.created_at),
        "updated_at": timestamp(project.updated_at),
    }


def status_payload(status: Status) -> dict:
    return {
        "id": status.pk,
        "project": status.project_id,
        "name": status.name,
        "color": status.color,
        "order": status.order,
        "is_done": status.is_done,
        "version": status.version,
    }


# --- lists ---------------------------------------------------------------------------------


def project_list(*, user) -> QuerySet:
    return visible_projects(user).order_by("name", "id")


def task_list(
    *,
    user,
    project: int | None = None,
    status: int | None = None,
    assignee: int | None = None,
    parent: int | None = None,
    include_deleted: bool = False,
    deleted_only: bool = False,
    custom_filters: dict | None = None,
    ordering: str | None = None,
) -> QuerySet:
    """Tasks `user` may see, filtered; ready for task_payload. include_deleted counts for admins only.

    `custom_filters` {field_key: "value"} matches stored custom values (text or number);
    `ordering` is a built-in field or `cf_<key>` (stored formula/custom values), `-` for descending.
    """
    qs = visible_tasks(user, include_deleted=include_deleted or deleted_only)
    if deleted_only:
        qs = qs.filter(is_deleted=True)
    if project is not None:
        qs = qs.filter(project_id=project)
    if status is not None:
        qs = qs.filter(status_id=status)
    if assignee is not None:
        qs = qs.filter(assignee_id=assignee)
    if parent is not None:
        qs = qs.filter(parent_id=parent)
    for key, raw in (custom_filters or {}).items():
        if not FIELD_KEY_RE.fullmatch(key):
            raise ValidationFailed.field(f"cf_{key}", "Unknown custom field key.")
        match = Q(**{f"custom_fields__{key}": raw[:1000]})
        try:
            number = float(raw)
        except ValueError:
            number = None
        if number is not None and math.isfinite(number):
            match |= Q(**{f"custom_fields__{key}": int(number) if number.is_integer() else number})
            if number.is_integer():
                match |= Q(**{f"custom_fields__{key}": number})
        qs = qs.filter(match)
    order = ["project_id", "status__order", "position", "id"]
    if ordering:
        desc = ordering.startswith("-")
        name = ordering.lstrip("-")
        if name.startswith("cf_") and FIELD_KEY_RE.fullmatch(name[3:]):
            expr = KeyTransform(name[3:], "custom_fields")
            order = [expr.desc(nulls_last=True) if desc else expr.asc(nulls_last=True), "id"]
        elif name in ORDERABLE:
            order = [f"-{name}" if desc else name, "id"]
        else:
            raise ValidationFailed.field("ordering", f"Order by one of {', '.join(ORDERABLE)} or cf_<key>.")
    return tasks_with_payload_data(qs).order_by(*order)


ORDERABLE = ("position", "priority", "due_date", "start_date", "estimated_hours", "created_at", "updated_at", "title")


# --- lookups: what the API narrows to one row with contorl.lookups.visible_or_404 -----------


def project_page_lookup() -> QuerySet:
    return Project.objects.select_related("department")


def task_page_lookup() -> QuerySet:
    """Every task, deleted ones too, with what the task page shows beside it."""
    return Task.all_objects.select_related("project", "status", "assignee", "parent")


def task_lookup() -> QuerySet:
    """Every task, deleted ones too, with the project its permission check reads."""
    return Task.all_objects.select_related("project")


def _task_for_request(*, payload_data: bool, dependencies: bool) -> PreparedLookup:
    def build(pk, user_id):
        lookup = with_member_role(task_lookup(), user_id)
        if payload_data:
            lookup = tasks_with_payload_data(lookup, dependencies=False)
        return lookup.filter(pk=pk).order_by()[:1]

    attach = {"live_dependencies": _LIVE_DEPENDENCIES_OF} if payload_data and dependencies else None
    return PreparedLookup(build, attach=attach)


# The task an API request names (pk=, user_id=), with the caller's project role: every task
# request reads it, and a PATCH with what its answer needs (compiled once: contorl.prepared).
TASK_FOR_REQUEST = {
    (payload_data, dependencies): _task_for_request(payload_data=payload_data, dependencies=dependencies)
    for payload_data, dependencies in ((False, False), (True, True), (True, False))
}


def status_lookup() -> QuerySet:
    return Status.objects.select_related("project")


def custom_field_lookup() -> QuerySet:
    return CustomField.objects.select_related("project")


def comment_lookup() -> QuerySet:
    return Comment.objects.select_related("task__project", "author").prefetch_related(Prefetch("mentions"))


def attachment_lookup() -> QuerySet:
    return Attachment.objects.select_related("task__project", "uploaded_by")


def template_list() -> QuerySet:
    return ProjectTemplate.objects.all()


def project_member(project: Project, user_id) -> ProjectMember | None:
    return ProjectMember.objects.select_related("user", "project").filter(project=project, user_id=user_id).first()


_LIVE_TASK_IN_PROJECT = PreparedLookup(
    lambda pk, project_id: Task.objects.filter(pk=pk, project_id=project_id).order_by()[:1]
)


def live_task_in_project(project_id: int, task_id: int) -> Task | None:
    """A live task of the project by id (the other end of a new dependency)."""
    found = _LIVE_TASK_IN_PROJECT(pk=task_id, project_id=project_id)
    return found[0] if found else None


def task_dependencies(task: Task) -> QuerySet:
    return TaskDependency.objects.filter(task=task).select_related("depends_on").order_by("id")


def task_dependency(task: Task, depends_on_id) -> TaskDependency | None:
    dependency = TaskDependency.objects.filter(task=task, depends_on_id=depends_on_id).first()
    if dependency is not None:
        dependency.task = task  # the caller's row, project loaded: no second read
    return dependency


def dependency_payload(dep: TaskDependency) -> dict:
    return {
        "id": dep.pk,
        "task": dep.task_id,
        "depends_on": dep.depends_on_id,
        "depends_on_title": dep.depends_on.title,
        "depends_on_deleted": dep.depends_on.is_deleted,
        "created_at": timestamp(dep.created_at),
    }


def template_choices() -> list[dict]:
    return list(ProjectTemplate.objects.order_by("name").values("id", "name"))


def active_user_choices() -> list[dict]:
    return list(User.objects.filter(is_active=True).order_by("username").values("id", "username"))


def open_tasks_of(user) -> QuerySet:
    """Tasks assigned to `user` in a not-done column, soonest due first."""
    return (
        Task.objects.filter(assignee=user, status__is_done=False)
        .select_related("project", "status")
        .order_by(F("due_date").asc(nulls_last=True), "id")
    )


def project_statuses(project: Project) -> QuerySet:
    return Status.objects.filter(project=project).order_by("order", "id")


def project_members(project: Project) -> QuerySet:
    return ProjectMember.objects.filter(project=project).select_related("user").order_by("user__username")


def project_custom_fields(project: Project | int) -> list[CustomField]:
    return list(CustomField.objects.filter(project=project).order_by("order", "id"))


# The columns task_payload() reads, fetched as tuples: a board of thousands of tasks would
# otherwise spend most of its time building model instances it throws away at once.
_ROW_FIELDS = (
    "id", "project_id", "title", "description", "status_id", "assignee_id", "assignee__username",
    "assignee__first_name", "assignee__last_name", "priority", "start_date", "due_date", "estimated_hours",
    "parent_id", "position", "custom_fields_text", "custom_field_errors_text", "version", "is_deleted",
    "deleted_at_text", "deleted_by_id", "created_at_text", "updated_at_text",
)  # fmt: skip
# ... with the JSON and timestamp columns as text, which the payload mostly takes as it is.
_ROW_TEXT = {
    "custom_fields_text": JsonText("custom_fields"),
    "custom_field_errors_text": JsonText("custom_field_errors"),
    "deleted_at_text": TimestampText("deleted_at"),
    "created_at_text": TimestampText("created_at"),
    "updated_at_text": TimestampText("updated_at"),
}


def _payload_from_row(row: tuple, subtask_count: int, depends_on: dict) -> dict:
    (pk, project_id, title, description, status_id, assignee_id, username, first, last, priority, start, due,
     hours, parent_id, position, custom, errors, version, is_deleted, deleted_at, deleted_by_id, created,
     updated) = row  # fmt: skip
    assignee = None
    if assignee_id:
        assignee = {"id": assignee_id, "username": username, "display_name": f"{first} {last}".strip() or username}
    return {
        "id": pk,
        "project": project_id,
        "title": title,
        "description": description,
        "status": status_id,
        "assignee": assignee_id,
        "assignee_detail": assignee,
        "priority": priority,
        "start_date": _date(start),
        "due_date": _date(due),
        "estimated_hours": float(hours) if hours is not None else None,
        "parent": parent_id,
        "subtask_count": subtask_count,
        "position": position,
        "custom_fields": json_value(custom),
        "custom_field_errors": json_value(errors),
        "depends_on": depends_on.get(pk, []),
        "version": version,
        "is_deleted": is_deleted,
        "deleted_at": deleted_at,
        "deleted_by": deleted_by_id,
        "created_at": created,
        "updated_at": updated,
    }


def project_task_payloads(project: Project) -> list[dict]:
    """task_payload() of every live task of a project, by position: two queries in all."""
    depends_on: dict[int, list[int]] = {}
    edges = TaskDependency.objects.filter(task__project=project, task__is_deleted=False, depends_on__is_deleted=False)
    for task_id, target in edges.order_by("id").values_list("task_id", "depends_on_id"):
        depends_on.setdefault(task_id, []).append(target)
    rows = (
        Task.objects.filter(project=project)
        .annotate(live_subtask_count=_live_subtask_count(), **_ROW_TEXT)
        .order_by("position", "id")
        .values_list(*_ROW_FIELDS, "live_subtask_count")
    )
    return [_payload_from_row(row[:-1], row[-1], depends_on) for row in rows]


def board(project: Project) -> dict:
    """`{"project": {...}, "statuses": [{..., "tasks": [...]}]}` in 3 queries, whatever the task count.

    Every live task (subtasks too) appears in its status column ordered by position;
    the client nests by `parent` if it wants to.
    """
    statuses = list(project_statuses(project))
    columns = {s.pk: {**status_payload(s), "tasks": []} for s in statuses}
    for payload in project_task_payloads(project):
        column = columns.get(payload["status"])
        if column is not None:
            column["tasks"].append(payload)
    return {"project": project_payload(project), "statuses": list(columns.values())}


def task_comments(task: Task) -> QuerySet:
    return Comment.objects.filter(task=task).select_related("author").prefetch_related("mentions").order_by("id")


def task_attachments(task: Task) -> QuerySet:
    return Attachment.objects.filter(task=task).select_related("uploaded_by").order_by("id")


def attachment_url(attachment: Attachment) -> str:
    return reverse("tasks:api-attachment-download", args=[attachment.pk])


_HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}
_HISTORY_NOISE = {"updated_at", "version", "custom_field_errors"}


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value.__class__.__name__ == "Decimal":
        return float(value)
    return value


def task_history(task: Task) -> list[dict]:
    """Field-level changes, oldest first: [{"version", "type", "at", "by", "changes": [{field, old, new}]}].

    Two queries whatever the length: the history rows (with their users), diffed in memory.
    """
    records = list(task.history.select_related("history_user").order_by("history_date", "history_id"))
    out = []
    previous = None
    for record in records:
        changes = []
        if previous is not None:
            delta = record.diff_against(previous, excluded_fields=_HISTORY_NOISE)
            changes = [{"field": c.field, "old": _plain(c.old), "new": _plain(c.new)} for c in delta.changes]
        elif record.history_type == "+":
            changes = [
                {"field": name, "old": None, "new": _plain(getattr(record, f"{name}_id", getattr(record, name, None)))}
                for name in ("title", "status", "assignee", "priority", "parent")
            ]
        out.append(
            {
                "id": record.history_id,
                "version": record.version,
                "type": _HISTORY_TYPES.get(record.history_type, record.history_type),
                "at": timestamp(record.history_date),
                "by": user_brief(record.history_user),
                "changes": changes,
            }
        )
        previous = record
    return out
