"""contorl.layers.PubSubLayer on a real Redis: the bound per socket and the resync after a
lost subscription, and what a socket does with the resync (a fresh `ready`)."""

import asyncio
import time
import uuid

import pytest
import redis
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from contorl.layers import PubSubLayer
from rooms.routing import websocket_urlpatterns
from tests.rooms.factories import make_room

pytestmark = pytest.mark.redis


async def until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.02)  # polling a condition with a deadline


def data(n: int) -> dict:
    return {"type": "event.message", "text": f'{{"n": {n}}}', "seq": n}


async def test_a_socket_past_its_capacity_gets_one_resync_and_keeps_control_messages(redis_url):
    layer = PubSubLayer(hosts=[redis_url], prefix=f"t{uuid.uuid4().hex[:8]}", capacity=5)
    try:
        channel = await layer.new_channel()
        await layer.group_add("room.1", channel)
        await layer.group_send("room.1", {"type": "access.revoked", "user_id": 7})
        for n in range(1, 11):
            await layer.group_send("room.1", data(n))
        loop_layer = layer._get_layer()
        await until(lambda: loop_layer.resyncs >= 1 and _last_n(loop_layer, channel) == 10, 5, "delivery")
        got = []
        while loop_layer.channels[channel].qsize():
            got.append(await layer.receive(channel))
    finally:
        await layer.flush()
    kinds = [m["type"] for m in got]
    assert kinds[0] == "access.revoked", "a revocation is never dropped for a resync"
    assert kinds.count("layer.resync") == 1
    assert len(got) <= 5 + 1, "the queue stays near its bound"
    after = [m["seq"] for m in got[kinds.index("layer.resync") + 1 :]]
    assert after == sorted(after) and after[-1] == 10, "what follows the resync is the newest, in order"


def _last_n(loop_layer, channel) -> int | None:
    queue = loop_layer.channels[channel]
    if not queue.qsize():
        return None
    return queue._queue[-1].get("seq")  # peek without taking


async def test_a_dropped_subscription_is_resubscribed_and_every_socket_resyncs(redis_url):
    layer = PubSubLayer(hosts=[redis_url], prefix=f"t{uuid.uuid4().hex[:8]}")
    admin = redis.Redis.from_url(redis_url)
    try:
        sockets = [await layer.new_channel() for _ in range(3)]
        for channel in sockets:
            await layer.group_add("project.1", channel)
        shard = layer._get_layer()._shards[0]
        host, port = shard._pubsub.connection._writer.get_extra_info("sockname")[:2]
        # Redis forgets this subscriber (as in an outage): whatever is published until the
        # layer re-subscribes never reaches it.
        assert admin.client_kill_filter(_id=None, addr=f"{host}:{port}") == 1
        for channel in sockets:
            message = await asyncio.wait_for(layer.receive(channel), 15)
            while message["type"] != "layer.resync":  # a frame sent after the re-subscribe may come first
                message = await asyncio.wait_for(layer.receive(channel), 15)
        # Subscribed again: group messages flow as before.
        await layer.group_send("project.1", data(1))
        assert (await asyncio.wait_for(layer.receive(sockets[0]), 5))["seq"] == 1
    finally:
        admin.close()
        await layer.flush()


@pytest.fixture
def pubsub_layer(settings, redis_url):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "contorl.layers.PubSubLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": f"t{uuid.uuid4().hex[:8]}"},
        }
    }
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.mark.django_db(transaction=True)
async def test_a_room_socket_answers_a_resync_with_a_fresh_ready(pubsub_layer, user):
    room = await database_sync_to_async(make_room)(user)
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/rooms/{room.pk}/")
    comm.scope["user"] = user
    assert (await comm.connect())[0]
    first = await comm.receive_json_from(timeout=5)
    assert first["type"] == "ready"
    await database_sync_to_async(room.refresh_from_db)()
    get_channel_layer()._get_layer().resync_all()
    frame = await comm.receive_json_from(timeout=5)
    while frame["type"] != "ready":  # own presence may come between
        frame = await comm.receive_json_from(timeout=5)
    assert frame["data"] == {"room": room.pk, "last_seq": room.last_seq}
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_room_socket_takes_the_seq_from_beside_the_text_and_never_parses_it(
    pubsub_layer, user, _event_contract
):
    """The layer message carries the seq next to the pre-encoded frame: the socket forwards the
    text byte for byte (this one is not even JSON, so a parse per recipient would fail)."""
    from contorl import events

    room = await database_sync_to_async(make_room)(user)
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/rooms/{room.pk}/")
    comm.scope["user"] = user
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "ready"
    text = '{"type": "message", "data": {"seq": 1, "body": "cut short'  # would not parse
    layer = get_channel_layer()
    group = events.room_group(room.pk)

    async def next_text():
        frame = await comm.receive_from(timeout=5)
        while frame.startswith('{"type": "presence"'):  # our own presence may come between
            frame = await comm.receive_from(timeout=5)
        return frame

    try:
        await layer.group_send(group, {"type": "event.message", "text": text, "seq": 41})
        assert await next_text() == text
        await layer.group_send(group, {"type": "event.message", "text": text + " 2", "seq": 42})
        assert await next_text() == text + " 2"
    finally:
        await comm.disconnect()
    # The suite's contract watcher saw both go out as they came: not JSON, on purpose here.
    assert sum("not JSON" in v for v in _event_contract) == 2
    _event_contract.clear()


