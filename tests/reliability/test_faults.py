"""Fault injection against the stack's own Redis, PostgreSQL cluster and daphne processes.

Nothing here touches the machine's shared PostgreSQL (5432) or Redis (6379): the stack
fixture started private ones, and these tests stop and restart exactly those.
"""

import asyncio
import os
import signal
import time
import uuid

import pytest

from deploy.stack.stack import port_open

from .test_scaleout import make_project, make_room
from .wsclient import RoomFollower, Socket, api, of_type

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(150)]

OUTAGE_SECONDS = 10


def admitted(frame: dict) -> bool:
    """The first frame a room socket gets once it is admitted (own presence, or 'ready')."""
    return frame.get("type") in ("presence", "ready")


async def room_last_seq(stack, room_id: int, token: str) -> int:
    async with api(stack.daphne_url(0), token) as client:
        r = await client.get(f"/api/rooms/{room_id}/messages/", params={"limit": 1})
        assert r.status_code == 200, r.text
        return r.json()["last_seq"]


async def all_messages(stack, room_id: int, token: str) -> list[dict]:
    out, after = [], 0
    async with api(stack.daphne_url(0), token) as client:
        while True:
            r = await client.get(f"/api/rooms/{room_id}/messages/", params={"after_seq": after, "limit": 200})
            assert r.status_code == 200, r.text
            batch = r.json()["results"]
            if not batch:
                return out
            out += batch
            after = batch[-1]["seq"]


class Writer:
    """Posts chat messages over HTTP with a client_id, retrying a failed one with the same id
    (the contract makes that idempotent), alternating between the two daphne processes."""

    def __init__(self, stack, room_id: int, user: str, bases: list[str], interval: float = 0.08):
        self.stack, self.room_id, self.user, self.bases, self.interval = stack, room_id, user, bases, interval
        self.statuses: list[tuple[float, int, str]] = []  # (time, status, error code)
        self.confirmed: dict[str, int] = {}  # client_id -> seq
        self.stopping = False
        # client_id is unique per sender across all rooms, so each run needs its own ids.
        self.prefix = f"{user}-{uuid.uuid4().hex[:6]}"

    async def run(self) -> None:
        token = self.stack.users[self.user]["token"]
        clients = [api(base, token, timeout=8) for base in self.bases]
        i = 0
        try:
            while not self.stopping:
                client_id = f"{self.prefix}-{i}"
                while not self.stopping:
                    client = clients[(i + len(self.statuses)) % len(clients)]
                    try:
                        r = await client.post(
                            f"/api/rooms/{self.room_id}/messages/", json={"content": client_id, "client_id": client_id}
                        )
                        code = r.json().get("error", {}).get("code", "") if r.status_code >= 400 else ""
                        self.statuses.append((time.monotonic(), r.status_code, code))
                        if r.status_code in (200, 201):
                            self.confirmed[client_id] = r.json()["seq"]
                            break
                    except Exception as exc:  # connection refused/reset: the process is gone
                        self.statuses.append((time.monotonic(), 0, type(exc).__name__))
                    await asyncio.sleep(0.2)
                i += 1
                await asyncio.sleep(self.interval)
        finally:
            for client in clients:
                await client.aclose()


