"""The production cache backend: Django's Redis cache with one connection pool per process.

Django keeps cache backends in context-local storage (`caches` is an asgiref Local with
thread_critical=False), and each RedisCache instance builds its own connection pool. Under
ASGI every request, and every database_sync_to_async call from a socket, runs in a fresh
copy of the context, so each got a new RedisCache, a new pool and a new TCP connection to
Redis: a connect, a CLIENT SETINFO and redis-py's package-metadata lookup per presence join,
rate-limit check and request. py-spy put a fifth of daphne's samples during WebSocket
admissions there (bench/PROFILE.md, fifth session; Django PR #18459 describes the same).
Here the backends stay per context as Django wants, but they share the process's pool, and
one client object per pool: Django builds a new `redis.Redis` per cache call, and each one
fills a table of ~170 response callbacks (a third of a millisecond, twice per API request).
"""

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_POOLS: dict[tuple, object] = {}
_CLIENTS: dict[int, object] = {}  # id(pool) -> the one redis.Redis over it (pools live forever)
_POOLS_LOCK = threading.Lock()


class _SharedPoolClient(RedisCacheClient):
    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        key = (self._servers[index], self._pool_class, repr(sorted(self._pool_options.items())))
        pool = _POOLS.get(key)
        if pool is None:
            with _POOLS_LOCK:
                pool = _POOLS.get(key)
                if pool is None:
                    # redis-py's ConnectionPool is thread-safe and resets itself in a forked
                    # child (Celery's prefork workers), so one per process is enough.
                    pool = _POOLS[key] = self._pool_class.from_url(self._servers[index], **self._pool_options)
        return pool

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = _CLIENTS.get(id(pool))
        if client is None:
            # redis.Redis holds no per-call state (connections come from the pool per command),
            # so threads and contexts can share it; a lost race only builds one twice.
            client = _CLIENTS.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _SharedPoolClient