def test_send_now_puts_the_seq_beside_the_text():
    """What contorl.events hands the layer: the frame's text as published, its seq alongside."""
    from contorl import events

    assert events._event_message('{"type": "message"}', 7) == {
        "type": "event.message",
        "text": '{"type": "message"}',
        "seq": 7,
    }
    assert "seq" not in events._event_message('{"type": "task_updated"}', None)


async def test_a_killed_process_leaves_no_membership_to_expire(redis_url):
    """The core layer keeps group memberships in Redis and needs group_expiry to forget those
    of a process that died without leaving. Here a membership is a subscription of the
    process's own connection: killed, it is gone at once, and nothing is stored under the
    layer's prefix."""
    import subprocess
    import sys
    import textwrap

    prefix = f"t{uuid.uuid4().hex[:8]}"
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from contorl.layers import PubSubLayer

        async def main():
            layer = PubSubLayer(hosts=[{redis_url!r}], prefix={prefix!r})
            channel = await layer.new_channel()
            await layer.group_add("room.1", channel)
            print("joined", flush=True)
            await asyncio.sleep(3600)

        asyncio.run(main())
        """
    )
    admin = redis.Redis.from_url(redis_url)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert proc.stdout.readline().strip() == "joined"
        group = PubSubLayer(hosts=[redis_url], prefix=prefix)._get_layer()._get_group_channel_name("room.1")
        assert admin.pubsub_numsub(group) == [(group.encode(), 1)]
        proc.kill()
        proc.wait(10)
        await until(lambda: admin.pubsub_numsub(group) == [(group.encode(), 0)], 10, "the subscription to go")
        assert admin.keys(f"{prefix}*") == []
    finally:
        if proc.poll() is None:
            proc.kill()
        admin.close()


async def test_a_thread_publishes_in_order_in_one_round_trip_without_the_event_loop(redis_url, monkeypatch):
    layer = PubSubLayer(hosts=[redis_url], prefix=f"t{uuid.uuid4().hex[:8]}")
    try:
        first, second = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("project.1", first)
        await layer.group_add("project.2", second)
        shard = layer._get_layer()._shards[0]
        single = []
        monkeypatch.setattr(shard, "publish", lambda *a: single.append(a))  # the loop's connection: not used
        round_trips = []
        client = layer._thread_client(0)
        real_pipeline = client.pipeline
        monkeypatch.setattr(client, "pipeline", lambda **kw: round_trips.append(kw) or real_pipeline(**kw))
        batch = [("project.1" if n % 3 else "project.2", data(n)) for n in range(1, 31)]
        await asyncio.to_thread(layer.group_send_many_from_thread, batch)
        got = {first: [], second: []}
        for channel, count in ((first, 20), (second, 10)):
            for _ in range(count):
                got[channel].append((await asyncio.wait_for(layer.receive(channel), 5))["seq"])
    finally:
        await layer.flush()
    assert single == [] and len(round_trips) == 1
    assert got[first] == [n for n in range(1, 31) if n % 3], "one group's frames arrive in publish order"
    assert got[second] == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]


async def test_receive_ready_takes_what_is_queued_in_order_without_waiting(redis_url):
    layer = PubSubLayer(hosts=[redis_url], prefix=f"t{uuid.uuid4().hex[:8]}")
    try:
        channel = await layer.new_channel()
        await layer.group_add("room.3", channel)
        assert layer.receive_ready(channel, 10) == []  # nothing queued: an empty answer, at once
        await asyncio.to_thread(layer.group_send_many_from_thread, [("room.3", data(n)) for n in range(1, 8)])
        first = await asyncio.wait_for(layer.receive(channel), 5)
        queue = layer._get_layer().channels[channel]
        await until(lambda: queue.qsize() == 6, 5, "the rest of the burst")
        assert [m["seq"] for m in [first, *layer.receive_ready(channel, 4)]] == [1, 2, 3, 4, 5]
        assert [m["seq"] for m in layer.receive_ready(channel, 10)] == [6, 7]
    finally:
        await layer.flush()


@pytest.mark.django_db(transaction=True)
async def test_a_room_socket_delivers_a_burst_taken_in_batches_in_seq_order(
    pubsub_layer, user, other_user, settings, monkeypatch
):
    """A socket busy with its own sends takes the frames that piled up together
    (ContorlConsumer.LAYER_BATCH) and must still deliver each once, in seq order."""
    from rooms import services

    settings.RATELIMIT_CHAT = "100000/s"  # a burst is the point here
    taken = []
    real = PubSubLayer.receive_ready
    monkeypatch.setattr(PubSubLayer, "receive_ready", lambda *a: taken.append(len(out := real(*a))) or out)
    # The queued path: with its sink, an idle socket would take each frame as it comes.
    monkeypatch.setattr(PubSubLayer, "set_sink", lambda self, channel, sink: None)
    room = await database_sync_to_async(make_room)(user, members=[(other_user, "editor")])
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/rooms/{room.pk}/")
    comm.scope["user"] = user
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "ready"
    sends = [services.ChatSend(by=other_user, content=f"reading {n}") for n in range(150)]
    outcomes = await database_sync_to_async(services.message_send_batch)(room.pk, sends)
    stored = [message.seq for message, _created in outcomes]
    seen = []
    while len(seen) < len(stored):
        frame = await comm.receive_json_from(timeout=5)
        if frame["type"] == "message":
            seen.append(frame["seq"])
    assert seen == stored
    assert max(taken) > 0, "some frames were taken together"
    await comm.disconnect()


async def _room_socket(settings, user, other_user):
    settings.RATELIMIT_CHAT = "100000/s"  # many sends in a row are the point here
    room = await database_sync_to_async(make_room)(user, members=[(other_user, "editor")])
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/rooms/{room.pk}/")
    comm.scope["user"] = user
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "ready"
    return room, comm


async def _messages(comm, count: int) -> list[dict]:
    seen = []
    while len(seen) < count:
        frame = await comm.receive_json_from(timeout=5)
        if frame["type"] in ("message", "resumed"):
            seen.append(frame)
    return seen


@pytest.mark.django_db(transaction=True)
async def test_an_idle_socket_gets_group_frames_without_its_queue(
    pubsub_layer, settings, user, other_user, monkeypatch
):
    """The layer hands a chat frame straight to an idle socket (set_sink): none goes through
    the socket's queue, and they arrive once each, in seq order."""
    from contorl.layers import _LoopLayer
    from rooms import services

    room, comm = await _room_socket(settings, user, other_user)
    queued = []
    real = _LoopLayer.receive
    monkeypatch.setattr(_LoopLayer, "receive", lambda *a: queued.append(a[1]) or real(*a))
    stored = []
    for n in range(20):
        sent, _ = await database_sync_to_async(services.message_send)(room=room, by=other_user, content=f"line {n}")
        stored.append(sent.seq)
    assert [f["seq"] for f in await _messages(comm, 20)] == stored
    assert queued == [], "an idle socket's frames skip its queue"
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_frames_for_a_socket_busy_resuming_queue_behind_the_replay(
    pubsub_layer, settings, user, other_user, monkeypatch
):
    """While a resume is being handled, frames published meanwhile wait in the queue and
    follow its `resumed`, each once (handed over directly, they would overtake it)."""
    from rooms import consumers, services

    room, comm = await _room_socket(settings, user, other_user)
    # The first resume after `ready` is answered from the ready's own read; the one below reads.
    await comm.send_json_to({"type": "resume", "last_seq": 10**9})
    assert [f["type"] for f in await _messages(comm, 1)] == ["resumed"]
    before = [
        (await database_sync_to_async(services.message_send)(room=room, by=other_user, content=f"before {n}"))[0].seq
        for n in range(3)
    ]
    await _messages(comm, 3)  # delivered live
    replayed = asyncio.Event()
    release = asyncio.Event()
    real_call = consumers.RESUMES.call

    async def held_resume(key, item):
        answer = await real_call(key, item)  # what to replay is read: the frames below come after it
        replayed.set()
        await release.wait()
        return answer

    monkeypatch.setattr(consumers.RESUMES, "call", held_resume)
    await comm.send_json_to({"type": "resume", "last_seq": before[0] - 1})
    await replayed.wait()
    during = [
        (await database_sync_to_async(services.message_send)(room=room, by=other_user, content=f"during {n}"))[0].seq
        for n in range(3)
    ]
    release.set()
    frames = [(f["type"], f["seq"]) for f in await _messages(comm, 4)]
    assert frames == [("resumed", before[-1])] + [("message", seq) for seq in during]
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_direct_send_that_waits_is_carried_on_in_order(pubsub_layer, settings, user, other_user, monkeypatch):
    """Under daphne a send never waits; where it does, the frame handed over directly is
    finished by a task, and the frames after it still leave in order."""
    from contorl.consumers import ContorlConsumer
    from rooms import services

    real_send = ContorlConsumer.send

    async def send_after_a_pause(self, *args, **kwargs):
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        await real_send(self, *args, **kwargs)

    monkeypatch.setattr(ContorlConsumer, "send", send_after_a_pause)
    room, comm = await _room_socket(settings, user, other_user)
    stored = []
    for n in range(15):
        sent, _ = await database_sync_to_async(services.message_send)(room=room, by=other_user, content=f"line {n}")
        stored.append(sent.seq)
    assert [f["seq"] for f in await _messages(comm, 15)] == stored
    await comm.disconnect()


