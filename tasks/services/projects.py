"""Projects, memberships, statuses and project templates."""

import re

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import translation
from django.utils.translation import gettext as _

from audit import services as audit
from audit.services import Sensitivity
from contorl.errors import (
    Conflict,
    Forbidden,
    FormulaCycle,
    ValidationFailed,
)
from contorl.events import control, project_group
from contorl.versioning import versioned_update
from notifications.services import notify

from .. import formulas, permissions
from ..models import (
    Attachment,
    CustomField,
    Project,
    ProjectMember,
    ProjectTemplate,
    Status,
    Task,
)
from ._common import (
    DEFAULT_STATUSES,
    TEMPLATE_APPLY_HOOKS,
    TEMPLATE_SNAPSHOT_HOOKS,
    _changes,
    _pk,
    log,
)
from .fields import RESERVED_KEYS, check_field_shape

# --- projects ----------------------------------------------------------------------------


@transaction.atomic
def project_create(
    *,
    by,
    name: str,
    key: str,
    department=None,
    description: str = "",
    archived: bool = False,
    template: ProjectTemplate | None = None,
) -> Project:
    """Create a project; the creator becomes its owner. Statuses/fields come from `template` if given."""
    if department is None:
        department = by.department
    elif not by.is_admin and _pk(department) != by.department_id:
        raise Forbidden(_("You can only create projects in your own department."))
    if Project.objects.filter(key=key).exists():
        raise ValidationFailed.field("key", _("A project with this key already exists."))
    project = Project(name=name, key=key, department=department, description=description, archived=archived)
    project.created_by = by
    project._history_user = by
    try:
        with transaction.atomic():  # a concurrent create with the same key loses here, not with a 500
            project.save()
    except IntegrityError:
        raise ValidationFailed.field("key", _("A project with this key already exists.")) from None
    ProjectMember.objects.create(project=project, user=by, role=ProjectMember.Role.OWNER)
    data = template.data if template is not None else {"statuses": DEFAULT_STATUSES}
    _apply_template_data(project, data, by)
    audit.record(
        "project.create",
        actor=by,
        obj=project,
        sensitivity=Sensitivity.MEDIUM,
        changes={"template": template.pk if template else None},
    )
    permissions.forget_roles(by)
    return project


def _apply_template_data(project: Project, data: dict, by) -> None:
    statuses = data.get("statuses") or DEFAULT_STATUSES
    Status.objects.bulk_create(
        [
            Status(
                project=project,
                name=s["name"][:80],
                color=s.get("color", "#8b949e"),
                order=int(s.get("order", i)),
                is_done=bool(s.get("is_done", False)),
            )
            for i, s in enumerate(statuses)
        ]
    )
    CustomField.objects.bulk_create(
        [
            CustomField(
                project=project,
                key=f["key"],
                name=f["name"],
                type=f["type"],
                options=f.get("options") or [],
                formula=f.get("formula") or "",
                order=int(f.get("order", i)),
            )
            for i, f in enumerate(data.get("custom_fields") or [])
        ]
    )
    # Triggers (automation app) and anything else a template carries are copied by hooks.
    for hook in TEMPLATE_APPLY_HOOKS:
        hook(project, data, by)


@transaction.atomic
def project_update(*, project: Project, version: int, by, **fields) -> Project:
    permissions.require_owner(by, project)
    allowed = {k: v for k, v in fields.items() if k in ("name", "description", "archived", "department")}
    if "department" in allowed and not by.is_admin and _pk(allowed["department"]) != project.department_id:
        raise Forbidden(_("Only administrators can move a project to another department."))
    changes = _changes(project, allowed)
    project = versioned_update(project, version=version, fields=allowed, by=by)
    audit.record("project.update", actor=by, obj=project, sensitivity=Sensitivity.LOW, changes=changes)
    return project


