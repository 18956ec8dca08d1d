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

Invisible objects are 404; visible ones the user may not change are 403; an invisible object
named in a request body is 400 on that field. The services call the require_* checks with
their `by=` user, so every door (API, pages, admin, seed) meets the same rules once.
"""

from django.utils.translation import gettext as _

from contorl.accounts.permissions import is_admin
from contorl.errors import Forbidden, NotFound, ValidationFailed
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


def has_any_grant(user) -> bool:
    """Rates, leave and everyone's capacity are read by holders of any planning grant."""
    return is_admin(user) or bool(_active(user) and _grants(user))


def no_such(field: str, pk) -> ValidationFailed:
    # Same answer for "no such row" and "not yours": ids of invisible rows never leak.
    return ValidationFailed.field(field, _('Invalid pk "%(pk)s" - object does not exist.') % {"pk": pk})


def require_new_project(user, project, needed: str) -> None:
    """Writing into `project`, named in the request body: invisible is a bad field (400)."""
    if project_role(user, project) is None:
        raise no_such("project", project.pk)
    require_project(user, project, needed)


def require_portfolio_manager(user, portfolio) -> None:
    require(portfolio_role(user, portfolio.pk) or VIEWER, MANAGER)


def require_new_portfolio_manager(user, portfolio) -> None:
    """`portfolio` named in the request body (a program created in or moved to it)."""
    if not visible_portfolios(user).filter(pk=portfolio.pk).exists():
        raise no_such("portfolio", portfolio.pk)
    require_portfolio_manager(user, portfolio)


def require_program_manager(user, program) -> None:
    require(program_role(user, program) or VIEWER, MANAGER)


def require_new_program_manager(user, program) -> None:
    """`program` named in the request body (a project linked to it). A program visible only
    through a project below it gives no role on it: that answers 404 like an invisible one."""
    if not visible_programs(user).filter(pk=program.pk).exists():
        raise no_such("program", program.pk)
    require(program_role(user, program), MANAGER)


def scope_role(user, scope) -> str | None:
    """The user's role on the scope of a grant (a ScopeAssignment or its fields as a dict)."""
    get = scope.get if isinstance(scope, dict) else lambda k: getattr(scope, k)
    if get("portfolio") is not None:
        return portfolio_role(user, get("portfolio").pk)
    if get("program") is not None:
        return program_role(user, get("program"))
    if get("project") is not None:
        return project_role(user, get("project"))
    return None


def require_scope_manager(user, scope) -> None:
    role = scope_role(user, scope)
    if role is None:
        raise ValidationFailed.field("scope", _("Give exactly one of portfolio, program or project you can see."))
    require(role, MANAGER)


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
