"""contorl_client (the Python room client) speaks the contract in docs/events: every frame
type it handles has a room schema, and every frame it sends passes the client schemas."""

import ast
import json
import uuid
from pathlib import Path

import contorl_client.client as client_module
from contorl_client.client import RoomClient

from . import frames

SOURCE = Path(client_module.__file__)


def handled_types() -> set[str]:
    """Frame types the client compares against: `kind == "..."` or `frame.get("type") == "..."`."""
    found = set()
    for node in ast.walk(frames.parse_python(SOURCE)):
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.NotEq))):
            continue
        left, right = node.left, node.comparators[0]
        is_type = (isinstance(left, ast.Name) and left.id == "kind") or (
            isinstance(left, ast.Call)
            and getattr(left.func, "attr", "") == "get"
            and left.args
            and isinstance(left.args[0], ast.Constant)
            and left.args[0].value == "type"
        )
        if is_type and isinstance(right, ast.Constant) and isinstance(right.value, str):
            found.add(right.value)
    return found


def test_every_frame_type_the_client_handles_is_a_room_frame():
    handled = handled_types()
    assert {"ping", "ready", "ack", "error", "resumed", "message"} <= handled  # the scan still sees them
    assert handled - set(frames.index()["room"]["server"]) == set()


class FakeSocket:
    """Stands in for a websockets connection: records what the client sends and feeds it
    `incoming` frames, running `during` (a coroutine function) once the socket is admitted."""

    close_code = 1000

    def __init__(self, client, incoming, during):
        self.client, self.incoming, self.during, self.sent = client, incoming, during, []

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False

    async def send(self, text):
        self.sent.append(text)

    async def close(self):
        pass

    def __aiter__(self):
        return self._frames()

    async def _frames(self):
        for frame in self.incoming:
            yield json.dumps(frame)
        await self.during()
        self.client._closed = True  # end _run after this session


class Connect:
    """What websockets' connect() returns: awaitable, and an async context manager."""

    def __init__(self, socket):
        self.socket = socket

    def __await__(self):
        return self.socket.__aenter__().__await__()

    async def __aenter__(self):
        return self.socket

    async def __aexit__(self, *exc):
        return False


async def test_every_frame_the_client_sends_passes_the_client_schemas(monkeypatch):
    client = RoomClient("http://testserver", room_id=12, token="header.payload.signature", resume_from=3)
    await client.send("queued while offline", client_id="offline-1")
    await client.send("a file", message_type="file_ref", metadata={"file_id": 3}, client_id="offline-2")

    async def during():
        await client.send("sent live")  # a generated client_id
        await client.typing()
        client._held[9] = {"type": "message", "seq": 9}
        await client._fill_gap()  # a gap that lasts: resume from last_seq

    monkeypatch.setattr(client_module, "GAP_TIMEOUT", 0)
    ready = {"type": "ready", "event_id": str(uuid.uuid4()), "data": {"room": 12, "last_seq": 5}}
    socket = FakeSocket(client, [{"type": "ping"}, ready], during)
    monkeypatch.setattr(client_module, "ws_connect", lambda *a, **kw: Connect(socket))
    await client._run()

    sent = [json.loads(text) for text in socket.sent]
    kinds = [frame["type"] for frame in sent]
    # auth first, the pong, then resume and the offline queue in order, then the live frames.
    assert kinds == ["auth", "pong", "resume", "message", "message", "message", "typing", "resume"], kinds
    assert [f.get("client_id") for f in sent if f["type"] == "message"][:2] == ["offline-1", "offline-2"]
    for frame in sent:
        assert frames.problems(frame, endpoint="room", direction="client") == [], frame


async def test_frames_a_server_sends_the_client_are_checked_too(monkeypatch, _event_contract):
    # tests/client talks to a daphne in another process: the autouse watcher checks what
    # reaches RoomClient through contorl_client.open_socket.
    client = RoomClient("http://testserver", room_id=12, token="header.payload.signature")

    async def during():
        pass

    incoming = [{"type": "ready", "data": {"room": 12, "last_seq": 0}}, {"type": "surprise", "event_id": "x"}]
    socket = FakeSocket(client, incoming, during)
    monkeypatch.setattr(client_module, "ws_connect", lambda *a, **kw: Connect(socket))
    await client._run()
    found = list(_event_contract)
    _event_contract.clear()
    assert len(found) == 2, found
    assert "RoomClient received on /ws/rooms/12/" in found[0] and "'event_id' is a required property" in found[0]
    assert "'surprise' has no schema on the room endpoint" in found[1]
