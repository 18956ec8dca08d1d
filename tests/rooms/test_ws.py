"""/ws/rooms/{id}/ over channels' WebsocketCommunicator (real consumer, real DB)."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from rooms import services
from rooms.models import Message, RoomMember
from rooms.routing import websocket_urlpatterns
from tests.rooms.factories import make_room

pytestmark = pytest.mark.django_db(transaction=True)

APP = URLRouter(websocket_urlpatterns)


async def connect(room_id, user, *, ready=True):
    """Open a socket as `user`; by default wait for "ready" (admitted and in the room group)."""
    comm = WebsocketCommunicator(APP, f"/ws/rooms/{room_id}/")
    comm.scope["user"] = user
    connected, _ = await comm.connect()
    assert connected
    if ready:
        frame = await comm.receive_json_from(timeout=5)
        assert frame["type"] == "ready" and frame["data"]["room"] == room_id
    return comm


async def frames_until(comm, predicate, *, timeout=3.0):
    """Collect frames until one satisfies predicate; returns all collected."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        frame = await comm.receive_json_from(timeout=max(0.05, deadline - time.monotonic()))
        got.append(frame)
        if predicate(frame):
            return got


def announces(username: str, *, online: bool = True):
    """A presence frame that names `username` (alone, or among users who came or went together)."""

    def predicate(frame: dict) -> bool:
        data = frame.get("data") or {}
        names = {u["username"] for u in data.get("users") or [data.get("user") or {"username": None}]}
        return frame["type"] == "presence" and username in names and data["online"] is online

    return predicate


async def close_code(comm, *, timeout=3.0):
    """Skip data frames until the server closes; return its close code."""
    while True:
        out = await comm.receive_output(timeout=timeout)
        if out["type"] == "websocket.close":
            return out.get("code")


async def next_of(comm, kind, *, timeout=3.0):
    return (await frames_until(comm, lambda f: f["type"] == kind, timeout=timeout))[-1]


@pytest.fixture
def db_room(user, carol, viewer):
    return make_room(user, members=[(carol, "editor"), (viewer, "viewer")])


async def test_non_member_and_missing_room_both_close_4404(db_room, other_user):
    """One code for both, as REST answers 404: the close code must not confirm the room exists."""
    comm = await connect(db_room.pk, other_user, ready=False)
    assert await close_code(comm) == 4404
    comm2 = await connect(999999, other_user, ready=False)
    assert await close_code(comm2) == 4404


async def test_send_acks_sender_and_broadcasts_with_seq(db_room, user, carol):
    a, b = await connect(db_room.pk, user), await connect(db_room.pk, carol)
    await a.send_json_to({"type": "message", "content": "Line 3 down", "message_type": "text", "client_id": "k1"})
    ack = await next_of(a, "ack")
    assert ack["client_id"] == "k1" and ack["data"]["seq"] == 2 and ack["data"]["id"]
    assert len(ack["event_id"]) == 36  # every server frame but ping carries one (CONTRACT.md)
    frame = await next_of(b, "message")
    assert frame["seq"] == 2 and frame["data"]["content"] == "Line 3 down" and frame["event_id"]
    assert frame["data"]["sender"]["username"] == "bob"
    # The same client_id again: the original ack, no second message.
    await a.send_json_to({"type": "message", "content": "Line 3 down", "client_id": "k1"})
    again = await next_of(a, "ack")
    assert again["data"] == ack["data"]
    assert await database_sync_to_async(Message.objects.filter(client_id="k1").count)() == 1
    later = []  # presence or typing frames may still come; a second "message" must not
    while not await b.receive_nothing(timeout=0.3):
        later.append((await b.receive_json_from())["type"])
    assert "message" not in later
    await a.disconnect()
    await b.disconnect()