async def test_sockets_that_connect_and_close_together_share_subscribe_commands(redis_url, monkeypatch):
    """200 sockets joining at once (a channel and a group each), then leaving: every one is
    subscribed and gets its group's message, every subscription is gone after, and the
    commands went in batches, not one per socket."""
    layer = PubSubLayer(hosts=[redis_url], prefix=f"t{uuid.uuid4().hex[:8]}")
    shard = layer._get_layer()._shards[0]
    commands = []
    shard._ensure_redis()
    for name in ("subscribe", "unsubscribe"):
        original = getattr(shard._pubsub, name)

        async def counted(*channels, _original=original, _name=name):
            commands.append((_name, len(channels)))
            return await _original(*channels)

        monkeypatch.setattr(shard._pubsub, name, counted)

    async def join(n):
        channel = await layer.new_channel()
        await layer.group_add(f"user.{n}", channel)
        return channel

    try:
        channels = await asyncio.gather(*(join(n) for n in range(200)))
        assert len(shard._subscribed_to) == 400
        await layer.group_send("user.7", data(7))
        assert (await asyncio.wait_for(layer.receive(channels[7]), 5))["seq"] == 7
        await asyncio.gather(*(layer.group_discard(f"user.{n}", c) for n, c in enumerate(channels)))
        assert shard._subscribed_to == set(channels)
    finally:
        await layer.flush()
    subscribes = [size for name, size in commands if name == "subscribe"]
    assert sum(subscribes) == 400 and len(subscribes) < 100
    unsubscribes = [size for name, size in commands if name == "unsubscribe"]
    assert sum(unsubscribes) == 200 and len(unsubscribes) < 50


