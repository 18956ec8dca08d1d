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
