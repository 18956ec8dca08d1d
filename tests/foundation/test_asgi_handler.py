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