@transaction.atomic
def project_delete(*, project: Project, by) -> None:
    """Hard delete (owners/admins): its tasks, comments and attachments go with it, the
    audit log keeps the record, and open boards of the project are closed (4404)."""
    permissions.require_owner(by, project)
    tasks = Task.all_objects.filter(project=project)
    files = list(Attachment.objects.filter(task__project=project).values_list("file", flat=True))
    audit.record(
        "project.delete",
        actor=by,
        obj=project,
        sensitivity=Sensitivity.HIGH,
        changes={"key": [project.key, None], "name": [project.name, None], "tasks": [tasks.count(), 0]},
    )
    project_id = project.pk
    project._history_user = by
    project.delete()
    # Only once the rows are surely gone: a rolled-back delete must keep its files.
    transaction.on_commit(lambda: _delete_files(files))
    _tell_boards(project_id, {"type": "object.gone"})


def _delete_files(names: list[str]) -> None:
    storage = Attachment._meta.get_field("file").storage
    for name in names:
        try:
            storage.delete(name)
        except Exception as exc:  # a file already gone must not fail the request that deleted it
            log.warning("could not delete attachment file: %s", exc.__class__.__name__)


# --- members -----------------------------------------------------------------------------


def _kick(project_id: int, user_id: int) -> None:
    """After commit, close the user's open board sockets for this project."""
    _tell_boards(project_id, {"type": "access.revoked", "user_id": user_id})


def _tell_boards(project_id: int, message: dict) -> None:
    """After commit, a control message to every open board socket of the project."""
    fields = dict(message)
    control(project_group(project_id), fields.pop("type"), **fields)


def _owner_count(project: Project) -> int:
    return ProjectMember.objects.filter(project=project, role=ProjectMember.Role.OWNER).count()


@transaction.atomic
def member_add(*, project: Project, user, role: str, by) -> ProjectMember:
    permissions.require_owner(by, project)
    if not user.is_active:
        raise ValidationFailed.field("user", _("This user is inactive."))
    if ProjectMember.objects.filter(project=project, user=user).exists():
        raise ValidationFailed.field("user", _("This user is already a member; change the role instead."))
    try:
        with transaction.atomic():
            member = ProjectMember.objects.create(project=project, user=user, role=role)
    except IntegrityError:
        raise ValidationFailed.field("user", _("This user is already a member; change the role instead.")) from None
    audit.record(
        "project.member_add",
        actor=by,
        obj=member,
        sensitivity=Sensitivity.MEDIUM,
        changes={"user": user.pk, "role": role, "project": project.pk},
    )
    permissions.forget_roles(user)
    if user.pk != getattr(by, "pk", None):
        notify(
            recipients=[user],
            type="project_member",
            title=_("You were added to the project “%(name)s” as %(role)s")
            % {"name": project.name, "role": ProjectMember.Role(role).label},
            link=f"/projects/{project.pk}/",
            actor=by,
            data={
                "project": project.pk,
                "role": role,
                # shown in the recipient's language, not the inviter's (Notification._shown)
                "i18n": {
                    "title": "You were added to the project “%(name)s” as %(role)s",
                    "params": {"name": project.name, "role": _source_text(ProjectMember.Role(role).label)},
                    "translate_params": ["role"],
                },
            },
        )
    return member


def _source_text(lazy) -> str:
    """A lazy translation's English source string (its msgid), to translate again when read."""
    with translation.override(None):
        return str(lazy)


@transaction.atomic
def member_update(*, member: ProjectMember, role: str, version: int, by) -> ProjectMember:
    permissions.require_owner(by, member.project)
    if member.role == ProjectMember.Role.OWNER and role != member.role and _owner_count(member.project) <= 1:
        raise Conflict(_("A project needs at least one owner."))
    changes = _changes(member, {"role": role})
    member = versioned_update(member, version=version, fields={"role": role}, by=by)
    audit.record("project.member_role", actor=by, obj=member, sensitivity=Sensitivity.MEDIUM, changes=changes)
    permissions.forget_roles(member.user)
    return member


