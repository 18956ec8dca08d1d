"""Two daphne processes behind nginx: what happens through one is seen through the other."""

import asyncio
import uuid

import pytest

from .wsclient import Socket, api, of_type

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(120)]


async def make_room(stack, owner: str, members: dict[str, str]) -> int:
    async with api(stack.daphne_url(0), stack.users[owner]["token"]) as client:
        r = await client.post("/api/rooms/", json={"title": f"Line stop {uuid.uuid4().hex[:6]}", "severity": "high"})
        assert r.status_code == 201, r.text
        room_id = r.json()["id"]
        for username, role in members.items():
            r = await client.post(
                f"/api/rooms/{room_id}/members/", json={"user": stack.users[username]["id"], "role": role}
            )
            assert r.status_code == 201, r.text
    return room_id


async def make_project(stack, owner: str, members: dict[str, str]) -> int:
    async with api(stack.daphne_url(0), stack.users[owner]["token"]) as client:
        key = "R" + uuid.uuid4().hex[:5].upper()
        r = await client.post("/api/projects/", json={"name": f"Reliability {key}", "key": key})
        assert r.status_code == 201, r.text
        project_id = r.json()["id"]
        for username, role in members.items():
            r = await client.post(
                f"/api/projects/{project_id}/members/", json={"user": stack.users[username]["id"], "role": role}
            )
            assert r.status_code == 201, r.text
    return project_id


def presence_of(username: str, *, online: bool):
    """A presence frame naming `username` (alone, or among users who came or went together)."""

    def predicate(frame: dict) -> bool:
        data = frame["data"]
        names = {u["username"] for u in data.get("users") or [data.get("user") or {"username": None}]}
        return frame["type"] == "presence" and username in names and data["online"] is online

    return predicate


async def test_room_messages_presence_and_resume_cross_process(healthy_stack):
    stack = healthy_stack
    room_id = await make_room(stack, "alice", {"bob": "editor"})
    path = f"/ws/rooms/{room_id}/"

    alice = await Socket(stack.daphne_url(0), path, stack.users["alice"]["token"]).connect()
    await alice.wait_for(of_type("presence"), 10)  # her own join: she is admitted
    bob = await Socket(stack.daphne_url(1), path, stack.users["bob"]["token"]).connect()
    try:
        # Presence caused on process B reaches process A.
        joined = await alice.wait_for(presence_of("bob", online=True), 20)
        assert joined["data"]["online"] is True
        async with api(stack.daphne_url(0), stack.users["alice"]["token"]) as client:
            online = (await client.get(f"/api/rooms/{room_id}/online/")).json()["users"]
        assert {u["username"] for u in online} == {"alice", "bob"}

        # A message sent over the socket on A is delivered on B, with its seq.
        await alice.send({"type": "message", "content": "conveyor 3 jammed", "client_id": "a-1"})
        ack = await alice.wait_for(of_type("ack", client_id="a-1"))
        got = await bob.wait_for(of_type("message", seq=ack["data"]["seq"]))
        assert got["data"]["content"] == "conveyor 3 jammed"

        # Resume on the other process: bob leaves B, five messages arrive over HTTP on B,
        # bob reconnects to A (through nginx) and gets exactly the five, in order.
        last_seq = got["seq"]
        await bob.close()
        async with api(stack.daphne_url(1), stack.users["alice"]["token"]) as client:
            for i in range(5):
                r = await client.post(
                    f"/api/rooms/{room_id}/messages/", json={"content": f"update {i}", "client_id": f"h-{i}"}
                )
                assert r.status_code == 201, r.text
        bob = await Socket(stack.base_url, path, stack.users["bob"]["token"]).connect()
        await bob.wait_for(of_type("presence"))
        await bob.send({"type": "resume", "last_seq": last_seq})
        resumed = await bob.wait_for(of_type("resumed"))
        replay = [f for f in bob.frames if f["type"] == "message"]
        assert [f["seq"] for f in replay] == list(range(last_seq + 1, last_seq + 6))
        assert [f["data"]["content"] for f in replay] == [f"update {i}" for i in range(5)]
        assert resumed["seq"] == last_seq + 5
        # A second socket of alice's, on B, in the room before anyone leaves: it sees every
        # presence change from here on.
        watcher = await Socket(stack.daphne_url(1), path, stack.users["alice"]["token"]).connect()
        await watcher.wait_for(of_type("ready"))
    finally:
        await alice.close()
        await bob.close()

    try:
        # Leaving on one process is seen on the other: bob's last socket is gone...
        await watcher.wait_for(presence_of("bob", online=False))
        # ...and a new one on A comes and goes, seen on B.
        mark = len(watcher.frames)
        bob2 = await Socket(stack.daphne_url(0), path, stack.users["bob"]["token"]).connect()
        await watcher.wait_for(presence_of("bob", online=True), start=mark)
        await bob2.close()
        await watcher.wait_for(presence_of("bob", online=False), start=mark)
        async with api(stack.daphne_url(0), stack.users["alice"]["token"]) as client:
            online = (await client.get(f"/api/rooms/{room_id}/online/")).json()["users"]
        assert [u["username"] for u in online] == ["alice"]
    finally:
        await watcher.close()


