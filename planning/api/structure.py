"""Portfolios, programs, project links and phases."""

from .. import filters, services
from .. import permissions as P
from ..models import ProjectLink
from .common import PlanningViewSet, _ProjectScoped
from .serializers import PhaseSerializer, PortfolioSerializer, ProgramSerializer, ProjectLinkSerializer


class PortfolioViewSet(PlanningViewSet):
    """Portfolios: system admins create; managers of a portfolio change it."""

    serializer_class = PortfolioSerializer
    filterset_class = filters.PortfolioFilter

    def visible(self, queryset):
        return P.visible_portfolios(self.request.user)

    def do_create(self, data):
        return services.portfolio_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        return services.portfolio_update(portfolio=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.portfolio_delete(portfolio=obj, by=self.request.user, version=version)


class ProgramViewSet(PlanningViewSet):
    """Programs: managers of the portfolio create; managers of the program change it."""

    serializer_class = ProgramSerializer
    filterset_class = filters.ProgramFilter

    def visible(self, queryset):
        return P.visible_programs(self.request.user)

    def do_create(self, data):
        return services.program_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        return services.program_update(program=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.program_delete(program=obj, by=self.request.user, version=version)


class ProjectLinkViewSet(PlanningViewSet):
    """Project -> program links: a manager of the program links a project they can see."""

    serializer_class = ProjectLinkSerializer
    filterset_class = filters.ProjectLinkFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProjectLink.objects.none()
        ids = P.visible_project_ids(self.request.user)
        qs = ProjectLink.objects.select_related("program")
        return qs if ids is None else qs.filter(project_id__in=ids)

    def do_create(self, data):
        return services.link_create(by=self.request.user, project=data["project"], program=data["program"])

    def do_update(self, obj, version, data):
        return services.link_update(link=obj, version=version, by=self.request.user, program=data.get("program"))

    def do_delete(self, obj, version):
        services.link_delete(link=obj, by=self.request.user)


class PhaseViewSet(_ProjectScoped):
    serializer_class = PhaseSerializer
    filterset_class = filters.PhaseFilter

    def do_create(self, data):
        return services.phase_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        data.pop("project", None)
        return services.phase_update(phase=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.phase_delete(phase=obj, by=self.request.user, version=version)