@transaction.atomic
def member_remove(*, member: ProjectMember, by) -> None:
    if by is None or member.user_id != by.pk:  # anyone may leave; removing others needs ownership
        permissions.require_owner(by, member.project)
    if member.role == ProjectMember.Role.OWNER and _owner_count(member.project) <= 1:
        raise Conflict(_("A project needs at least one owner."))
    audit.record(
        "project.member_remove",
        actor=by,
        obj=member,
        sensitivity=Sensitivity.MEDIUM,
        changes={"user": member.user_id, "role": member.role, "project": member.project_id},
    )
    project_id, user_id = member.project_id, member.user_id
    member.delete()
    permissions.forget_roles(member.user)
    _kick(project_id, user_id)


# --- statuses ----------------------------------------------------------------------------


def _status_name_free(project, name, exclude=None) -> None:
    qs = Status.objects.filter(project=project, name__iexact=name)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    if qs.exists():
        raise ValidationFailed.field("name", _("This project already has a status with this name."))


@transaction.atomic
def status_create(*, project: Project, by, name: str, color: str = "#8b949e", order=None, is_done=False) -> Status:
    permissions.require_owner(by, project)
    _status_name_free(project, name)
    if order is None:
        order = (Status.objects.filter(project=project).aggregate(m=Max("order"))["m"] or -1) + 1
    try:
        with transaction.atomic():
            status = Status.objects.create(
                project=project, name=name, color=color, order=min(order, 1000), is_done=is_done
            )
    except IntegrityError:
        raise ValidationFailed.field("name", _("This project already has a status with this name.")) from None
    audit.record("project.status_create", actor=by, obj=status, sensitivity=Sensitivity.LOW)
    return status


@transaction.atomic
def status_update(*, status: Status, version: int, by, **fields) -> Status:
    permissions.require_owner(by, status.project)
    allowed = {k: v for k, v in fields.items() if k in ("name", "color", "order", "is_done")}
    if "name" in allowed:
        _status_name_free(status.project_id, allowed["name"], exclude=status)
    changes = _changes(status, allowed)
    status = versioned_update(status, version=version, fields=allowed, by=by)
    audit.record("project.status_update", actor=by, obj=status, sensitivity=Sensitivity.LOW, changes=changes)
    return status


@transaction.atomic
def status_delete(*, status: Status, by) -> None:
    permissions.require_owner(by, status.project)
    # Deleted tasks still point at their status (restore must put them back somewhere).
    if Task.all_objects.filter(status=status).exists():
        raise Conflict(_("Move or delete the tasks in this column first (deleted tasks included)."))
    if Status.objects.filter(project_id=status.project_id).count() <= 1:
        raise Conflict(_("A project needs at least one status."))
    audit.record("project.status_delete", actor=by, obj=status, sensitivity=Sensitivity.LOW)
    status.delete()


# --- templates ---------------------------------------------------------------------------


def template_snapshot(project: Project) -> dict:
    data = {
        "statuses": [
            {"name": s.name, "color": s.color, "order": s.order, "is_done": s.is_done}
            for s in Status.objects.filter(project=project).order_by("order", "id")
        ],
        "custom_fields": [
            {"key": f.key, "name": f.name, "type": f.type, "options": f.options, "formula": f.formula, "order": f.order}
            for f in CustomField.objects.filter(project=project).order_by("order", "id")
        ],
        "triggers": [],
    }
    for hook in TEMPLATE_SNAPSHOT_HOOKS:
        key, value = hook(project)
        data[key] = value
    return data


