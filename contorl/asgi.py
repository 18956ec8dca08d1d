"""One ASGI application for HTTP and WebSocket, served by daphne."""

import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contorl.settings")
django.setup(set_prefix=False)  # before the consumers import models (as get_asgi_application)


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, with the middleware chain and the view in one thread hop.

    Under ASGI Django builds an async chain and adapts each sync middleware to it. Ours are
    sync (an async MiddlewareMixin hops to a thread for every process_request and
    process_response), except simple_history's, which is async-capable and sits innermost, so
    every request entered a worker thread for the chain, went back to the event loop for that
    one middleware, and entered the thread again for the view (our views are all sync): three
    hand-offs, each a future, a context copy and two GIL switches. Here the sync chain runs
    whole in the request's thread, as under WSGI; an async view would still run (Django wraps
    it in async_to_sync). Reading the body, the signals and sending the response stay async.
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django_asgi_app = OneHopASGIHandler()

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