async def test_disconnect_others_send_resume_gets_each_once_in_order(db_room, user, carol):
    a, b = await connect(db_room.pk, user), await connect(db_room.pk, carol)
    await b.send_json_to({"type": "message", "content": "before", "client_id": "b0"})
    await next_of(b, "ack")
    seen = await next_of(a, "message")
    last_seq = seen["seq"]
    await a.disconnect()  # mid-stream
    for i in range(4):
        await b.send_json_to({"type": "message", "content": f"while away {i}", "client_id": f"b{i + 1}"})
        await next_of(b, "ack")
    # The last one is still in flight when a2 joins: it may arrive live and in the replay.
    await b.send_json_to({"type": "message", "content": "while away 4", "client_id": "b5"})
    a2 = await connect(db_room.pk, user)
    # ...and committed before a2 resumes (its ack), so the replay must include it. Without
    # this wait a2 could join and resume before the send thread committed it (seen on
    # PostgreSQL), and `resumed` could not count it.
    await next_of(b, "ack")
    await a2.send_json_to({"type": "resume", "last_seq": last_seq})
    # One more message lands while the replay is running; it must arrive once too.
    await b.send_json_to({"type": "message", "content": "during resume", "client_id": "b9"})
    # It may come in the replay or live after `resumed`, depending on commit timing.
    seen = {"resumed": False, "during": False}

    def done(f):
        seen["resumed"] |= f["type"] == "resumed"
        seen["during"] |= f["type"] == "message" and f["data"]["content"] == "during resume"
        return all(seen.values())

    frames = await frames_until(a2, done)
    extra = []
    while not await a2.receive_nothing(timeout=0.3):
        extra.append(await a2.receive_json_from())
    seqs = [f["seq"] for f in frames + extra if f["type"] == "message"]
    assert len(seqs) == len(set(seqs)), seqs  # nothing twice
    assert sorted(seqs) == list(range(last_seq + 1, last_seq + 7))  # nothing missing
    # The replay (from the first missed seq up to `resumed`) is in seq order; a frame that
    # was already in flight live before it may precede it and is then not repeated.
    start = next(i for i, f in enumerate(frames) if f.get("seq") == last_seq + 1)
    end = next(i for i, f in enumerate(frames) if f["type"] == "resumed")
    replayed = [f["seq"] for f in frames[start:end] if f["type"] == "message"]
    assert replayed == sorted(replayed) and replayed  # in order
    resumed = next(f for f in frames if f["type"] == "resumed")
    assert resumed["seq"] >= last_seq + 5
    for c in (a2, b):
        await c.disconnect()


async def token_socket(room_id, user):
    """A socket that signs in by token frame (no session): the account is read with the admission."""
    from rest_framework_simplejwt.tokens import AccessToken

    token = await database_sync_to_async(lambda: str(AccessToken.for_user(user)))()
    comm = WebsocketCommunicator(APP, f"/ws/rooms/{room_id}/")
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "auth", "token": token})
    return comm


def counting(monkeypatch, outbox):
    """Count the calls that reach `outbox` (a GroupCommit) and pass them on."""
    calls = []
    real = outbox.call

    async def call(key, item):
        calls.append(item)
        return await real(key, item)

    monkeypatch.setattr(outbox, "call", call)
    return calls


async def test_a_message_stored_during_admission_reaches_the_socket_once_with_no_resume_read(
    db_room, user, carol, monkeypatch
):
    """The socket joins the room's group before its admission reads the room's last seq, so a
    message stored just after that read still reaches it live; the resume that follows `ready`
    is then answered from the ready's own read, without another."""
    from rooms import consumers

    sent = []
    real_admission = consumers.ADMISSIONS.call

    async def admission_then_a_message(key, item):
        answer = await real_admission(key, item)  # read: a message stored now is past its seq
        message, _ = await database_sync_to_async(services.message_send)(room=db_room, by=user, content="pump 4")
        sent.append(message.seq)
        return answer

    monkeypatch.setattr(consumers.ADMISSIONS, "call", admission_then_a_message)
    resumes = counting(monkeypatch, consumers.RESUMES)
    comm = await token_socket(db_room.pk, carol)
    ready = await next_of(comm, "ready")
    assert ready["data"]["last_seq"] == sent[0] - 1
    await comm.send_json_to({"type": "resume", "last_seq": ready["data"]["last_seq"]})
    seen = set()
    frames = await frames_until(comm, lambda f: seen.add(f["type"]) or {"message", "resumed"} <= seen)
    while not await comm.receive_nothing(timeout=0.2):
        frames.append(await comm.receive_json_from())
    assert [f["seq"] for f in frames if f["type"] == "message"] == sent  # live, once
    # Before or after `resumed` (through Redis it may well come after), which says where the
    # stream stood: at the ready's read, or at the message if it was already out.
    resumed = next(f for f in frames if f["type"] == "resumed")
    assert resumed["seq"] in (sent[0] - 1, sent[0])
    assert resumes == []
    await comm.disconnect()


