"""Scoped planning roles."""

from django.db.models import Q

from contorl import ratelimits
from contorl.accounts.permissions import is_admin

from .. import filters, services
from .. import permissions as P
from ..models import ScopeAssignment
from .common import PlanningViewSet
from .serializers import ScopeAssignmentSerializer


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
        managed = [g.pk for g in qs if g.user_id != user.pk and P.scope_role(user, g) == P.MANAGER]
        return qs.filter(Q(user_id=user.pk) | Q(pk__in=managed))

    def do_create(self, data):
        return services.grant_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        return services.grant_update(grant=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.grant_delete(grant=obj, by=self.request.user)
