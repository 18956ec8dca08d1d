"""Scoped planning roles: grants, changes and revokes (audited as permission changes)."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audit import services as audit
from audit.services import Sensitivity
from contorl.errors import ValidationFailed
from contorl.versioning import versioned_update

from .. import permissions
from ..models import ScopeAssignment


def _grant_changes(grant: ScopeAssignment, action: str, role_change=None) -> dict:
    return {
        "action": action,
        "user": grant.user_id,
        "role": role_change or grant.role,
        "scope_type": grant.scope_type,
        "scope_id": grant.scope_id,
    }


def _audit_permission(grant: ScopeAssignment, by, changes: dict) -> None:
    audit.record("planning.permission_change", actor=by, obj=grant, sensitivity=Sensitivity.HIGH, changes=changes)


@transaction.atomic
def grant_create(*, by, user, role: str, portfolio=None, program=None, project=None) -> ScopeAssignment:
    permissions.require_scope_manager(by, {"portfolio": portfolio, "program": program, "project": project})
    if sum(x is not None for x in (portfolio, program, project)) != 1:
        raise ValidationFailed.field("scope", _("Give exactly one of portfolio, program or project."))
    if not user.is_active:
        raise ValidationFailed.field("user", _("This user is inactive."))
    scope = {"portfolio": portfolio, "program": program, "project": project}
    if ScopeAssignment.objects.filter(user=user, **{k: v for k, v in scope.items() if v is not None}).exists():
        raise ValidationFailed.field("user", _("This user already has a role here; change it instead."))
    grant = ScopeAssignment(user=user, role=role, granted_by=by, **scope)
    try:
        with transaction.atomic():
            grant.save()
    except IntegrityError:
        raise ValidationFailed.field("user", _("This user already has a role here; change it instead.")) from None
    _audit_permission(grant, by, _grant_changes(grant, "grant"))
    permissions.forget(user)
    return grant


@transaction.atomic
def grant_update(*, grant: ScopeAssignment, version: int, by, **fields) -> ScopeAssignment:
    permissions.require_scope_manager(by, grant)
    if set(fields) != {"role"}:
        raise ValidationFailed.field("role", _("Only the role of a grant can change; revoke and grant again."))
    old, role = grant.role, fields["role"]
    grant = versioned_update(grant, version=version, fields={"role": role}, by=by)
    _audit_permission(grant, by, _grant_changes(grant, "change", [old, role]))
    permissions.forget(grant.user)
    return grant


@transaction.atomic
def grant_delete(*, grant: ScopeAssignment, by) -> None:
    permissions.require_scope_manager(by, grant)
    _audit_permission(grant, by, _grant_changes(grant, "revoke"))
    user = grant.user
    grant.delete()
    permissions.forget(user)