async def test_only_the_first_resume_after_ready_skips_the_read(db_room, user, carol, monkeypatch):
    """A later resume, or one from a client that is behind, reads (and replays) as always."""
    from rooms import consumers

    earlier, _ = await database_sync_to_async(services.message_send)(room=db_room, by=user, content="belt 1")
    resumes = counting(monkeypatch, consumers.RESUMES)
    behind = await connect(db_room.pk, carol)
    await behind.send_json_to({"type": "resume", "last_seq": earlier.seq - 1})
    frames = await frames_until(behind, lambda f: f["type"] == "resumed")
    stream = [(f["type"], f.get("seq")) for f in frames if f["type"] in ("message", "resumed")]
    assert stream == [("message", earlier.seq), ("resumed", earlier.seq)]
    assert len(resumes) == 1
    comm = await connect(db_room.pk, user)
    for _ in range(2):
        await comm.send_json_to({"type": "resume", "last_seq": earlier.seq})
        assert (await next_of(comm, "resumed"))["seq"] == earlier.seq
    assert len(resumes) == 2  # the first of the two came from the ready's read
    for c in (behind, comm):
        await c.disconnect()


async def test_a_refused_socket_hears_nothing_of_the_room_and_leaves_its_groups(db_room, user, other_user, monkeypatch):
    """A refused socket has joined the room's group before its read: what reaches it meanwhile
    is dropped with it, and it leaves every group it joined."""
    from channels.layers import get_channel_layer

    from rooms import consumers

    real_admission = consumers.ADMISSIONS.call

    async def admission_then_a_message(key, item):
        answer = await real_admission(key, item)
        await database_sync_to_async(services.message_send)(room=db_room, by=user, content="confidential")
        return answer

    monkeypatch.setattr(consumers.ADMISSIONS, "call", admission_then_a_message)
    comm = await token_socket(db_room.pk, other_user)
    out = await comm.receive_output(timeout=3)
    assert out == {"type": "websocket.close", "code": 4404}  # nothing before it: the message was dropped
    await comm.disconnect()  # what daphne reports once the close is done
    layer = get_channel_layer()
    assert all(not members for members in layer.groups.values()), layer.groups


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_socket_signs_in_replays_and_sends_while_the_shared_sync_thread_is_held(
    postgres, redis_cache, db_room, user, carol, settings
):
    """Admission (the token's account, role and last seq), the presence join, a resume's replay
    and a message send all run in worker threads of their own: with daphne's one shared sync
    thread held by a slow request, a socket still gets in, catches up and has its send acked."""
    import threading

    from asgiref.sync import sync_to_async

    settings.WS_DB_THREADS = True  # the production default on PostgreSQL
    from rest_framework_simplejwt.tokens import AccessToken

    earlier, _ = await database_sync_to_async(services.message_send)(room=db_room, by=user, content="belt 1")
    token = await database_sync_to_async(lambda: str(AccessToken.for_user(carol)))()
    entered, release = threading.Event(), threading.Event()

    def slow_request():  # what a long view does to every database_sync_to_async() call meanwhile
        entered.set()
        release.wait(30)

    held = asyncio.ensure_future(sync_to_async(slow_request, thread_sensitive=True)())
    try:
        assert await asyncio.to_thread(entered.wait, 5)
        comm = WebsocketCommunicator(APP, f"/ws/rooms/{db_room.pk}/")
        assert (await comm.connect(timeout=5))[0]
        await comm.send_json_to({"type": "auth", "token": token})
        ready = await next_of(comm, "ready", timeout=5)
        assert ready["data"]["last_seq"] == earlier.seq
        await comm.send_json_to({"type": "resume", "last_seq": earlier.seq - 1})  # behind: a real replay
        frames = await frames_until(comm, lambda f: f["type"] == "resumed", timeout=5)
        assert [(f["type"], f["seq"]) for f in frames if f["type"] in ("message", "resumed")] == [
            ("message", earlier.seq),
            ("resumed", earlier.seq),
        ]
        await comm.send_json_to({"type": "message", "content": "belt 2 jammed", "client_id": "c-1"})
        ack = await next_of(comm, "ack", timeout=5)
        assert ack["client_id"] == "c-1" and ack["data"]["seq"] == earlier.seq + 1
        assert not held.done()  # the shared thread was busy all along
        await comm.disconnect()  # the presence leave, too
    finally:
        release.set()
        await held
    assert await database_sync_to_async(lambda: Message.objects.filter(room=db_room).count())() == earlier.seq + 1