def clean_template_data(data) -> dict:
    """Validate a template body: {"statuses": [...], "custom_fields": [...], ...hook keys}."""
    if not isinstance(data, dict):
        raise ValidationFailed.field("data", _("Expected an object."))
    statuses = data.get("statuses") or []
    fields = data.get("custom_fields") or []
    if not isinstance(statuses, list) or not isinstance(fields, list) or len(statuses) > 50 or len(fields) > 100:
        raise ValidationFailed.field("data", _("statuses (max 50) and custom_fields (max 100) must be lists."))
    names = set()
    for s in statuses:
        if not isinstance(s, dict) or not isinstance(s.get("name"), str) or not 0 < len(s["name"]) <= 80:
            raise ValidationFailed.field("data", _("Each status needs a name of 1-80 characters."))
        if s["name"].lower() in names:
            raise ValidationFailed.field("data", _("Status names must be unique."))
        names.add(s["name"].lower())
        color = s.get("color", "#8b949e")
        if not isinstance(color, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
            raise ValidationFailed.field("data", _("Status colours look like #1f6feb."))
        order = s.get("order", 0)
        if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= 1000:
            raise ValidationFailed.field("data", _("Status order must be an integer 0-1000."))
    keys = set()
    graph = {}
    for f in fields:
        if not isinstance(f, dict) or not isinstance(f.get("key"), str) or not isinstance(f.get("name"), str):
            raise ValidationFailed.field("data", _("Each custom field needs a key and a name."))
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", f["key"]) or f["key"] in RESERVED_KEYS or f["key"] in keys:
            raise ValidationFailed.field(
                "data", _("Invalid or duplicate custom field key: %(key)s.") % {"key": f["key"][:40]}
            )
        if not 0 < len(f["name"]) <= 100 or f.get("type") not in CustomField.Type.values:
            raise ValidationFailed.field("data", _("Custom field names are 1-100 characters; types as documented."))
        keys.add(f["key"])
    numeric = [f["key"] for f in fields if f["type"] in ("number", "formula")]
    for f in fields:  # the same checks as adding the field to a project (services/fields.py)
        try:
            check_field_shape(
                key=f["key"],
                type=f["type"],
                options=f.get("options") or [],
                formula=f.get("formula") or "",
                numeric_keys=numeric,
            )
        except ValidationFailed as exc:
            raise ValidationFailed.field("data", f"{f['key']}: {exc.message}") from None
        if f["type"] == "formula":
            graph[f["key"]] = formulas.references(f["formula"])
    cycle = formulas.find_cycle(graph)
    if cycle:
        raise FormulaCycle(_("Formula cycle: %(cycle)s.") % {"cycle": " -> ".join(cycle)}, details={"cycle": cycle})
    return data


@transaction.atomic
def template_create(*, by, name: str, description: str = "", data: dict | None = None) -> ProjectTemplate:
    data = clean_template_data(data) if data is not None else None
    if ProjectTemplate.objects.filter(name=name).exists():
        raise ValidationFailed.field("name", _("A template with this name already exists."))
    try:
        with transaction.atomic():
            template = ProjectTemplate.objects.create(
                name=name, description=description, data=data or {"statuses": DEFAULT_STATUSES}, created_by=by
            )
    except IntegrityError:
        raise ValidationFailed.field("name", _("A template with this name already exists.")) from None
    audit.record("project_template.create", actor=by, obj=template, sensitivity=Sensitivity.LOW)
    return template


@transaction.atomic
def template_update(*, template: ProjectTemplate, version: int, by, **fields) -> ProjectTemplate:
    permissions.require_template_edit(by, template)
    allowed = {k: v for k, v in fields.items() if k in ("name", "description", "data")}
    if "data" in allowed:
        clean_template_data(allowed["data"])
    if "name" in allowed and ProjectTemplate.objects.filter(name=allowed["name"]).exclude(pk=template.pk).exists():
        raise ValidationFailed.field("name", _("A template with this name already exists."))
    template = versioned_update(template, version=version, fields=allowed, by=by)
    audit.record("project_template.update", actor=by, obj=template, sensitivity=Sensitivity.LOW)
    return template


@transaction.atomic
def template_delete(*, template: ProjectTemplate, by) -> None:
    permissions.require_template_edit(by, template)
    audit.record("project_template.delete", actor=by, obj=template, sensitivity=Sensitivity.LOW)
    template.delete()


@transaction.atomic
def project_save_as_template(*, project: Project, by, name: str, description: str = "") -> ProjectTemplate:
    permissions.require_owner(by, project)
    return template_create(by=by, name=name, description=description, data=template_snapshot(project))