async def test_a_socket_channel_is_local_and_a_joined_group_is_not_subscribed_again(redis_url, monkeypatch):
    """Sockets' own channels (new_local_channel) subscribe nothing in Redis yet get their
    groups' messages and this process's sends; a socket joining a group its process already
    listens to sends no SUBSCRIBE; only the last one leaving unsubscribes."""
    layer = PubSubLayer(hosts=[redis_url], prefix=f"t{uuid.uuid4().hex[:8]}")
    admin = redis.Redis.from_url(redis_url)
    shard = layer._get_layer()._shards[0]
    shard._ensure_redis()
    commands = []
    for name in ("subscribe", "unsubscribe"):
        original = getattr(shard._pubsub, name)

        async def counted(*channels, _original=original, _name=name):
            commands.append((_name, channels))
            return await _original(*channels)

        monkeypatch.setattr(shard._pubsub, name, counted)
    try:
        sockets = [await layer.new_local_channel() for _ in range(3)]
        for channel in sockets:
            await layer.group_add("room.9", channel)
        group = layer._get_layer()._get_group_channel_name("room.9")
        assert [name for name, _channels in commands] == ["subscribe"]  # the group's, once
        assert admin.pubsub_numsub(*sockets) == [(c.encode(), 0) for c in sockets]
        assert admin.pubsub_numsub(group) == [(group.encode(), 1)]
        await layer.group_send("room.9", data(1))
        await layer.send(sockets[2], {"type": "access.revoked", "user_id": 7})
        got = [
            [(await asyncio.wait_for(layer.receive(c), 5))["type"] for _ in range(n)]
            for c, n in zip(sockets, (1, 1, 2), strict=True)
        ]
        assert got[:2] == [["event.message"]] * 2
        assert sorted(got[2]) == ["access.revoked", "event.message"]  # two channels: no order between them
        for channel in sockets[:2]:
            await layer.group_discard("room.9", channel)
        assert [name for name, _channels in commands] == ["subscribe"]  # one socket still listens
        await layer.group_discard("room.9", sockets[2])
        assert commands[-1] == ("unsubscribe", (group,))
    finally:
        admin.close()
        await layer.flush()
