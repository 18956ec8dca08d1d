"""One ASGI application for HTTP and WebSocket, served by daphne."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contorl.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the consumers import models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from contorl.consumers import origin_validator  # noqa: E402
from notifications.routing import websocket_urlpatterns as notification_ws  # noqa: E402
from rooms.routing import websocket_urlpatterns as room_ws  # noqa: E402
from tasks.routing import websocket_urlpatterns as task_ws  # noqa: E402

websocket_urlpatterns = task_ws + room_ws + notification_ws

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": origin_validator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