@pytest.mark.redis
async def test_one_keep_alive_batch_refreshes_every_socket_of_the_process(
    redis_cache, db_room, user, carol, viewer, monkeypatch
):
    """The process's sockets keep their presence keys alive together: one batch per period for
    every (room, user) with open sockets, each with its socket count, not a hop per socket."""
    import threading

    from django.core.cache import cache

    from rooms import consumers, presence

    monkeypatch.setattr(presence, "PRESENCE_TTL", 3)  # a keep-alive every second
    second = await database_sync_to_async(make_room)(user, title="Line 2", members=[(carol, "editor")])
    loop = asyncio.get_running_loop()
    batches: list[dict] = []
    refreshed = asyncio.Event()
    real_refresh = presence.refresh_many

    armed = threading.Event()

    def recording(present):
        if not armed.is_set():  # (one begun before the keys were shortened: not the one to look at)
            real_refresh(present)
            return
        batches.append(dict(present))
        real_refresh(present)
        loop.call_soon_threadsafe(refreshed.set)

    monkeypatch.setattr(presence, "refresh_many", recording)
    joins_stored = asyncio.Event()
    joins = []
    real_outbox = consumers.PRESENCE_OUTBOX.call

    async def counting_joins(key, item):
        outcome = await real_outbox(key, item)
        if isinstance(item, tuple) and item[2] > 0:
            joins.append(item)
            if len(joins) == 5:
                joins_stored.set()
        return outcome

    monkeypatch.setattr(consumers.PRESENCE_OUTBOX, "call", counting_joins)
    sockets = [
        await connect(db_room.pk, user),
        await connect(db_room.pk, carol),
        await connect(db_room.pk, carol),  # a second tab
        await connect(db_room.pk, viewer),
        await connect(second.pk, carol),
    ]
    expected = {
        (db_room.pk, user.pk): 1,
        (db_room.pk, carol.pk): 2,
        (db_room.pk, viewer.pk): 1,
        (second.pk, carol.pk): 1,
    }
    client = presence._redis_client()
    keys = [cache.make_and_validate_key(presence._presence_key(room_id, user_id)) for room_id, user_id in expected]
    try:
        # Presence goes through one line, so a keep-alive taken before the last join was
        # stored before it: from here on, each one covers all five sockets.
        await asyncio.wait_for(joins_stored.wait(), 5)
        for key in keys:
            assert client.expire(key, 2)  # (each joined key exists)
        armed.set()
        await asyncio.wait_for(refreshed.wait(), 5)
        assert len(batches) == 1 and batches[0] == expected
        assert all(client.pttl(key) > 2000 for key in keys)  # every key's expiry back to the full TTL
        assert cache.get(presence._presence_key(db_room.pk, carol.pk)) == 2
    finally:
        for comm in sockets:
            await comm.disconnect()
        if consumers.LOCAL_PRESENCE.task is not None:
            consumers.LOCAL_PRESENCE.task.cancel()
    assert all(not client.exists(key) for key in keys)  # each user's last socket took the key with it


