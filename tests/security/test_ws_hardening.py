"""WebSocket handshake and frame hardening (issue #14, items 4, 5 and 10), through the whole
ASGI stack (origin check, auth middleware, router, consumer)."""

import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from rooms.models import Message
from tests.board.factories import make_project
from tests.rooms.factories import make_room

pytestmark = pytest.mark.django_db(transaction=True)

HOST = (b"host", b"testserver")


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def room(user):
    return make_room(user)


async def token_for(user) -> str:
    return await database_sync_to_async(lambda: str(AccessToken.for_user(user)))()


async def handshake(path: str, headers) -> tuple[WebsocketCommunicator, bool]:
    from contorl.asgi import application

    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect(timeout=5)
    return comm, connected


async def signed_in(path: str, user, headers=(HOST, (b"origin", b"http://testserver"))) -> WebsocketCommunicator:
    comm, connected = await handshake(path, list(headers))
    assert connected
    await comm.send_json_to({"type": "auth", "token": await token_for(user)})
    assert (await comm.receive_json_from(timeout=5))["type"] == "ready"
    return comm


async def close_code(comm, *, timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        out = await comm.receive_output(timeout=max(0.01, deadline - time.monotonic()))
        if out["type"] == "websocket.close":
            return out.get("code")


async def next_of(comm, kind, *, timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        frame = await comm.receive_json_from(timeout=max(0.01, deadline - time.monotonic()))
        if frame["type"] == kind:
            return frame


# --- item 10: Origin ----------------------------------------------------------------------------
async def test_a_client_without_origin_is_served_with_a_token(user, room):
    """CLI tools and bots send no Origin; they sign in with a token frame and must get in."""
    comm = await signed_in(f"/ws/rooms/{room.pk}/", user, headers=[HOST])
    await comm.send_json_to({"type": "message", "content": "from a script", "client_id": "cli1"})
    assert (await next_of(comm, "ack"))["client_id"] == "cli1"
    await comm.disconnect()


@pytest.mark.parametrize("origin", [b"https://evil.example", b"http://testserver.evil.example", b"null"])
async def test_a_foreign_origin_is_refused_at_the_handshake(user, room, origin):
    comm, connected = await handshake(f"/ws/rooms/{room.pk}/", [HOST, (b"origin", origin)])
    assert not connected  # HTTP 403 before any frame, token or not
    comm2, connected2 = await handshake("/ws/notifications/", [HOST, (b"origin", origin)])
    assert not connected2


async def test_the_own_origin_is_served(user, room):
    comm = await signed_in(f"/ws/rooms/{room.pk}/", user)
    await comm.disconnect()


# --- item 5: hidden and missing objects look alike ---------------------------------------------
async def test_hidden_and_missing_project_and_room_all_close_4404(user, make_user, other_department, room):
    outsider = await database_sync_to_async(make_user)("outsider", department=other_department)
    project = await database_sync_to_async(make_project)(user)
    codes = []
    for path in (f"/ws/projects/{project.pk}/", "/ws/projects/999999/", f"/ws/rooms/{room.pk}/", "/ws/rooms/999999/"):
        comm, connected = await handshake(path, [HOST])
        assert connected
        await comm.send_json_to({"type": "auth", "token": await token_for(outsider)})
        codes.append(await close_code(comm))
    assert codes == [4404, 4404, 4404, 4404]


# --- item 4: frames -----------------------------------------------------------------------------
async def test_a_deeply_nested_frame_closes_4400_not_1011(user, room):
    comm = await signed_in(f"/ws/rooms/{room.pk}/", user)
    depth = 50_000  # 100 KB: inside the frame limit, far past any parser's recursion limit
    await comm.send_to(text_data='{"type": "message", "metadata": ' + "[" * depth + "]" * depth + "}")
    assert await close_code(comm) == 4400


async def test_nesting_past_the_frame_depth_limit_closes_4400(user, room):
    from contorl.parsers import max_depth

    comm = await signed_in(f"/ws/rooms/{room.pk}/", user)
    nested = {"type": "message", "content": "x", "metadata": {}}
    inner = nested["metadata"]
    for _ in range(max_depth()):
        inner["a"] = {}
        inner = inner["a"]
    await comm.send_json_to(nested)
    assert await close_code(comm) == 4400


async def test_the_frame_limit_counts_utf8_bytes(user, room, settings):
    limit = settings.WS_MAX_FRAME_BYTES
    comm = await signed_in(f"/ws/rooms/{room.pk}/", user)
    # Under the limit in bytes: served (the content is too long for a message, so an error frame).
    ascii_frame = json.dumps({"type": "message", "content": "e" * (limit // 2), "client_id": "a1"})
    assert len(ascii_frame.encode()) < limit
    await comm.send_to(text_data=ascii_frame)
    assert (await next_of(comm, "error"))["data"]["code"] == "payload_too_large"
    # The same number of characters, two bytes each: over the limit in bytes, not in characters.
    wide_frame = json.dumps({"type": "message", "content": "é" * (limit // 2), "client_id": "a2"}, ensure_ascii=False)
    assert len(wide_frame) < limit < len(wide_frame.encode())
    await comm.send_to(text_data=wide_frame)
    assert await close_code(comm) == 4400


@pytest.mark.parametrize(
    "frame, field",
    [
        ({"type": "message", "content": "valve\u0000open", "client_id": "nul-content"}, "content"),
        ({"type": "message", "content": "ok", "client_id": "nul\u0000id"}, "client_id"),
        (
            {"type": "message", "content": "ok", "client_id": "nul-meta", "metadata": {"note": ["a\u0000"]}},
            "metadata",
        ),
    ],
)
async def test_nul_in_a_text_field_is_an_error_frame_and_nothing_is_stored(user, room, frame, field):
    comm = await signed_in(f"/ws/rooms/{room.pk}/", user)
    await comm.send_json_to(frame)
    error = await next_of(comm, "error")
    assert error["data"]["code"] == "validation_error" and field in error["data"]["details"]
    assert error["client_id"] == frame["client_id"]
    assert not await _user_messages(room)
    # The socket is still good for the next frame.
    await comm.send_json_to({"type": "message", "content": "valve open", "client_id": "after-nul"})
    assert (await next_of(comm, "ack"))["client_id"] == "after-nul"
    await comm.disconnect()


@database_sync_to_async
def _user_messages(room) -> list[str]:
    return list(Message.objects.filter(room=room).exclude(message_type="system").values_list("content", flat=True))
