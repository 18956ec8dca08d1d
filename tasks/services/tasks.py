"""Task writes: create, update/move, soft delete, restore, bulk update."""

from collections.abc import Callable

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.services import Sensitivity
from contorl import bulk
from contorl.errors import (
    Conflict,
    DomainError,
    HasBlockers,
    NotFound,
    ValidationFailed,
    VersionConflict,
)
from contorl.lookups import visible_or_404
from contorl.versioning import versioned_update
from notifications.services import notify

from .. import formulas, permissions
from ..models import (
    CustomField,
    Project,
    ProjectMember,
    Status,
    Task,
)
from ..selectors import has_payload_data, task_fresh, task_payload
from ._common import (
    MAX_BULK_ITEMS,
    MAX_SUBTASK_DEPTH,
    NOT_IN_PROJECT,
    TASK_FIELDS,
    TaskWrite,
    _changes,
    _publish_task,
)
from .fields import FORMULA_TASK_INPUTS, _clean_custom_values, _task_values

# --- tasks -------------------------------------------------------------------------------


def _check_refs(project: Project, fields: dict, *, task: Task | None = None) -> None:
    """Status, parent and assignee must belong to the task's project; dates must be ordered."""
    errors: dict = {}
    status = fields.get("status")
    if status is not None and status.project_id != project.pk:
        errors["status"] = [_(NOT_IN_PROJECT)]
    if "assignee" in fields and fields["assignee"] is not None:
        assignee = fields["assignee"]
        role = ProjectMember.objects.filter(project=project, user=assignee).values_list("role", flat=True).first()
        if role not in (ProjectMember.Role.OWNER, ProjectMember.Role.MEMBER) or not assignee.is_active:
            errors["assignee"] = [_("The assignee must be an active owner or member of the project.")]
    parent = fields.get("parent")
    if parent is not None:
        if parent.project_id != project.pk:
            errors["parent"] = [_(NOT_IN_PROJECT)]
        elif parent.is_deleted:
            errors["parent"] = [_("The parent task is deleted.")]
        elif task is not None and _is_ancestor_or_self(task.pk, parent):
            errors["parent"] = [_("A task cannot be nested under itself or its own subtasks.")]
        elif _depth(parent) >= MAX_SUBTASK_DEPTH:
            errors["parent"] = [_("Subtasks can be nested at most %(n)s levels deep.") % {"n": MAX_SUBTASK_DEPTH}]
    start = fields.get("start_date", task.start_date if task else None)
    due = fields.get("due_date", task.due_date if task else None)
    for name, value in (("start_date", start), ("due_date", due)):
        if value is not None and not 2000 <= value.year <= 2100:
            errors[name] = [_("Dates must be between the years 2000 and 2100.")]
    if start and due and due < start and "due_date" not in errors:
        errors["due_date"] = [_("The due date cannot be before the start date.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], details=errors)


def _is_ancestor_or_self(task_id: int, node: Task) -> bool:
    seen = 0
    current = node
    while current is not None and seen <= MAX_SUBTASK_DEPTH + 1:
        if current.pk == task_id:
            return True
        current = Task.all_objects.filter(pk=current.parent_id).only("id", "parent_id").first()
        seen += 1
    return False


def _depth(node: Task) -> int:
    depth, parent_id = 1, node.parent_id
    while parent_id is not None and depth <= MAX_SUBTASK_DEPTH:
        parent_id = Task.all_objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
        depth += 1
    return depth


def _next_position(status: Status) -> int:
    top = Task.objects.filter(status=status).aggregate(m=Max("position"))["m"]
    return 0 if top is None else min(top + 1, 1_000_000_000)


def _with_formulas(project_id: int, task: Task, fields: dict, custom_input) -> dict:
    """Merge validated custom values into `fields` and recompute every formula field."""
    defs = list(CustomField.objects.filter(project_id=project_id))
    current = task.custom_fields if task.pk else {}
    formula_keys = {f.key for f in defs if f.type == "formula"}
    if custom_input is not None:
        custom = _clean_custom_values(project_id, defs, custom_input, current)
    else:
        custom = {k: v for k, v in (current or {}).items() if k in {f.key for f in defs} and k not in formula_keys}
    probe = Task(
        estimated_hours=fields.get("estimated_hours", task.estimated_hours),
        priority=fields.get("priority", task.priority),
        position=fields.get("position", task.position),
    )
    results, errors = formulas.compute(defs, _task_values(probe, custom))
    custom.update(results)
    out = dict(fields)
    if custom != (current or {}):
        out["custom_fields"] = custom
    else:
        out.pop("custom_fields", None)
    if errors != (task.custom_field_errors or {}):
        out["custom_field_errors"] = errors
    return out


def task_create(*, project: Project, by, title: str, status: Status | None = None, **fields) -> Task:
    return task_create_published(project=project, by=by, title=title, status=status, **fields).task


@transaction.atomic
def task_create_published(*, project: Project, by, title: str, status: Status | None = None, **fields) -> TaskWrite:
    """task_create, also returning the payload its task_created event carried."""
    permissions.require_edit(by, project)
    unknown = set(fields) - set(TASK_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown field(s): %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    if status is None:
        status = Status.objects.filter(project=project).order_by("order", "id").first()
        if status is None:
            raise ValidationFailed.field("status", _("This project has no statuses yet."))
    fields["status"] = status
    _check_refs(project, fields)
    if fields.get("position") is None:
        fields["position"] = _next_position(status)
    custom_input = fields.pop("custom_fields", None)
    task = Task(project=project, title=title, created_by=by)
    for name, value in fields.items():
        setattr(task, name, value)
    computed = _with_formulas(project.pk, task, fields, custom_input or {})
    task.custom_fields = computed.get("custom_fields", {})
    task.custom_field_errors = computed.get("custom_field_errors", {})
    task._history_user = by
    task.save()
    payload = _publish_task("task_created", task, by)
    if task.assignee_id:
        _notify_assignee(task, by)
    audit.record("task.create", actor=by, obj=task, sensitivity=Sensitivity.LOW)
    return TaskWrite(task, payload)


def _notify_assignee(task: Task, by) -> None:
    notify(
        recipients=[task.assignee],
        type="assignment",
        title=(_("You were assigned: %(title)s") % {"title": task.title})[:200],
        link=f"/projects/{task.project_id}/tasks/{task.pk}/",
        actor=by,
        data={
            "task": task.pk,
            "project": task.project_id,
            # shown in the recipient's language, not the assigner's (Notification._shown)
            "i18n": {"title": "You were assigned: %(title)s", "params": {"title": task.title}},
        },
    )


def task_update(*, task: Task, version: int, by, **fields) -> Task:
    """Change a task's own fields (PATCH, board moves, bulk items, admin edits)."""
    return task_update_published(task=task, version=version, by=by, **fields).task


@transaction.atomic
def task_update_published(*, task: Task, version: int, by, **fields) -> TaskWrite:
    """task_update, also returning the payload its event carried."""
    permissions.require_edit(by, task.project)
    unknown = set(fields) - set(TASK_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown field(s): %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    if task.is_deleted:
        raise Conflict(_("This task is deleted; restore it first."))
    _check_refs(task.project, fields, task=task)
    new_status = fields.get("status")
    if new_status is not None and new_status.pk != task.status_id and fields.get("position") is None:
        fields["position"] = _next_position(new_status)  # moved without a position: bottom of the column
    custom_input = fields.pop("custom_fields", None)
    if custom_input is not None or FORMULA_TASK_INPUTS & fields.keys():
        # Otherwise no formula input changed, and the stored values stand (a change of the
        # definitions recomputes every task: fields.recompute_project_formulas).
        fields = _with_formulas(task.project_id, task, fields, custom_input)
    changes = _changes(task, {k: v for k, v in fields.items() if k != "custom_field_errors"})
    old_status, old_assignee = task.status_id, task.assignee_id
    task = versioned_update(task, version=version, fields=fields, by=by)
    if task.status_id != old_status:
        event = "task_status_changed"
    elif task.assignee_id != old_assignee:
        event = "task_assigned"
    else:
        event = "task_updated"
    payload = _publish_task(event, task, by, current=has_payload_data(task))
    if task.assignee_id and task.assignee_id != old_assignee:
        _notify_assignee(task, by)
    audit.record(
        "task.status_change" if event == "task_status_changed" else "task.update",
        actor=by,
        obj=task,
        sensitivity=Sensitivity.LOW,
        changes=changes,
    )
    return TaskWrite(task, payload)


def task_move(*, task: Task, status: Status, position: int, version: int, by) -> Task:
    """A board drag: new column and/or position (publishes task_status_changed or task_updated)."""
    return task_update(task=task, version=version, by=by, status=status, position=position)


def _live_descendants(root: Task) -> list[Task]:
    """Every live subtask below `root`, walking one tree level per query."""
    found: list[Task] = []
    frontier = [root.pk]
    for _level in range(MAX_SUBTASK_DEPTH + 1):
        if not frontier:
            break
        level = list(Task.objects.filter(parent_id__in=frontier))
        found.extend(level)
        frontier = [t.pk for t in level]
    return found


def blocked_by_deleting(task_ids: list[int]) -> list[Task]:
    """Live tasks outside `task_ids` that depend on one of them."""
    return list(
        Task.objects.filter(dependencies__depends_on_id__in=task_ids).exclude(pk__in=task_ids).distinct().order_by("id")
    )


@transaction.atomic
def task_delete(*, task: Task, by, force: bool = False, version: int | None = None) -> list[Task]:
    """Soft-delete the task and all its live subtasks with one shared `deleted_at`.

    Refused with has_blockers when live tasks depend on any of them, unless `force`.
    Publishes one task_deleted per task (the task first, then its subtasks).
    """
    permissions.require_edit(by, task.project)
    if task.is_deleted:
        raise NotFound()
    subtasks = _live_descendants(task)
    ids = [task.pk, *[t.pk for t in subtasks]]
    if not force:
        blocked = blocked_by_deleting(ids)
        if blocked:
            raise HasBlockers(
                _("Other live tasks depend on this one; delete with force=true to proceed."),
                details={"blocked_tasks": [{"id": t.pk, "title": t.title, "project": t.project_id} for t in blocked]},
            )
    now = timezone.now()
    fields = {"is_deleted": True, "deleted_at": now, "deleted_by": by}
    done = [versioned_update(task, version=version if version is not None else task.version, fields=fields, by=by)]
    for sub in subtasks:
        done.append(versioned_update(sub, version=sub.version, fields=fields, by=by))
    audit.record(
        "task.delete",
        actor=by,
        obj=task,
        sensitivity=Sensitivity.MEDIUM,
        changes={"cascade": [t.pk for t in subtasks], "force": force},
    )
    for t in done:
        _publish_task("task_deleted", t, by)
    return done


def _deleted_with(root: Task) -> list[Task]:
    """Subtasks deleted in the same operation as `root` (same deleted_at), walking down."""
    found: list[Task] = []
    frontier = [root.pk]
    for _level in range(MAX_SUBTASK_DEPTH + 1):
        if not frontier:
            break
        level = list(Task.all_objects.filter(parent_id__in=frontier, is_deleted=True, deleted_at=root.deleted_at))
        found.extend(level)
        frontier = [t.pk for t in level]
    return found


@transaction.atomic
def task_restore(*, task: Task, by, cascade: bool = True) -> list[Task]:
    """Undo a soft delete. `cascade` also restores the subtasks deleted together with it
    (same deleted_at) - never those deleted earlier on their own.
    Publishes one task_restored per restored task (the task first)."""
    permissions.require_edit(by, task.project)
    if not task.is_deleted:
        raise Conflict(_("This task is not deleted."))
    if task.parent_id and Task.all_objects.filter(pk=task.parent_id, is_deleted=True).exists():
        raise Conflict(
            _("The parent task is still deleted: restore the parent first."),
            details={"parent": task.parent_id},
        )
    subtasks = _deleted_with(task) if cascade else []
    fields = {"is_deleted": False, "deleted_at": None, "deleted_by": None}
    done = [versioned_update(task, version=task.version, fields=fields, by=by)]
    for sub in subtasks:
        done.append(versioned_update(sub, version=sub.version, fields=fields, by=by))
    audit.record(
        "task.restore",
        actor=by,
        obj=task,
        sensitivity=Sensitivity.MEDIUM,
        changes={"cascade": cascade, "restored": [t.pk for t in done]},
    )
    for t in done:
        _publish_task("task_restored", t, by)
    return done


def _item_error(exc: DomainError, *, task: Task | None) -> dict:
    details = dict(exc.details)
    if isinstance(exc, VersionConflict):
        current = exc.instance or task
        details["current"] = task_payload(task_fresh(current.pk)) if current is not None else None
    return {"code": exc.code, "message": exc.message, "details": details}


@transaction.atomic
def task_bulk_update(*, items, by, parse: Callable[[Task, dict], dict]) -> dict:
    """Apply many PATCHes, each in its own savepoint: one bad item never undoes the good ones.

    `parse(task, item)` turns one raw item into validated task fields (raising DomainError).
    Returns {"succeeded": [{"id", "version"}], "failed": [{"id", "error": {...}}]}.
    """

    def load(task_id: int) -> Task:
        # Visibility here (not_found); the right to change it is task_update's (permission_denied).
        return visible_or_404(
            Task.objects.select_related("project"),
            task_id,
            may_see=lambda t: permissions.can_view_project(by, t.project),
        )

    def write(task: Task, version: int, item: dict) -> Task:
        return task_update(task=task, version=version, by=by, **parse(task, item))

    return bulk.update_each(
        items,
        max_items=MAX_BULK_ITEMS,
        id_required=_("A task id (integer) is required."),
        load=load,
        write=write,
        failure=lambda raw_id, exc, task: {"id": raw_id, "error": _item_error(exc, task=task)},
    )
