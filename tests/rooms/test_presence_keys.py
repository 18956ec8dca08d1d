"""Presence counters on the real Redis cache: one round trip per join, counts per socket, expiry."""

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
