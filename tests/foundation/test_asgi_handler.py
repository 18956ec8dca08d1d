"""contorl.asgi.OneHopASGIHandler: the sync middleware chain and the view in one thread hop."""

import json
from inspect import iscoroutinefunction

import pytest
from channels.testing import HttpCommunicator

from contorl.asgi import django_asgi_app


def test_the_middleware_chain_is_sync_under_asgi():
    # Django's own ASGIHandler builds an async chain, adapting each sync middleware to it.
    assert not iscoroutinefunction(django_asgi_app._middleware_chain)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_request_goes_through_the_chain_and_the_view():
    response = await HttpCommunicator(
        django_asgi_app, "GET", "/api/projects/999999/", headers=[(b"host", b"testserver")]
    ).get_response()
    assert response["status"] == 401  # DRF's view answered, in the contract's error envelope
    assert json.loads(response["body"])["error"]["code"] == "not_authenticated"


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_requests_reuse_an_idle_thread_and_keep_to_it(monkeypatch):
    """Each request runs in one thread, its signals (which close its database connection)
    included; the next request takes the same thread instead of asgiref starting a new one
    and a second one to join it."""
    import threading

    from django.core.signals import request_finished, request_started

    seen: list[tuple[str, int]] = []
    get_response = django_asgi_app.get_response

    def view_thread(request):
        seen.append(("view", threading.get_ident()))
        return get_response(request)

    def started(**kwargs):
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs):
        seen.append(("finished", threading.get_ident()))

    monkeypatch.setattr(django_asgi_app, "get_response", view_thread)
    request_started.connect(started)
    request_finished.connect(finished)
    try:
        for _ in range(2):
            communicator = HttpCommunicator(
                django_asgi_app, "GET", "/api/projects/999999/", headers=[(b"host", b"testserver")]
            )
            assert (await communicator.get_response())["status"] == 401
            await communicator.wait()  # the request is over: response closed, request_finished sent
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert [step for step, _thread in seen] == ["started", "view", "finished"] * 2
    assert len({thread for _step, thread in seen}) == 1
    assert seen[0][1] != threading.get_ident()  # not the event loop's thread
    assert len(django_asgi_app.idle_threads) >= 1


def test_autobahn_log_values_are_not_formatted_per_frame():
    from autobahn.twisted import websocket as twisted_websocket
    from autobahn.websocket import protocol

    value = object()
    assert protocol.hltype(value) is value and protocol.hlval(value) is value
    assert twisted_websocket.hlval(value) is value


def test_a_new_sockets_settings_are_pretty_printed_only_when_logged():
    """autobahn pretty-printed each new socket's settings for a debug line, logged or not."""
    from pprint import pformat

    from autobahn.websocket import protocol

    settings_seen = [("openHandshakeTimeout", 5, "Factory"), ("autoPingInterval", 0, "Factory")]
    lazy = protocol.pformat(settings_seen)
    assert not isinstance(lazy, str)  # nothing formatted yet
    assert f"{lazy}" == str(lazy) == repr(lazy) == pformat(settings_seen)
    assert f"{lazy:>200}".strip() == pformat(settings_seen)
    timings = protocol.Timings()
    timings.track("onOpen")
    assert str(timings) == pformat(timings._timings)  # Timings still prints as before


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_request_takes_one_thread_hop(monkeypatch):
    """The request_started signal, the view and the response's close (request_finished) go to
    the request's thread together: Django's own handler hands each over on its own."""
    from concurrent.futures import ThreadPoolExecutor

    hops = []
    submit = ThreadPoolExecutor.submit

    def counted(self, fn, *args, **kwargs):
        hops.append(fn)
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", counted)
    communicator = HttpCommunicator(django_asgi_app, "GET", "/api/projects/999999/", headers=[(b"host", b"testserver")])
    assert (await communicator.get_response())["status"] == 401
    await communicator.wait()
    assert len(hops) == 1


async def _endless(state):
    import asyncio

    try:
        while True:
            state["chunks"] += 1
            yield b"line\n"
            await asyncio.sleep(0)  # a live feed: each line leaves before the next is made
    finally:
        state["closed"] = True


_STREAM = {"chunks": 0, "closed": False}


def _streaming_view(request):
    from django.http import StreamingHttpResponse

    return StreamingHttpResponse(_endless(_STREAM), content_type="text/plain")


urlpatterns = []  # filled by the test below, which points ROOT_URLCONF here


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_streamed_body_stops_when_the_client_leaves(settings):
    """A streamed response keeps Django's watch for a client leaving: the stream stops and is
    closed (its generator finalised, request_finished sent) instead of running on."""
    from asgiref.testing import ApplicationCommunicator
    from django.core.signals import request_finished
    from django.urls import path

    urlpatterns[:] = [path("stream/", _streaming_view)]
    settings.ROOT_URLCONF = __name__
    finished = []

    def on_finished(**kwargs):
        finished.append(True)

    request_finished.connect(on_finished)
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": "/stream/",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
    }
    communicator = ApplicationCommunicator(django_asgi_app, scope)
    try:
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(timeout=5)
        assert start["type"] == "http.response.start" and start["status"] == 200
        first = await communicator.receive_output(timeout=5)
        assert first["body"].startswith(b"line")
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(timeout=5)  # the application ended: it did not stream on
    finally:
        request_finished.disconnect(on_finished)
    assert _STREAM["closed"] is True
    assert finished == [True]
