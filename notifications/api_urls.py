# REST routes of the notifications app, under /api/.
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("notifications", api.NotificationViewSet, basename="notification")
urlpatterns = router.urls
