"""contorl.socket_session: a WebSocket's cookies, session and user, with the server's own send."""

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.test import Client

from contorl import socket_session
from contorl.socket_session import SocketSessionMiddleware


class _Inner:
    """The app behind the middleware: keeps what it was called with."""

    async def __call__(self, scope, receive, send):
        self.scope, self.send = scope, send


async def _handshake(headers):
    inner = _Inner()

    async def server_send(message):  # the server's own send
        raise AssertionError("nothing is sent here")

    await SocketSessionMiddleware(inner)({"type": "websocket", "headers": headers}, None, server_send)
    return inner, server_send


@pytest.mark.asyncio
async def test_frames_go_straight_to_the_server_and_no_cookie_needs_no_lookup(monkeypatch):
    async def no_lookup(scope):
        raise AssertionError("a socket without a session cookie looked its user up")

    monkeypatch.setattr(socket_session, "get_user", no_lookup)
    inner, server_send = await _handshake([(b"origin", b"http://127.0.0.1")])
    # channels' SessionMiddleware wrapped send to save the session on HTTP responses; a socket's
    # frames now reach the server unwrapped.
    assert inner.send is server_send
    assert not inner.scope["user"].is_authenticated
    assert inner.scope["cookies"] == {}
    assert inner.scope["session"].session_key is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_session_cookie_signs_the_socket_in(user, password):
    def sign_in():
        client = Client()
        assert client.login(username=user.username, password=password)
        return client.cookies[django_settings.SESSION_COOKIE_NAME].value

    key = await database_sync_to_async(sign_in)()
    cookie = f"theme=dark; {django_settings.SESSION_COOKIE_NAME}={key}".encode()
    inner, _ = await _handshake([(b"cookie", cookie)])
    assert inner.scope["user"].pk == user.pk
    assert inner.scope["session"].session_key == key
    assert inner.scope["cookies"]["theme"] == "dark"


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_unknown_or_forged_session_key_is_anonymous():
    for key in ("0" * 32, "../../etc/passwd", "<script>"):
        cookie = f"{django_settings.SESSION_COOKIE_NAME}={key}".encode()
        inner, _ = await _handshake([(b"cookie", cookie)])
        assert not inner.scope["user"].is_authenticated, key
