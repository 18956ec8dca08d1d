"""Shared resources: worker types, rates, workers and their leave."""

from .. import filters, services
from .. import permissions as P
from ..models import Worker
from .common import PlanningViewSet
from .serializers import RateSerializer, WorkerExceptionSerializer, WorkerSerializer, WorkerTypeSerializer


class _Resource(PlanningViewSet):
    """Shared resources: every signed-in user reads; planning managers write (the services check)."""


class WorkerTypeViewSet(_Resource):
    serializer_class = WorkerTypeSerializer
    filterset_class = filters.WorkerTypeFilter

    def do_create(self, data):
        return services.worker_type_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        return services.worker_type_update(worker_type=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.worker_type_delete(worker_type=obj, by=self.request.user, version=version)


class RateViewSet(_Resource):
    """Rates are cost data: read by users holding a planning role, written by managers."""

    serializer_class = RateSerializer
    filterset_class = filters.RateFilter

    def visible(self, queryset):
        return queryset if P.has_any_grant(self.request.user) else queryset.none()

    def do_create(self, data):
        return services.rate_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        data.pop("worker_type", None)
        return services.rate_update(rate=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.rate_delete(rate=obj, by=self.request.user, version=version)


class WorkerViewSet(_Resource):
    serializer_class = WorkerSerializer
    filterset_class = filters.WorkerFilter

    def get_queryset(self):
        return Worker.objects.select_related("worker_type")

    def do_create(self, data):
        return services.worker_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        return services.worker_update(worker=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.worker_delete(worker=obj, by=self.request.user, version=version)


class WorkerExceptionViewSet(_Resource):
    """Leave: read by planning role holders and the worker themselves; written by managers."""

    serializer_class = WorkerExceptionSerializer
    filterset_class = filters.WorkerExceptionFilter

    def visible(self, queryset):
        user = self.request.user
        return queryset if P.has_any_grant(user) else queryset.filter(worker__user_id=user.pk)

    def do_create(self, data):
        return services.exception_create(by=self.request.user, **data)

    def do_update(self, obj, version, data):
        data.pop("worker", None)
        return services.exception_update(exception=obj, version=version, by=self.request.user, **data)

    def do_delete(self, obj, version):
        services.exception_delete(exception=obj, by=self.request.user, version=version)