async def test_redis_outage_under_chat_and_board_load(healthy_stack):
    stack = healthy_stack
    tokens = {u: stack.users[u]["token"] for u in stack.users}
    room_id = await make_room(stack, "alice", {"load1": "editor", "load2": "editor", "bob": "viewer"})
    project_id = await make_project(stack, "alice", {"bob": "member"})
    start = await room_last_seq(stack, room_id, tokens["alice"])
    bases = [stack.daphne_url(0), stack.daphne_url(1)]
    followers = [
        RoomFollower(bases, room_id, tokens["bob"], start).start(),
        RoomFollower([stack.base_url], room_id, tokens["alice"], start).start(),
    ]
    board = await Socket(stack.daphne_url(1), f"/ws/projects/{project_id}/", tokens["bob"]).connect()
    writers = [Writer(stack, room_id, "load1", bases), Writer(stack, room_id, "load2", bases[::-1])]
    tasks = [asyncio.create_task(w.run()) for w in writers]

    # Board load: one task edited over and over through both processes.
    async with api(bases[0], tokens["alice"]) as client:
        r = await client.post("/api/tasks/", json={"project": project_id, "title": "edit 0"})
        assert r.status_code == 201, r.text
        task = r.json()
    board_versions: list[int] = []
    board_failures: list[tuple[int, str]] = []
    board_stop = False

    async def edit_board():
        version, n = task["version"], 0
        clients = [api(b, tokens["alice"], timeout=8) for b in bases]
        try:
            while not board_stop:
                n += 1
                r = await clients[n % 2].patch(
                    f"/api/tasks/{task['id']}/", json={"version": version, "title": f"edit {n}"}
                )
                if r.status_code == 200:
                    version = r.json()["version"]
                    board_versions.append(version)
                else:
                    board_failures.append((r.status_code, r.text[:200]))
                await asyncio.sleep(0.15)
        finally:
            for c in clients:
                await c.aclose()

    board_task = asyncio.create_task(edit_board())
    try:
        await asyncio.sleep(2)
        outage_started = time.monotonic()
        stack.stop_redis()
        # /health/ready names the outage on both processes.
        async with api(bases[1]) as client:
            ready = await client.get("/health/ready")
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"] == "ok"
        assert checks["cache"].startswith("error") and checks["channel_layer"].startswith("error")
        await asyncio.sleep(max(0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))
        stack.start_redis()
        outage_ended = time.monotonic()
        await asyncio.sleep(4)
    finally:
        for w in writers:
            w.stopping = True
        board_stop = True
        await asyncio.gather(*tasks, board_task)

    # HTTP writes succeeded throughout, including the outage.
    during = [s for w in writers for s in w.statuses if outage_started <= s[0] <= outage_ended]
    assert len(during) >= 20, "the writers kept writing during the outage"
    chat_failures = [s for w in writers for s in w.statuses if s[1] not in (200, 201)]
    assert board_failures == [], f"board writes failed: {board_failures[:5]}"

    # Ready recovers by itself.
    deadline = time.monotonic() + 20
    while True:
        async with api(bases[0]) as client:
            ready = await client.get("/health/ready")
        if ready.status_code == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert ready.status_code == 200, ready.text
    ready_after = time.monotonic() - outage_ended

    # Every message exists once, and every follower ends up with all of them, never twice on one socket.
    stored = await all_messages(stack, room_id, tokens["alice"])
    stored = [m for m in stored if m["seq"] > start]
    confirmed = {cid: seq for w in writers for cid, seq in w.confirmed.items()}
    assert sorted(m["content"] for m in stored) == sorted(confirmed)
    assert [m["seq"] for m in stored] == list(range(start + 1, start + 1 + len(stored)))
    last = stored[-1]["seq"]
    try:
        for f in followers:
            await f.until_has(last, 20)
            assert {s: f.messages[s] for s in range(start + 1, last + 1)} == {m["seq"]: m["content"] for m in stored}
            assert f.duplicates() == []
            # The core layer closes the sockets (the client reconnects); the pub/sub layer keeps
            # them open and asks each for a reread once it has re-subscribed.
            assert len(f.connections) + f.resyncs >= 2, "the outage closed or resynced the sockets"
        print(
            f"FIGURES redis-outage: {len(stored)} messages ({len(during)} writes during the outage), "
            f"ready 200 {ready_after:.1f}s after restart, followers complete "
            f"{time.monotonic() - outage_ended:.1f}s after restart, 0 lost, 0 duplicated"
        )
    finally:
        for f in followers:
            await f.stop()
        await board.close()

    # The board: the last successful write is what everyone reads now.
    async with api(bases[1], tokens["bob"]) as client:
        current = (await client.get(f"/api/tasks/{task['id']}/")).json()
    assert current["version"] == board_versions[-1]
    assert current["version"] == task["version"] + len(board_versions)

    assert chat_failures == [], f"chat writes failed: {chat_failures[:10]}"