async def test_resume_with_bad_last_seq_is_an_error_frame(db_room, user):
    a = await connect(db_room.pk, user)
    await a.send_json_to({"type": "resume", "last_seq": "nope"})
    err = await next_of(a, "error")
    assert err["data"]["code"] == "validation_error"
    await a.disconnect()


async def test_malformed_frame_closes_4400(db_room, user):
    a = await connect(db_room.pk, user)
    await a.send_to(text_data="{not json")
    assert await close_code(a) == 4400


async def test_oversize_and_blank_messages_are_error_frames_and_not_stored(db_room, user):
    a = await connect(db_room.pk, user)
    await a.send_json_to({"type": "message", "content": "x" * 11_000, "client_id": "big"})
    err = await next_of(a, "error")
    assert err["data"]["code"] == "payload_too_large" and err["client_id"] == "big"
    await a.send_json_to({"type": "message", "content": "  \n ", "client_id": "blank"})
    assert (await next_of(a, "error"))["data"]["code"] == "validation_error"
    assert await database_sync_to_async(Message.objects.filter(client_id__in=["big", "blank"]).count)() == 0
    await a.disconnect()


async def test_message_frames_carry_the_source_and_its_safe_html(db_room, user):
    a = await connect(db_room.pk, user)
    source = "<script>alert(1)</script> **bold** `<tag>`"
    await a.send_json_to({"type": "message", "content": source, "client_id": "md"})
    frame = await next_of(a, "message")
    assert frame["data"]["content"] == source
    html = "<p>&lt;script&gt;alert(1)&lt;/script&gt; <strong>bold</strong> <code>&lt;tag&gt;</code></p>"
    assert frame["data"]["html"] == html
    await a.disconnect()


async def test_rate_limit_is_an_error_frame(db_room, user, settings):
    settings.RATELIMIT_CHAT = "3/d"  # a window a slow run cannot straddle
    a = await connect(db_room.pk, user)
    for i in range(3):
        await a.send_json_to({"type": "message", "content": f"n{i}", "client_id": f"r{i}"})
        await next_of(a, "ack")
    await a.send_json_to({"type": "message", "content": "flood", "client_id": "r9"})
    err = await next_of(a, "error")
    assert err["data"]["code"] == "rate_limited" and err["client_id"] == "r9"
    assert not await database_sync_to_async(Message.objects.filter(client_id="r9").exists)()
    await a.disconnect()


async def test_membership_is_rechecked_on_every_message(db_room, carol):
    b = await connect(db_room.pk, carol)
    await database_sync_to_async(RoomMember.objects.filter(room=db_room, user=carol).delete)()
    await b.send_json_to({"type": "message", "content": "am I still here?", "client_id": "gone"})
    err = await next_of(b, "error")
    assert err["data"]["code"] == "not_found"
    assert not await database_sync_to_async(Message.objects.filter(client_id="gone").exists)()


async def test_removed_member_socket_is_closed(db_room, user, carol):
    b = await connect(db_room.pk, carol)
    member = await database_sync_to_async(RoomMember.objects.select_related("room", "user").get)(
        room=db_room, user=carol
    )
    await database_sync_to_async(services.member_remove)(member=member, by=user)
    assert await close_code(b) == 4403


async def test_viewer_cannot_send(db_room, viewer):
    v = await connect(db_room.pk, viewer)
    await v.send_json_to({"type": "message", "content": "hi", "client_id": "v1"})
    assert (await next_of(v, "error"))["data"]["code"] == "permission_denied"
    await v.disconnect()


