"""One ASGI application for HTTP and WebSocket, served by daphne."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contorl.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the consumers import models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from contorl import discovery, heap  # noqa: E402
from contorl.consumers import origin_validator  # noqa: E402

# Each app's routing.websocket_urlpatterns (their paths do not overlap, so order is moot).
websocket_urlpatterns = discovery.websocket_urlpatterns()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": origin_validator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
heap.settle()  # last: what is loaded by now lives as long as the process (contorl/heap.py)
