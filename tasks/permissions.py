"""Who may see and change projects and their tasks. The only place these rules live.

- System admins see and change everything.
- Project members act by role: owner (manage project, members, statuses, fields),
  member (read + write tasks, comments, attachments), viewer (read only).
  Members from other departments see the projects they are members of.
- Department managers see every project of their department (read only unless also a member).
- Anyone else: the project does not exist for them (404, never 403).

The write services (tasks/services/) call `require_edit` / `require_owner` /
`require_template_edit` with their `by=`: NotFound for an invisible project, Forbidden for a
visible one the user may not change. Views only look up what the caller may see (404) and call
the service. `by=None` is the system itself (automation actions run what a project owner's
rule asked for), so it is not checked again.
"""

import time

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from contorl.accounts.permissions import is_admin
from contorl.errors import Forbidden, NotFound

from .models import Project, ProjectMember, Task

OWNER, MEMBER, VIEWER = ProjectMember.Role.OWNER, ProjectMember.Role.MEMBER, ProjectMember.Role.VIEWER
ADMIN = "admin"
MANAGER = "manager"  # department manager without membership: read only

_CACHE_ATTR = "_contorl_project_roles"
ROLE_CACHE_SECONDS = 2.0


def _visible_q(user) -> Q:
    q = Q(pk__in=ProjectMember.objects.filter(user_id=user.pk).values("project_id"))
    if user.is_department_manager and user.department_id:
        q |= Q(department_id=user.department_id)
    return q


def visible_projects(user) -> QuerySet:
    """Projects `user` may see (a queryset, composable with filters)."""
    if not (user and user.is_authenticated and user.is_active):
        return Project.objects.none()
    if is_admin(user):
        return Project.objects.all()
    return Project.objects.filter(_visible_q(user))


def visible_tasks(user, *, include_deleted: bool = False) -> QuerySet:
    """Tasks in projects `user` may see; deleted ones only when asked (admins only)."""
    manager = Task.all_objects if include_deleted and is_admin(user) else Task.objects
    if not (user and user.is_authenticated and user.is_active):
        return manager.none()
    if is_admin(user):
        return manager.all()
    return manager.filter(project__in=visible_projects(user).values("pk"))


def project_role(user, project) -> str | None:
    """'admin', 'owner', 'member', 'viewer', 'manager' (department manager, read only) or None.

    Cached on the user object for ROLE_CACHE_SECONDS, so checking several objects of one
    project in a request costs one query, while a long-lived WebSocket connection (which
    keeps its user object for hours) still sees a membership change within seconds.
    """
    if not (user and user.is_authenticated and user.is_active):
        return None
    if is_admin(user):
        return ADMIN
    project_id = project if isinstance(project, int) else project.pk
    cache = user.__dict__.setdefault(_CACHE_ATTR, {})
    hit = cache.get(project_id)
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    membership = ProjectMember.objects.filter(project_id=project_id, user_id=user.pk).values_list("role", flat=True)
    return _remember(user, project, next(iter(membership.order_by()[:1]), None))


def with_member_role(queryset: QuerySet, user_id: int, project_field: str = "project") -> QuerySet:
    """`queryset` with each row's `member_role`: the membership role of user `user_id` in the
    row's project, read in the same query. remember_member_role() then spares project_role() its own."""
    membership = ProjectMember.objects.filter(project_id=OuterRef(f"{project_field}_id"), user_id=user_id)
    return queryset.annotate(member_role=Subquery(membership.values("role")[:1]))


def remember_member_role(user, project, member_role: str | None) -> None:
    """Seed project_role()'s cache with a membership role read by with_member_role()."""
    if user and user.is_authenticated and user.is_active and not is_admin(user):
        _remember(user, project, member_role)


def _remember(user, project, member_role: str | None) -> str | None:
    role = member_role
    if role is None and user.is_department_manager and user.department_id:
        dept = project.department_id if isinstance(project, Project) else None
        if dept is None and isinstance(project, int):
            dept = Project.objects.filter(pk=project).values_list("department_id", flat=True).first()
        if dept is not None and dept == user.department_id:
            role = MANAGER
    project_id = project if isinstance(project, int) else project.pk
    user.__dict__.setdefault(_CACHE_ATTR, {})[project_id] = (role, time.monotonic() + ROLE_CACHE_SECONDS)
    return role


def forget_roles(user) -> None:
    """Drop the per-request role cache (after membership changes)."""
    user.__dict__.pop(_CACHE_ATTR, None)


def can_view_project(user, project) -> bool:
    return project_role(user, project) is not None


def can_edit_project(user, project) -> bool:
    """Write tasks, comments, attachments, dependencies. Archived projects are read-only
    (owners un-archive them first; that is a project update, not a task write)."""
    if isinstance(project, Project) and project.archived:
        return False
    return project_role(user, project) in (ADMIN, OWNER, MEMBER)


def is_project_owner(user, project) -> bool:
    """Change the project itself, its members, statuses, custom fields; save as template."""
    return project_role(user, project) in (ADMIN, OWNER)


def require_view(user, project) -> None:
    if not can_view_project(user, project):
        raise NotFound()


def require_edit(user, project) -> None:
    if user is None:
        return
    require_view(user, project)
    if not can_edit_project(user, project):
        if isinstance(project, Project) and project.archived:
            raise Forbidden(_("This project is archived and read-only."))
        raise Forbidden(_("Viewers cannot change this project."))


def require_owner(user, project) -> None:
    if user is None:
        return
    require_view(user, project)
    if not is_project_owner(user, project):
        raise Forbidden(_("Only project owners can do this."))


def require_template_edit(user, template) -> None:
    """Templates are shared: everyone signed in reads them; the creator or an admin changes them."""
    if user is None:
        return
    if not (is_admin(user) or template.created_by_id == user.pk):
        raise Forbidden(_("Only the creator or an administrator can change this template."))


def can_view_task(user, task) -> bool:
    if task.is_deleted and not is_admin(user):
        return False
    return can_view_project(user, task.project_id if task.project_id else task.project)


def can_see_deleted(user) -> bool:
    return is_admin(user)
