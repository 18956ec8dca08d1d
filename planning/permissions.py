"""Who may read and change planning data. The only place these rules live.

Roles, weakest first: viewer (read), planner (+ assignments and actuals), manager (+ phases,
project links, programs, grants on the scope; and, held on any scope, worker types, rates,
workers and leave). A user's role on a project is the strongest of:
- system admin: manager everywhere;
- tasks membership of the project: owner -> manager, member -> planner, viewer -> viewer;
  a department manager who sees the project read-only -> viewer (tasks/permissions.py);
- a ScopeAssignment on the project, on its program or on that program's portfolio.
A program's role: grants on it or its portfolio. A portfolio's role: grants on it.
Portfolios and programs are also *visible* (read-only) to users with a role somewhere below.

Invisible objects are 404; visible ones the user may not change are 403.
"""

from django.utils.translation import gettext as _

from contorl.accounts.permissions import is_admin
from contorl.errors import Forbidden, NotFound
from tasks import permissions as task_permissions

from .models import Portfolio, Program, ProjectLink, ScopeAssignment

VIEWER, PLANNER, MANAGER = "viewer", "planner", "manager"
RANK = {None: 0, VIEWER: 1, PLANNER: 2, MANAGER: 3}
_TASK_ROLE = {
    task_permissions.ADMIN: MANAGER,
    task_permissions.OWNER: MANAGER,
    task_permissions.MEMBER: PLANNER,
    task_permissions.VIEWER: VIEWER,
    task_permissions.MANAGER: VIEWER,
}
_CACHE_ATTR = "_contorl_planning_grants"


def _best(*roles):
    return max(roles, key=lambda r: RANK[r])


def _grants(user) -> list[tuple[str, int | None, int | None, int | None]]:
    """The user's grants as (role, portfolio, program, project), once per user object."""
    cached = user.__dict__.get(_CACHE_ATTR)
    if cached is None:
        cached = list(
            ScopeAssignment.objects.filter(user_id=user.pk).values_list(
                "role", "portfolio_id", "program_id", "project_id"
            )
        )
        user.__dict__[_CACHE_ATTR] = cached
    return cached


def forget(user) -> None:
    user.__dict__.pop(_CACHE_ATTR, None)
    task_permissions.forget_roles(user)


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def portfolio_role(user, portfolio_id: int | None) -> str | None:
    if not _active(user) or portfolio_id is None:
        return None
    if is_admin(user):
        return MANAGER
    return _best(None, *(r for r, pf, _pg, _pj in _grants(user) if pf == portfolio_id))


def program_role(user, program) -> str | None:
    if not _active(user) or program is None:
        return None
    if is_admin(user):
        return MANAGER
    program_id = getattr(program, "pk", program)
    portfolio_id = (
        program.portfolio_id
        if isinstance(program, Program)
        else Program.all_objects.filter(pk=program_id).values_list("portfolio_id", flat=True).first()
    )
    own = _best(None, *(r for r, _pf, pg, _pj in _grants(user) if pg == program_id))
    return _best(own, portfolio_role(user, portfolio_id))


def project_role(user, project) -> str | None:
    if not _active(user):
        return None
    if is_admin(user):
        return MANAGER
    project_id = getattr(project, "pk", project)
    role = _TASK_ROLE.get(task_permissions.project_role(user, project))
    role = _best(role, *(r for r, _pf, _pg, pj in _grants(user) if pj == project_id))
    if RANK[role] < RANK[MANAGER] and any(pf or pg for _r, pf, pg, _pj in _grants(user)):
        program_id = ProjectLink.objects.filter(project_id=project_id).values_list("program_id", flat=True).first()
        if program_id is not None:
            role = _best(role, program_role(user, program_id))
    return role


def has_manager_grant(user) -> bool:
    """Worker types, rates, workers and leave: a manager somewhere (or a system admin)."""
    if not _active(user):
        return False
    return is_admin(user) or any(r == MANAGER for r, *_ in _grants(user))


def require(role: str | None, needed: str) -> None:
    if role is None:
        raise NotFound()
    if RANK[role] < RANK[needed]:
        raise Forbidden(_("Your planning role does not allow this change."))


def require_project(user, project, needed: str = VIEWER) -> str:
    role = project_role(user, project)
    require(role, needed)
    return role


def require_resource_manager(user) -> None:
    if not has_manager_grant(user):
        raise Forbidden(_("Only planning managers can change worker types, rates, workers and leave."))


# --- what a user can see (querysets and id sets) ---------------------------------------------


def visible_project_ids(user):
    """Projects whose planning data `user` may read: a subquery-able queryset of ids, or None for all."""
    from tasks.models import Project

    if not _active(user):
        return Project.objects.none().values("pk")
    if is_admin(user):
        return None
    grants = _grants(user)
    portfolios = {pf for _r, pf, _pg, _pj in grants if pf}
    programs = {pg for _r, _pf, pg, _pj in grants if pg}
    projects = {pj for _r, _pf, _pg, pj in grants if pj}
    from django.db.models import Q

    q = Q(pk__in=task_permissions.visible_projects(user).values("pk")) | Q(pk__in=projects)
    if programs or portfolios:
        q |= Q(
            pk__in=ProjectLink.objects.filter(
                Q(program_id__in=programs) | Q(program__portfolio_id__in=portfolios)
            ).values("project_id")
        )
    return Project.objects.filter(q).values("pk")


def visible_programs(user):
    qs = Program.objects.select_related("portfolio")
    if is_admin(user):
        return qs
    if not _active(user):
        return qs.none()
    from django.db.models import Q

    grants = _grants(user)
    portfolios = {pf for _r, pf, _pg, _pj in grants if pf}
    programs = {pg for _r, _pf, pg, _pj in grants if pg}
    below = ProjectLink.objects.filter(project_id__in=visible_project_ids(user)).values("program_id")
    return qs.filter(Q(pk__in=programs) | Q(portfolio_id__in=portfolios) | Q(pk__in=below))


def visible_portfolios(user):
    qs = Portfolio.objects.all()
    if is_admin(user):
        return qs
    if not _active(user):
        return qs.none()
    from django.db.models import Q

    portfolios = {pf for _r, pf, _pg, _pj in _grants(user) if pf}
    return qs.filter(Q(pk__in=portfolios) | Q(pk__in=visible_programs(user).values("portfolio_id")))
