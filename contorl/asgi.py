"""One ASGI application for HTTP and WebSocket, served by daphne."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contorl.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the consumers import models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from contorl import discovery, heap  # noqa: E402
from contorl.consumers import origin_validator  # noqa: E402


def _daphne_leaves_bodies_to_django() -> None:
    """Twisted, under daphne, parses every multipart POST body into request.args, which daphne
    never reads (it hands the raw body to Django), and answers a body it cannot parse with a
    bare 400, no Content-Type and no error envelope, before the application sees it. Twisted
    can skip that (parsePOSTFormSubmission=False); daphne passes its request arguments through.
    This also spares parsing a 25 MB upload twice (tests/security/test_daphne_bodies.py)."""
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # served by something else
        return
    init = WebRequest.__init__
    if getattr(init, "_contorl_no_form_parsing", False):
        return

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        init(self, *args, **kwargs)

    __init__._contorl_no_form_parsing = True
    WebRequest.__init__ = __init__


_daphne_leaves_bodies_to_django()

# Each app's routing.websocket_urlpatterns (their paths do not overlap, so order is moot).
websocket_urlpatterns = discovery.websocket_urlpatterns()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": origin_validator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
heap.settle()  # last: what is loaded by now lives as long as the process (contorl/heap.py)
