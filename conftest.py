"""Shared test fixtures. App factories live in tests/<app>/factories.py.

CONTORL_REQUIRE_SERVICES=1 (set by CI) turns every skip into a failure, so a test that
needs PostgreSQL, Redis, a worker or a browser can never pass quietly by skipping.
"""

import asyncio
import inspect
import io
import os
import shutil
import socket
import uuid
from urllib.parse import urlparse

import pytest

# Settings are imported before this file runs: variables they read (FAST_PASSWORD_HASHER,
# DB_POOL_MIN_SIZE) are set by the Makefile's test targets instead.

REQUIRE_SERVICES = os.environ.get("CONTORL_REQUIRE_SERVICES") == "1"
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15")
PG_TEST_URL = os.environ.get("PG_TEST_URL", "postgres://postgres@127.0.0.1:5432/contorl")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def port_open(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def need(condition: bool, what: str) -> None:
    if not condition:
        pytest.skip(f"{what} is not available")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CONTORL_REQUIRE_SERVICES=1: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    # A whole module skipped at import (pytest.importorskip) never reaches the per-test hook above.
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"module skipped under CONTORL_REQUIRE_SERVICES=1: {reason}"


def pytest_collection_modifyitems(items):
    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            item.fixturenames.insert(0, "_reap_leftover_tasks")


@pytest.fixture
async def _reap_leftover_tasks():
    """End every async test with no task left behind on its loop.

    A test that lets a consumer close its own socket never disconnects the communicator, so
    the application instance (and channels_redis' BZPOPMIN loop under it) is still running when
    pytest-asyncio closes the loop, which cancels each task exactly once. A cancellation that
    lands while a Redis read times out can be swallowed, and the loop then waited forever
    (CI: a 180 s teardown timeout). Daphne cancels a stuck instance again on every check; this
    does the same here, and names the tasks if they still will not stop.
    """
    yield
    me = asyncio.current_task()
    for _ in range(10):
        leftover = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        if not leftover:
            return
        for task in leftover:
            task.cancel()
        await asyncio.wait(leftover, timeout=1)
    stacks = io.StringIO()
    for task in leftover:
        task.print_stack(file=stacks)
    pytest.fail(f"{len(leftover)} task(s) ignored ten cancellations:\n{stacks.getvalue()}")


@pytest.fixture(scope="session", autouse=True)
def _translations_compiled():
    """`pytest` straight after a clone works as `make test` does: the .mo catalogs are build
    output (.gitignore), so any that are missing or older than their .po are compiled before the
    first test, and before any server the tests start reads them."""
    from django.core.management import call_command

    call_command("build_translations", verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _static_files_looked_up_per_request():
    """Every Django test client builds its own middleware chain on its first request, and
    WhiteNoise's middleware, outside DEBUG, lists and stats every static file there (the app
    directories through the finders too): about 0.1 s per client, thousands of clients per
    pass (the authorization matrix alone builds seven per row). Autorefresh, WhiteNoise's
    development mode, looks a static URL up when one is requested instead; the in-process
    clients serve the same files with the same headers. Servers the suite starts as
    processes (daphne, the stack) read their own settings and scan once at start-up."""
    from django.conf import settings

    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(scope="session", autouse=True)
def _transactional_teardown_deletes_rows():
    """A transactional test (transactional_db, django_db(transaction=True)) ends with Django's
    `flush`, which on PostgreSQL is one TRUNCATE of every table: ~0.4 s on this machine even
    when they are empty (a new file per table), ~100 such tests in the PostgreSQL pass. Here
    that one wipe is TRUNCATE's lock and then DELETE FROM every table, as Django's flush
    already does on SQLite: ~20 ms. Everything else is Django's flush (audit's `flush` lifting
    the append-only triggers around it, post_migrate afterwards); every foreign key is
    deferrable, so the order of the DELETEs does not matter. A test that calls `flush` itself
    still gets TRUNCATE."""
    from django.db.backends.postgresql.operations import DatabaseOperations
    from django.test import TransactionTestCase

    truncate = DatabaseOperations.sql_flush
    teardown = TransactionTestCase._fixture_teardown

    def sql_flush_by_delete(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        names = ", ".join(self.quote_name(table) for table in tables)
        # TRUNCATE's lock first: any transaction still touching a table (a thread a test left
        # behind) finishes before the wipe, and none starts until it commits.
        return [
            "SET CONSTRAINTS ALL DEFERRED",
            f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE",
            *(f"DELETE FROM {self.quote_name(table)}" for table in tables),  # noqa: S608 (table names, quoted)
        ]

    def fixture_teardown(self):
        DatabaseOperations.sql_flush = sql_flush_by_delete
        try:
            teardown(self)
        finally:
            DatabaseOperations.sql_flush = truncate

    TransactionTestCase._fixture_teardown = fixture_teardown
    yield
    TransactionTestCase._fixture_teardown = teardown


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached pages must not leak between tests."""
    from django.core.cache import cache

    try:
        cache.clear()
    except Exception:  # noqa: S110 (a test may point the cache at a dead Redis on purpose)
        pass
    yield


@pytest.fixture(autouse=True)
def _audit_sealing_inline(request, settings):
    """Seal on the writer's thread unless a test asks for the background sealer: most tests
    run inside one uncommitted transaction, which a sealer thread's own connection cannot see.
    Servers the suite starts as processes (tests/reliability) keep the production default."""
    if request.node.get_closest_marker("background_sealer") is None:
        settings.AUDIT_SEAL_IN_BACKGROUND = False


@pytest.fixture(autouse=True)
def _event_contract(monkeypatch):
    """Every WebSocket frame the suite emits must match its schema in docs/events: a frame
    that breaks the contract fails the test that emitted it (tests/contract/frames.py)."""
    from tests.contract import frames

    violations = frames.watch(monkeypatch)
    yield violations  # tests/contract reads (and clears) it to test the watcher itself
    if violations:
        pytest.fail(frames.report(violations), pytrace=False)


@pytest.fixture
def redis_url():
    need(port_open(REDIS_TEST_URL, 6379), "Redis")
    return REDIS_TEST_URL


@pytest.fixture
def postgres(db):
    from django.db import connection

    need(connection.vendor == "postgresql", "PostgreSQL (this is the SQLite pass)")
    return connection


REDIS_LAYERS = {
    "pubsub": "contorl.layers.PubSubLayer",  # the production default
    "core": "channels_redis.core.RedisChannelLayer",  # CHANNEL_LAYER=core
}


@pytest.fixture(params=sorted(REDIS_LAYERS))
def redis_channel_layer(request, settings, redis_url):
    """The real Redis channel layer, once per backend CONTORL supports. A test that stands in
    for another process builds its own instance with `layer_like(settings.CHANNEL_LAYERS)`."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": REDIS_LAYERS[request.param],
            "CONFIG": {"hosts": [redis_url], "prefix": f"contorl-test-{uuid.uuid4().hex[:8]}"},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield settings.CHANNEL_LAYERS
    channel_layers.backends.clear()


def layer_like(channel_layers: dict):
    """A second, independent instance of the configured layer (another process, in effect)."""
    from django.utils.module_loading import import_string

    default = channel_layers["default"]
    return import_string(default["BACKEND"])(**default.get("CONFIG", {}))


@pytest.fixture
def group_frames(settings):
    """Frames published to channel-layer groups, in the order the layer got them, on an
    in-memory layer: `received = group_frames("room.7")`, then `received()` drains what came."""
    import json

    from asgiref.sync import async_to_sync
    from channels.layers import channel_layers, get_channel_layer

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()

    def listen(group: str):
        async_to_sync(layer.group_add)(group, channel)

        def received() -> list[dict]:
            out = []
            while (queue := layer.channels.get(channel)) is not None and not queue.empty():
                out.append(json.loads(async_to_sync(layer.receive)(channel)["text"]))
            return out

        return received

    yield listen
    channel_layers.backends.clear()


@pytest.fixture
def redis_cache(settings, redis_url):
    settings.CACHES = {
        "default": {
            "BACKEND": "contorl.cache.SharedPoolRedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"contorl-test-{uuid.uuid4().hex[:8]}",
        }
    }
    # Django's setting_changed handler rebuilds the cache handlers for us.
    yield settings.CACHES


@pytest.fixture
def chromium_path():
    need(os.path.exists(CHROMIUM) or bool(shutil.which("chromium")), "Debian Chromium")
    return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")


# --- people -------------------------------------------------------------------------------
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def department(db):
    from contorl.accounts.models import Department

    return Department.objects.create(name="Production", code="PROD")


@pytest.fixture
def other_department(db):
    from contorl.accounts.models import Department

    return Department.objects.create(name="Quality", code="QA")


@pytest.fixture
def make_user(db, department):
    from contorl.accounts.models import User

    def make(username=None, **fields):
        username = username or f"user{uuid.uuid4().hex[:6]}"
        fields.setdefault("department", department)
        fields.setdefault("email", f"{username}@example.com")
        user = User.objects.create_user(username=username, password=PASSWORD, **fields)
        return user

    return make


@pytest.fixture
def user(make_user):
    return make_user("bob", first_name="Bob")


@pytest.fixture
def other_user(make_user, other_department):
    return make_user("olga", department=other_department)


@pytest.fixture
def admin_user(make_user):
    return make_user("root", is_system_admin=True, is_staff=True)


@pytest.fixture
def api_for():
    from rest_framework.test import APIClient

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def api(api_for, user):
    return api_for(user)


@pytest.fixture
def admin_api(api_for, admin_user):
    return api_for(admin_user)


@pytest.fixture
def anon_api(api_for):
    return api_for(None)