async def test_postgres_restart_under_load(healthy_stack):
    stack = healthy_stack
    tokens = {u: stack.users[u]["token"] for u in stack.users}
    room_id = await make_room(stack, "alice", {"load3": "editor", "load4": "editor"})
    start = await room_last_seq(stack, room_id, tokens["alice"])
    bases = [stack.daphne_url(0), stack.daphne_url(1)]
    writers = [Writer(stack, room_id, "load3", bases), Writer(stack, room_id, "load4", bases[::-1])]
    tasks = [asyncio.create_task(w.run()) for w in writers]
    ready_during = None
    try:
        await asyncio.sleep(1.5)
        stack.stop_own_postgres(mode="fast")
        outage_started = time.monotonic()
        async with api(bases[0]) as client:
            ready_during = await client.get("/health/ready")
        await asyncio.sleep(3)
        stack.start_own_postgres()
        restarted = time.monotonic()
        # Let the pools find out by themselves that their connections died.
        await asyncio.sleep(6)
    finally:
        for w in writers:
            w.stopping = True
        await asyncio.gather(*tasks)

    assert ready_during.status_code == 503
    assert ready_during.json()["checks"]["database"].startswith("error")
    statuses = [s for w in writers for s in w.statuses]
    during = [s for s in statuses if outage_started <= s[0] <= restarted]
    assert any(s[1] == 503 for s in during), "requests during the outage were refused"
    bad = [s for s in statuses if s[1] not in (200, 201) and not (s[1] == 503 and s[2] == "service_unavailable")]
    assert bad == [], f"only clean 503s in the error envelope are allowed: {bad[:10]}"
    # The pool recovered by itself: writes succeed again within a few seconds of the restart,
    # and the last two seconds of load had no failure at all.
    after = [s for s in statuses if s[0] > restarted]
    first_ok = next(s[0] for s in after if s[1] in (200, 201))
    assert first_ok - restarted < 5
    print(
        f"FIGURES postgres-restart: {sum(1 for s in during if s[1] == 503)} clean 503s during the outage, "
        f"first success {first_ok - restarted:.2f}s after restart, {len(statuses)} requests"
    )
    assert all(s[1] in (200, 201) for s in statuses if s[0] > time.monotonic() - 2)
    # Nothing half-written: the room's counter and its rows agree, every acknowledged
    # message is stored exactly once, nothing unacknowledged was stored.
    stored = [m for m in await all_messages(stack, room_id, tokens["alice"]) if m["seq"] > start]
    confirmed = {cid: seq for w in writers for cid, seq in w.confirmed.items()}
    assert {m["content"]: m["seq"] for m in stored} == confirmed
    assert [m["seq"] for m in stored] == list(range(start + 1, start + 1 + len(stored)))
    assert await room_last_seq(stack, room_id, tokens["alice"]) == start + len(stored)