async def test_board_events_cross_process(healthy_stack):
    stack = healthy_stack
    project_id = await make_project(stack, "alice", {"bob": "member"})
    board = await Socket(stack.daphne_url(1), f"/ws/projects/{project_id}/", stack.users["bob"]["token"]).connect()
    try:
        async with api(stack.daphne_url(0), stack.users["alice"]["token"]) as client:
            # The socket is admitted once auth is processed; a created task proves the group join.
            created = None
            for _ in range(50):
                r = await client.post("/api/tasks/", json={"project": project_id, "title": "Calibrate press"})
                assert r.status_code == 201, r.text
                created = r.json()
                try:
                    await board.wait_for(of_type("task_created", id=created["id"]), 0.5)
                    break
                except TimeoutError:
                    continue
            r = await client.patch(
                f"/api/tasks/{created['id']}/", json={"version": created["version"], "title": "Calibrate press 2"}
            )
            assert r.status_code == 200, r.text
        updated = await board.wait_for(
            lambda f: f["type"].startswith("task_") and f["type"] != "task_created" and f["data"]["id"] == created["id"]
        )
        assert updated["data"]["title"] == "Calibrate press 2"
        assert updated["data"]["version"] == created["version"] + 1
        assert updated["data"]["actor"]["username"] == "alice"
    finally:
        await board.close()


async def test_notifications_cross_process(healthy_stack):
    stack = healthy_stack
    room_id = await make_room(stack, "alice", {"carol": "editor"})
    carol = await Socket(stack.daphne_url(1), "/ws/notifications/", stack.users["carol"]["token"]).connect()
    try:
        unread = await carol.wait_for(of_type("unread"), 10)
        before = unread["data"]["count"]
        async with api(stack.daphne_url(0), stack.users["alice"]["token"]) as client:
            r = await client.post(f"/api/rooms/{room_id}/messages/", json={"content": "@carol please check the oven"})
            assert r.status_code == 201, r.text
        note = await carol.wait_for(of_type("notification"), 10)
        assert note["data"]["unread_count"] == before + 1
        assert "alice" in (note["data"].get("title", "") + str(note["data"].get("actor", "")))
    finally:
        await carol.close()


async def test_many_clients_both_processes_see_every_message(healthy_stack):
    """Eight clients spread over both processes and nginx; 40 messages from both sides."""
    stack = healthy_stack
    senders = ["load1", "load2"]
    readers = [f"load{i}" for i in range(3, 9)]
    room_id = await make_room(stack, "alice", {u: "editor" for u in senders + readers})
    path = f"/ws/rooms/{room_id}/"
    bases = [stack.daphne_url(0), stack.daphne_url(1), stack.base_url]
    sockets = [await Socket(bases[i % 3], path, stack.users[u]["token"]).connect() for i, u in enumerate(readers)]
    try:
        for s in sockets:
            await s.wait_for(of_type("presence"))
        async with api(stack.daphne_url(0), stack.users["alice"]["token"]) as client:
            base = (await client.get(f"/api/rooms/{room_id}/messages/")).json()["last_seq"]

        async def send(user: str, base: str):
            async with api(base, stack.users[user]["token"]) as client:
                for i in range(20):
                    r = await client.post(f"/api/rooms/{room_id}/messages/", json={"content": f"{user} {i}"})
                    assert r.status_code == 201, r.text

        await asyncio.gather(send("load1", stack.daphne_url(0)), send("load2", stack.daphne_url(1)))
        for s in sockets:
            await s.wait_for(
                lambda f, s=s: f["type"] == "message" and sum(1 for x in s.frames if x["type"] == "message") >= 40, 15
            )
            seqs = [f["seq"] for f in s.frames if f["type"] == "message"]
            # Two processes publish concurrently, so arrival order may differ from seq order
            # (clients order by seq); the set must be complete and free of duplicates.
            assert sorted(seqs) == list(range(base + 1, base + 41)), f"{s.url}: {seqs}"
    finally:
        for s in sockets:
            await s.close()


async def test_idle_socket_outlives_the_redis_read_timeout(healthy_stack):
    """An idle consumer blocks in BZPOPMIN for 5 s at a time; with redis-py 8's default 5 s read
    timeout it used to die after ~5 s of silence. Idle for 7 s, then an event must arrive."""
    stack = healthy_stack
    project_id = await make_project(stack, "alice", {"bob": "viewer"})
    board = await Socket(stack.base_url, f"/ws/projects/{project_id}/", stack.users["bob"]["token"]).connect()
    try:
        await asyncio.sleep(7)  # the point of the test is silence on the socket
        assert not board.closed, f"idle socket closed with {board.close_code}"
        async with api(stack.daphne_url(1), stack.users["alice"]["token"]) as client:
            r = await client.post("/api/tasks/", json={"project": project_id, "title": "after the silence"})
            assert r.status_code == 201, r.text
        await board.wait_for(of_type("task_created", id=r.json()["id"]), 10)
    finally:
        await board.close()
