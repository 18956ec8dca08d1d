# REST routes of the audit app, under /api/.
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("audit-logs", api.AuditLogViewSet, basename="audit-log")
urlpatterns = router.urls
