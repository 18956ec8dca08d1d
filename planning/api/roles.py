"""Scoped planning roles."""

from django.utils.translation import gettext as _

from contorl import ratelimits
from contorl.accounts.permissions import is_admin
from contorl.errors import ValidationFailed

from .. import filters, services
from .. import permissions as P
from ..models import (
    ScopeAssignment,
)
from .common import PlanningViewSet
from .serializers import ScopeAssignmentSerializer


def _scope_role(user, grant_or_data) -> str | None:
    get = grant_or_data.get if isinstance(grant_or_data, dict) else lambda k: getattr(grant_or_data, k)
    if get("portfolio") is not None:
        return P.portfolio_role(user, get("portfolio").pk)
    if get("program") is not None:
        return P.program_role(user, get("program"))
    if get("project") is not None:
        return P.project_role(user, get("project"))
    return None


class ScopeAssignmentViewSet(PlanningViewSet):
    """Planning roles on a scope. Managers of the scope grant, change and revoke (sensitive
    tier, audited as planning.permission_change). Everyone sees their own grants; managers
    also see the grants on the scopes they manage."""

    serializer_class = ScopeAssignmentSerializer
    filterset_class = filters.ScopeAssignmentFilter
    rate_tiers = {
        "create": ratelimits.SENSITIVE,
        "partial_update": ratelimits.SENSITIVE,
        "destroy": ratelimits.SENSITIVE,
    }

    def get_queryset(self):
        qs = ScopeAssignment.objects.select_related("user", "portfolio", "program", "project")
        if getattr(self, "swagger_fake_view", False):
            return qs.none()
        user = self.request.user
        if is_admin(user):
            return qs
        managed = [g.pk for g in qs if g.user_id != user.pk and _scope_role(user, g) == P.MANAGER]
        from django.db.models import Q

        return qs.filter(Q(user_id=user.pk) | Q(pk__in=managed))

    def check_write(self, obj, data):
        user = self.request.user
        scope = obj if obj is not None else data
        role = _scope_role(user, scope)
        if role is None:
            raise ValidationFailed.field("scope", _("Give exactly one of portfolio, program or project you can see."))
        P.require(role, P.MANAGER)

    def do_create(self, data):
        return services.grant_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        if set(data) - {"role"} or "role" not in data:
            raise ValidationFailed.field("role", _("Only the role of a grant can change; revoke and grant again."))
        return services.grant_update(grant=obj, version=version, by=self.request.user, role=data["role"])

    def do_delete(self, obj, version):
        services.grant_delete(grant=obj, by=self.request.user)
