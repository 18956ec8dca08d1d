"""One ASGI application for HTTP and WebSocket, served by daphne."""

import asyncio
import contextlib
import os
import pprint
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.http.response import HttpResponseBase
from django.urls import set_script_prefix

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

    # Request threads kept for the next request once this many are idle (a burst past it gets
    # threads of its own, let go after their request).
    IDLE_THREADS = 32

    def __init__(self):
        super().__init__()
        self.idle_threads: list[ThreadPoolExecutor] = []

    async def __call__(self, scope, receive, send):
        # Django gives each request a thread of its own (a ThreadSensitiveContext): asgiref
        # started a thread for it, built Django's per-thread database wrapper in it, and
        # started a second thread to join the first at the end. Here the request's thread is
        # an idle one from an earlier request: still one request per thread at a time, as
        # under a threaded WSGI server.
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        thread = self.idle_threads.pop() if self.idle_threads else None
        thread = thread or ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            if len(self.idle_threads) < self.IDLE_THREADS:
                self.idle_threads.append(thread)
            else:
                thread.shutdown(wait=False)

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    async def handle(self, scope, receive, send):
        # Django's handle() makes three thread hops of a request (the request_started signal,
        # the response, its close with request_finished) and starts two tasks, one to notice
        # a client leaving early. Its sync parts run here in one hop (bench/PROFILE.md, eighth
        # session): a view in a thread cannot be stopped early anyway.
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            response = await sync_to_async(self._respond, thread_sensitive=True)(scope, body_file)
            if response.streaming:
                await self._stream(response, receive, send)
            else:
                await self.send_response(response, send)
        finally:
            body_file.close()

    def _respond(self, scope, body_file) -> HttpResponseBase:
        """The request's sync work, in its thread: the signal, the request, the response and,
        for a body already in memory, its close (request_finished: the database connection
        goes back to the pool before the bytes go out)."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if not response.streaming:
            response.close()
        return response

    async def _stream(self, response, receive, send) -> None:
        """A streamed body (a download, the audit CSV) as Django sends it: stopped when the
        client goes away, closed afterwards."""
        sending = asyncio.create_task(self.send_response(response, send))
        listening = asyncio.create_task(self.listen_for_disconnect(receive))
        try:
            await asyncio.wait([sending, listening], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (listening, sending):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await sync_to_async(response.close, thread_sensitive=True)()
        if listening.done() and not listening.cancelled():
            listening.exception()  # RequestAborted: the client left, which is not an error here
        if sending.done() and not sending.cancelled():
            sending.result()  # a failure while sending is the server's error, as in Django


django_asgi_app = OneHopASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from contorl import discovery, heap  # noqa: E402
from contorl.consumers import origin_validator  # noqa: E402
from contorl.socket_session import SocketSessionMiddleware  # noqa: E402


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


def _autobahn_formats_log_values_lazily() -> None:
    """autobahn (daphne's WebSocket protocol) passes every frame sent and every read to a
    debug log call whose arguments are built first, log level or not: hltype() inspects a
    method and styles its name in colour through click, hlval() styles the byte count. That was
    about 3% of daphne's busy time delivering chat frames (bench/PROFILE.md, seventh session).
    The values now go to the log as they are; a debug log shows them without colour."""
    try:
        from autobahn.twisted import websocket as twisted_websocket
        from autobahn.websocket import protocol
    except ImportError:  # served by something else
        return

    def as_is(value, *args, **kwargs):
        return value

    for module in (protocol, twisted_websocket):
        module.hltype = module.hlval = as_is
    # Every new socket also pretty-printed its 30-odd settings for a debug line
    # (WebSocketProtocol._connectionMade): 7% of daphne's time admitting sockets (bench/PROFILE.md,
    # eleventh session). The text is now made only when a debug log writes it.
    protocol.pformat = _PrettyWhenFormatted
    protocol.Timings.__str__ = lambda timings: pprint.pformat(timings._timings)  # the module's other use


class _PrettyWhenFormatted:
    """pprint.pformat(value), computed when a log line formats it, not before."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __str__(self):
        return pprint.pformat(self.value)

    __repr__ = __str__

    def __format__(self, spec):
        return format(str(self), spec)


_autobahn_formats_log_values_lazily()

# Each app's routing.websocket_urlpatterns (their paths do not overlap, so order is moot).
websocket_urlpatterns = discovery.websocket_urlpatterns()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": origin_validator(SocketSessionMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
heap.settle()  # last: what is loaded by now lives as long as the process (contorl/heap.py)