async def test_daphne_killed_under_load(healthy_stack):
    stack = healthy_stack
    tokens = {u: stack.users[u]["token"] for u in stack.users}
    room_id = await make_room(stack, "alice", {"load5": "editor", "load6": "editor", "load7": "editor"})
    start = await room_last_seq(stack, room_id, tokens["alice"])
    victim, survivor = stack.daphne_url(1), stack.daphne_url(0)
    # Followers start on the victim; after the kill they reconnect to the survivor or through nginx.
    followers = [
        RoomFollower([victim, survivor], room_id, tokens["load7"], start).start(),
        RoomFollower([victim, stack.base_url], room_id, tokens["alice"], start).start(),
    ]
    for f in followers:
        await asyncio.wait_for(f.resumed.wait(), 10)
    # One writer through nginx, one over a WebSocket on the victim that re-sends unacked
    # messages (same client_id) after reconnecting.
    writer = Writer(stack, room_id, "load5", [stack.base_url])
    writer_task = asyncio.create_task(writer.run())
    acked: dict[str, int] = {}
    sent: list[str] = []
    ws_stop = False
    run = uuid.uuid4().hex[:6]

    async def ws_writer():
        base_order = [victim, survivor]
        attempt = 0
        while not ws_stop:
            sock = Socket(base_order[min(attempt, 1)], f"/ws/rooms/{room_id}/", tokens["load6"])
            attempt += 1
            try:
                await sock.connect()
                await sock.wait_for(admitted, 5)
                for client_id in [c for c in sent if c not in acked]:
                    await sock.send({"type": "message", "content": client_id, "client_id": client_id})
                i = len(sent)
                while not ws_stop:
                    client_id = f"ws-{run}-{i}"
                    sent.append(client_id)
                    await sock.send({"type": "message", "content": client_id, "client_id": client_id})
                    ack = await sock.wait_for(of_type("ack", client_id=client_id), 5)
                    acked[client_id] = ack["data"]["seq"]
                    i += 1
                    await asyncio.sleep(0.08)
            except Exception:  # noqa: S110 (the process died under us: reconnect and re-send)
                await asyncio.sleep(0.3)
            finally:
                await sock.close()
        # Anything still unacknowledged is re-sent once more on a healthy process.
        sock = await Socket(survivor, f"/ws/rooms/{room_id}/", tokens["load6"]).connect()
        await sock.wait_for(admitted, 5)
        for client_id in [c for c in sent if c not in acked]:
            await sock.send({"type": "message", "content": client_id, "client_id": client_id})
            acked[client_id] = (await sock.wait_for(of_type("ack", client_id=client_id), 5))["data"]["seq"]
        await sock.close()

    ws_task = asyncio.create_task(ws_writer())
    try:
        await asyncio.sleep(2)
        os.kill(stack.state.pids["daphne1"], signal.SIGKILL)
        killed = time.monotonic()
        await asyncio.sleep(5)
    finally:
        writer.stopping = True
        ws_stop = True
        await asyncio.gather(writer_task, ws_task)
    stack.reap("daphne1")
    assert not port_open(stack.state.daphne_ports[1])

    stored = [m for m in await all_messages(stack, room_id, tokens["alice"]) if m["seq"] > start]
    contents = [m["content"] for m in stored]
    assert len(contents) == len(set(contents)), "a re-sent message was stored twice"
    assert set(contents) == set(writer.confirmed) | set(acked)
    assert set(sent) <= set(acked)
    assert any(s[0] > killed for s in writer.statuses), "the nginx writer kept going after the kill"
    last = stored[-1]["seq"]
    try:
        for f in followers:
            await f.until_has(last, 20)
            assert all(f.messages[m["seq"]] == m["content"] for m in stored)
            assert f.duplicates() == []
            assert len(f.connections) >= 2
        print(
            f"FIGURES daphne-kill: {len(stored)} messages, followers complete {time.monotonic() - killed:.1f}s "
            f"after the kill, {len([s for s in writer.statuses if s[1] not in (200, 201)])} failed nginx requests"
        )
    finally:
        for f in followers:
            await f.stop()
    # Through nginx nothing but the in-flight requests of the dead process failed.
    failed = [s for s in writer.statuses if s[1] not in (200, 201)]
    assert len(failed) <= 3, failed


def test_stack_processes_are_ours(stack):
    """The fault tests stop only what the fixture started (a guard, not a feature)."""
    assert stack.state.redis_port not in (6379,)
    assert stack.state.own_pg_port not in (5432,)
    assert str(stack.run_dir).startswith(os.environ.get("TMPDIR", "/tmp"))
