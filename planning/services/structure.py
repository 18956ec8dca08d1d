"""Portfolios, programs, project links and phases."""

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import Sensitivity
from contorl.accounts.permissions import is_admin
from contorl.errors import Conflict, Forbidden, ValidationFailed

from .. import permissions
from ..models import Portfolio, Program, ProjectLink, ProjectPhase
from .common import _audit, _check_range, _create, _publish, _soft_delete, _update


@transaction.atomic
def portfolio_create(*, by, name: str, description: str = "") -> Portfolio:
    if not is_admin(by):
        raise Forbidden(_("Only administrators create portfolios."))
    return _create(Portfolio, by=by, fields={"name": name, "description": description})


@transaction.atomic
def portfolio_update(*, portfolio: Portfolio, version: int, by, **fields) -> Portfolio:
    permissions.require_portfolio_manager(by, portfolio)
    allowed = {k: v for k, v in fields.items() if k in ("name", "description")}
    return _update(portfolio, version=version, by=by, fields=allowed)


@transaction.atomic
def portfolio_delete(*, portfolio: Portfolio, by, version: int | None = None) -> Portfolio:
    permissions.require_portfolio_manager(by, portfolio)
    if Program.objects.filter(portfolio=portfolio).exists():
        raise Conflict(_("Delete or move this portfolio's programs first."))
    return _soft_delete(portfolio, by=by, version=version, sensitivity=Sensitivity.MEDIUM)


def _live_portfolio(portfolio) -> None:
    if portfolio is not None and portfolio.is_deleted:
        raise ValidationFailed.field("portfolio", _("This portfolio is deleted."))


@transaction.atomic
def program_create(*, by, portfolio: Portfolio, name: str, description: str = "") -> Program:
    permissions.require_new_portfolio_manager(by, portfolio)
    _live_portfolio(portfolio)
    return _create(Program, by=by, fields={"portfolio": portfolio, "name": name, "description": description})


@transaction.atomic
def program_update(*, program: Program, version: int, by, **fields) -> Program:
    permissions.require_program_manager(by, program)
    if "portfolio" in fields:
        permissions.require_new_portfolio_manager(by, fields["portfolio"])
    allowed = {k: v for k, v in fields.items() if k in ("name", "description", "portfolio")}
    _live_portfolio(allowed.get("portfolio"))
    return _update(program, version=version, by=by, fields=allowed)


@transaction.atomic
def program_delete(*, program: Program, by, version: int | None = None) -> Program:
    permissions.require_program_manager(by, program)
    if ProjectLink.objects.filter(program=program).exists():
        raise Conflict(_("Unlink this program's projects first."))
    return _soft_delete(program, by=by, version=version, sensitivity=Sensitivity.MEDIUM)


def _live_program(program) -> None:
    if program is not None and program.is_deleted:
        raise ValidationFailed.field("program", _("This program is deleted."))


@transaction.atomic
def link_create(*, by, project, program: Program) -> ProjectLink:
    if permissions.project_role(by, project) is None:
        raise permissions.no_such("project", project.pk)
    permissions.require_new_program_manager(by, program)
    _live_program(program)
    if ProjectLink.objects.filter(project=project).exists():
        raise ValidationFailed.field("project", _("This project already belongs to a program; change that link."))
    link = _create(ProjectLink, by=by, fields={"project": project, "program": program}, sensitivity=Sensitivity.MEDIUM)
    permissions.forget(by)
    return link


@transaction.atomic
def link_update(*, link: ProjectLink, version: int, by, program: Program | None) -> ProjectLink:
    permissions.require_program_manager(by, link.program)
    if program is None:
        raise ValidationFailed.field("program", _("This field is required."))
    permissions.require_new_program_manager(by, program)
    _live_program(program)
    return _update(link, version=version, by=by, fields={"program": program}, sensitivity=Sensitivity.MEDIUM)


@transaction.atomic
def link_delete(*, link: ProjectLink, by) -> None:
    """A link is not user content: removing it makes the project stand alone (audited)."""
    permissions.require_program_manager(by, link.program)
    _audit("delete", link, by, {"project": link.project_id, "program": link.program_id}, Sensitivity.MEDIUM)
    link.delete()


# --- phases ------------------------------------------------------------------------------

PHASE_FIELDS = ("name", "order", "start", "end", "gate_status")


@transaction.atomic
def phase_create(*, by, project, name: str, start, end, order: int = 0, gate_status: str = "not_started"):
    permissions.require_new_project(by, project, permissions.MANAGER)
    _check_range(start, end)
    fields = {"project": project, "name": name, "start": start, "end": end, "order": order, "gate_status": gate_status}
    phase = _create(ProjectPhase, by=by, fields=fields)
    _publish(phase, "phase_created", by)
    return phase


@transaction.atomic
def phase_update(*, phase: ProjectPhase, version: int, by, **fields) -> ProjectPhase:
    permissions.require_project(by, phase.project, permissions.MANAGER)
    allowed = {k: v for k, v in fields.items() if k in PHASE_FIELDS}
    _check_range(allowed.get("start", phase.start), allowed.get("end", phase.end))
    phase = _update(phase, version=version, by=by, fields=allowed)
    _publish(phase, "phase_changed", by)
    return phase


@transaction.atomic
def phase_delete(*, phase: ProjectPhase, by, version: int | None = None) -> ProjectPhase:
    permissions.require_project(by, phase.project, permissions.MANAGER)
    phase = _soft_delete(phase, by=by, version=version)
    _publish(phase, "phase_deleted", by)
    return phase
