"""contorl.cache: one Redis connection pool per process, whatever context a cache call runs in."""

import asyncio
import contextvars
import threading

import pytest
from asgiref.sync import sync_to_async

from contorl import cache as shared


@pytest.mark.redis
def test_cache_calls_from_many_contexts_share_one_pool(redis_cache):
    from django.core.cache import cache

    threads = set()

    def write(i):
        # As a socket's database_sync_to_async call or an ASGI request does: a copy of a context
        # that never touched the cache, where Django builds a cache backend of its own.
        threads.add(threading.get_ident())
        cache.set(f"shared-pool:{i}", i, 10)
        assert cache.get(f"shared-pool:{i}") == i
        return cache._cache._get_connection_pool(write=True), cache._cache.get_client(write=True)

    async def each_in_its_own_context():
        return await asyncio.gather(*(sync_to_async(write, thread_sensitive=False)(i) for i in range(40)))

    opened_before = sum(pool._created_connections for pool in shared._POOLS.values())  # pools outlive a test
    pools, clients = zip(*contextvars.Context().run(asyncio.run, each_in_its_own_context()), strict=True)
    distinct = {id(pool): pool for pool in pools}
    assert len(distinct) == 1
    assert len({id(client) for client in clients}) == 1  # one redis.Redis too, not one per call
    opened = sum(pool._created_connections for pool in distinct.values())
    # A connection per thread at most, not one per call (Django's own backend opened 40).
    assert opened - opened_before <= len(threads) < 40
