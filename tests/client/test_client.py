"""contorl_client against a real daphne on loopback (tests/rooms/live.py)."""

import asyncio

import httpx
import pytest

from contorl_client import RoomClient, RoomError, backoff_delay
from tests.rooms.live import DEMO_PASSWORD, new_room, token

pytestmark = pytest.mark.slow


def test_backoff_doubles_from_1_to_30_seconds():
    assert [backoff_delay(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]


def client(server, room_id, username, **kw):
    return RoomClient(server.url, room_id=room_id, username=username, password=DEMO_PASSWORD, **kw)


def stored(server, room_id, username="bob"):
    headers = {"Authorization": f"Bearer {token(server, username)}"}
    r = httpx.get(f"{server.url}/api/rooms/{room_id}/messages/?limit=200", headers=headers, timeout=10)
    return r.json()["results"]


async def test_send_receive_and_idempotent_client_id(live_server_proc):
    server = live_server_proc
    room_id = await asyncio.to_thread(new_room, server, "bob", {"alice": "editor"})
    async with client(server, room_id, "bob") as bob, client(server, room_id, "alice") as alice:
        ack = await bob.send_and_wait("Line 3 hydraulic pressure low", client_id="press-1")
        frame = await alice.receive_message(timeout=10)
        assert frame["seq"] == ack["seq"] and frame["data"]["content"] == "Line 3 hydraulic pressure low"
        again = await bob.send_and_wait("Line 3 hydraulic pressure low", client_id="press-1")
        assert again == ack
    contents = [m["content"] for m in await asyncio.to_thread(stored, server, room_id)]
    assert contents.count("Line 3 hydraulic pressure low") == 1


async def test_reconnect_resume_and_offline_queue(live_server_proc):
    server = live_server_proc
    room_id = await asyncio.to_thread(new_room, server, "bob", {"alice": "editor"})
    bob = client(server, room_id, "bob")
    alice = client(server, room_id, "alice", resume_from=0)
    await bob.start()
    await alice.start()
    await bob.wait_connected()
    await alice.wait_connected()
    await alice.resumed.wait()
    await bob.send_and_wait("before the drop")
    seen = []
    while not seen or seen[-1]["data"]["content"] != "before the drop":
        seen.append(await alice.receive_message(timeout=10))

    # Alice's network drops mid-stream; Bob keeps talking; Alice types while offline.
    await alice.drop_connection()
    await asyncio.wait_for(_until(lambda: not alice.connected.is_set()), 10)
    for i in range(5):
        await bob.send_and_wait(f"while away {i}")
    queued = [await alice.send(f"offline {i}") for i in range(3)]
    assert alice.pending == queued

    # Back after the 1 s backoff: resume, then the queue goes out once, in order.
    await alice.wait_connected(timeout=20)
    acks = [await alice.wait_ack(cid, timeout=20) for cid in queued]
    assert [a["seq"] for a in acks] == sorted(a["seq"] for a in acks)
    while seen[-1]["data"]["content"] != "offline 2":
        seen.append(await alice.receive_message(timeout=10))
    seqs = [f["seq"] for f in seen]
    assert seqs == list(range(1, seqs[-1] + 1))  # nothing missing, nothing twice, in order
    assert alice.connects == 2 and alice.pending == []

    # Bob saw Alice's queued messages exactly once each.
    got = []
    while len(got) < 3:
        frame = await bob.receive_message(timeout=10)
        if frame["data"]["content"].startswith("offline"):
            got.append(frame["data"]["content"])
    assert got == ["offline 0", "offline 1", "offline 2"]
    await bob.close()
    await alice.close()
    contents = [m["content"] for m in await asyncio.to_thread(stored, server, room_id)]
    assert [c for c in contents if c.startswith("offline")] == ["offline 0", "offline 1", "offline 2"]


async def test_refused_send_raises_and_non_member_stops(live_server_proc):
    server = live_server_proc
    room_id = await asyncio.to_thread(new_room, server, "bob", {"dave": "viewer"})
    async with client(server, room_id, "dave") as dave:
        with pytest.raises(RoomError) as info:
            await dave.send_and_wait("viewers cannot write")
        assert info.value.code == "permission_denied"
    outsider = client(server, room_id, "carol")
    await outsider.start()
    await asyncio.wait_for(outsider._runner, 15)  # 4404 (hidden looks missing): the client gives up instead of retrying
    assert "4404" in (outsider._stop_reason or "")
    await outsider.close()


async def _until(predicate, interval=0.05):
    while not predicate():
        await asyncio.sleep(interval)


async def test_open_socket_connects_and_authenticates(live_server_proc):
    """The low-level door RoomClient, the bench clients and the stack tests share: connect,
    first-frame auth; a good token is admitted (ready), a bad one is closed with 4401."""
    import json

    from contorl_client import open_socket, ws_url

    server = live_server_proc
    room_id = await asyncio.to_thread(new_room, server, "bob", {})
    url = ws_url(server.url, f"/ws/rooms/{room_id}/")
    assert url.startswith("ws://127.0.0.1:")
    good = await asyncio.to_thread(token, server, "bob")
    ws = await open_socket(url, token=good)
    try:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert frame["type"] == "ready"
    finally:
        await ws.close()
    ws = await open_socket(url, token="not-a-token")
    with pytest.raises(Exception):  # noqa: B017, PT011 (websockets' ConnectionClosed* family)
        await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 4401