async def test_edit_delete_and_reactions_are_broadcast_with_seq(db_room, user, carol):
    b = await connect(db_room.pk, carol)
    message, _ = await database_sync_to_async(services.message_send)(room=db_room, by=user, content="valve open")
    assert (await next_of(b, "message"))["seq"] == message.seq
    await database_sync_to_async(services.message_edit)(message=message, by=user, content="valve closed", version=1)
    edited = await next_of(b, "message_edited")
    assert edited["seq"] == message.seq and edited["data"]["content"] == "valve closed" and edited["data"]["edited_at"]
    await database_sync_to_async(services.reaction_add)(message=message, by=carol, emoji="👀")
    added = await next_of(b, "reaction_added")
    assert added["seq"] == message.seq and added["data"]["reactions"][0]["count"] == 1
    await database_sync_to_async(services.reaction_remove)(message=message, by=carol, emoji="👀")
    assert (await next_of(b, "reaction_removed"))["data"]["reactions"] == []
    fresh = await database_sync_to_async(Message.objects.select_related("room").get)(pk=message.pk)
    await database_sync_to_async(services.message_delete)(message=fresh, by=user)
    deleted = await next_of(b, "message_deleted")
    assert deleted["seq"] == message.seq and deleted["data"]["id"] == message.pk
    await b.disconnect()


async def test_typing_is_broadcast_debounced_and_expires(db_room, user, carol, settings, api_for):
    settings.ROOM_TYPING_TTL = 2.0
    settings.ROOM_TYPING_REBROADCAST = 5.0
    a, b = await connect(db_room.pk, user), await connect(db_room.pk, carol)
    # Joins run off the shared thread, so b's own presence frame may come after a's typing
    # frame would: wait for it first, then nothing else is due on b but typing.
    await frames_until(b, announces("carol"))
    await a.send_json_to({"type": "typing"})
    frame = await next_of(b, "typing")
    assert frame["data"]["user"]["username"] == "bob" and frame["data"]["typing"] is True
    await a.send_json_to({"type": "typing"})  # within the debounce window: no second broadcast
    assert await b.receive_nothing(timeout=0.2)
    api = api_for(carol)
    typing = await database_sync_to_async(lambda: api.get(f"/api/rooms/{db_room.pk}/typing/").json())()
    assert [u["username"] for u in typing["users"]] == ["bob"]
    await asyncio.sleep(2.1)  # past the TTL: expiry is the behaviour under test
    typing = await database_sync_to_async(lambda: api.get(f"/api/rooms/{db_room.pk}/typing/").json())()
    assert typing["users"] == []
    await a.disconnect()
    await b.disconnect()


@pytest.mark.redis
async def test_presence_across_processes_on_redis(db_room, user, carol, redis_channel_layer, redis_cache, api_for):
    from conftest import layer_like
    from contorl.events import room_group

    # A second, independent layer instance stands in for another daphne process listening.
    other = layer_like(redis_channel_layer)
    listener = await other.new_channel()
    await other.group_add(room_group(db_room.pk), listener)

    a = await connect(db_room.pk, user)
    joined = await other.receive(listener)
    assert '"presence"' in joined["text"] and '"online": true' in joined["text"]
    b = await connect(db_room.pk, carol)
    assert '"carol"' in (await other.receive(listener))["text"]
    online = await database_sync_to_async(lambda: api_for(user).get(f"/api/rooms/{db_room.pk}/online/").json())()
    assert sorted(u["username"] for u in online["users"]) == ["bob", "carol"]
    frames = await frames_until(a, announces("carol"))
    # A join names only the joining user (O(1) per join); the list is GET /online/'s.
    assert frames[-1]["data"]["online"] is True and "online_users" not in frames[-1]["data"]
    await b.disconnect()
    left = await other.receive(listener)
    assert '"online": false' in left["text"]
    online = await database_sync_to_async(lambda: api_for(user).get(f"/api/rooms/{db_room.pk}/online/").json())()
    assert [u["username"] for u in online["users"]] == ["bob"]
    await a.disconnect()
    await other.flush()
