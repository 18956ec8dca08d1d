# REST routes of the rooms app, under /api/.
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("rooms", api.RoomViewSet, basename="room")
router.register("room-templates", api.RoomTemplateViewSet, basename="room-template")
router.register("messages", api.MessageViewSet, basename="message")
router.register("room-files", api.RoomFileViewSet, basename="room-file")
urlpatterns = router.urls
