"""Presence counters on the real Redis cache: one round trip per join, counts per socket, expiry."""

import asyncio

import pytest

from rooms import presence
from tests.rooms.factories import make_room

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def test_joins_count_sockets_and_keep_an_expiry(redis_cache, user, carol):
    from django.core.cache import cache

    room = make_room(user, members=[(carol, "editor")])
    key = presence._presence_key(room.pk, carol.pk)
    client = presence._redis_client()
    assert client is not None  # the pipelined path, not the local-memory one
    assert presence.presence_join(room_id=room.pk, user=carol) == 1
    assert presence.presence_join(room_id=room.pk, user=carol) == 2  # a second tab
    assert 0 < client.ttl(cache.make_and_validate_key(key)) <= presence.PRESENCE_TTL
    assert cache.get(key) == 2  # Django's cache reads the counter INCR wrote
    assert [u["id"] for u in presence.online_users(room.pk)] == [carol.pk]
    assert presence.presence_leave(room_id=room.pk, user=carol) == 1
    assert presence.presence_leave(room_id=room.pk, user=carol) == 0
    assert cache.get(key) is None and presence.online_users(room.pk) == []


@pytest.mark.django_db(transaction=True)  # frames leave on commit
def test_a_batch_of_joins_and_leaves_counts_each_socket_in_order(redis_cache, user, carol, make_user, room_frames):
    """What a process sends when many sockets connect or drop at once: one batch, each change
    judged in order, a user announced online by the first socket and offline by the last."""
    from django.core.cache import cache

    dave = make_user("dave")
    room = make_room(user, members=[(carol, "editor"), (dave, "editor")])
    received = room_frames(room.pk)
    presence.typing_ping(room_id=room.pk, user=dave)
    received()  # the typing frame itself
    changes = [
        (room.pk, carol, 1),
        (room.pk, carol, 1),  # a second tab: no new frame
        (room.pk, dave, 1),
        (room.pk, dave, -1),  # dave's only socket drops: offline, and no longer typing
        (room.pk, carol, -1),
        (room.pk, carol, -1),
        (room.pk, carol, 1),  # carol reloads within the batch: online again, the key survives
    ]
    assert presence.apply_changes(changes) == [1, 2, 1, 0, 1, 0, 1]
    frames = [
        (f["type"], f["data"]["user"]["username"], f["data"].get("online", f["data"].get("typing"))) for f in received()
    ]
    assert frames == [
        ("presence", "carol", True),
        ("presence", "dave", True),
        ("typing", "dave", False),
        ("presence", "dave", False),
        ("presence", "carol", False),
        ("presence", "carol", True),
    ]
    assert cache.get(presence._presence_key(room.pk, carol.pk)) == 1
    assert cache.get(presence._presence_key(room.pk, dave.pk)) is None
    assert [u["username"] for u in presence.online_users(room.pk)] == ["carol"]


def test_a_leave_whose_key_expired_does_not_swallow_the_next_join(redis_cache, user, carol):
    """A reconnect after Redis lost the key (restart, lapsed expiry): the leave finds nothing
    and the join that follows counts from zero, so the user is online with one socket."""
    from django.core.cache import cache

    room = make_room(user, members=[(carol, "editor")])
    assert presence.apply_changes([(room.pk, carol, -1), (room.pk, carol, 1), (room.pk, carol, 1)]) == [0, 1, 2]
    assert cache.get(presence._presence_key(room.pk, carol.pk)) == 2
    assert presence.apply_changes([(room.pk, carol, -1)]) == [1]  # a tab is still open: still online
    assert [u["id"] for u in presence.online_users(room.pk)] == [carol.pk]


def test_a_keep_alive_extends_live_keys_and_writes_back_an_expired_one(redis_cache, user, carol, make_user):
    from django.core.cache import cache

    dave = make_user("dave")
    room = make_room(user, members=[(carol, "editor"), (dave, "editor")])
    client = presence._redis_client()
    carol_key, dave_key = (presence._presence_key(room.pk, u.pk) for u in (carol, dave))
    assert presence.presence_join(room_id=room.pk, user=carol) == 1
    assert presence.presence_join(room_id=room.pk, user=carol) == 2  # the local count says 1: Redis knows better
    client.expire(cache.make_and_validate_key(carol_key), 5)
    presence.presence_join(room_id=room.pk, user=dave)
    cache.delete(dave_key)  # lost: Redis restarted
    presence.refresh_many({(room.pk, carol.pk): 1, (room.pk, dave.pk): 2})
    assert cache.get(carol_key) == 2  # live: the count stays, the expiry is back to the full TTL
    assert client.ttl(cache.make_and_validate_key(carol_key)) > 5
    assert cache.get(dave_key) == 2  # Django's cache reads what the script wrote
    assert 0 < client.ttl(cache.make_and_validate_key(dave_key)) <= presence.PRESENCE_TTL
    assert [u["username"] for u in presence.online_users(room.pk)] == ["carol", "dave"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("refresh_first", [True, False])
async def test_a_keep_alive_racing_a_leave_cannot_bring_the_user_back(redis_cache, user, carol, refresh_first):
    """The keep-alive's snapshot and the socket's leave go through the same presence line: a
    snapshot read before the leave is written before it, one read after it no longer has the
    socket. (Written from its own thread, a snapshot landing after the leave wrote the user
    back online for a full TTL.)"""
    from asgiref.sync import sync_to_async
    from channels.db import database_sync_to_async
    from django.core.cache import cache

    from rooms.consumers import LOCAL_PRESENCE, PRESENCE_OUTBOX

    room = await database_sync_to_async(make_room)(user, members=[(carol, "editor")])
    key = presence._presence_key(room.pk, carol.pk)
    await PRESENCE_OUTBOX.call(None, (room.pk, carol, 1))
    LOCAL_PRESENCE.add(room.pk, carol.pk)
    try:

        async def leave():
            LOCAL_PRESENCE.discard(room.pk, carol.pk)
            await PRESENCE_OUTBOX.call(None, (room.pk, carol, -1))

        steps = [LOCAL_PRESENCE.refresh(), leave()]
        await asyncio.gather(*(steps if refresh_first else reversed(steps)))
        assert await sync_to_async(cache.get)(key) is None
        assert (room.pk, carol.pk) not in LOCAL_PRESENCE.counts
    finally:
        LOCAL_PRESENCE.counts.pop((room.pk, carol.pk), None)
        if LOCAL_PRESENCE.task is not None:
            LOCAL_PRESENCE.task.cancel()
