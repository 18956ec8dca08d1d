"""/metrics: who may read it, and that each CONTORL metric moves when its event happens."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import path
from prometheus_client import REGISTRY

from contorl import events, metrics
from contorl.consumers import ContorlConsumer

from .conftest import fresh_rate_window

ROOT = Path(__file__).resolve().parents[2]


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Echo(ContorlConsumer):
    async def authorize(self, user):
        return None

    async def on_ready(self):
        await self.send_frame({"type": "ready"})


# --- access ---------------------------------------------------------------------------------
def test_metrics_are_closed_by_default(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW_IPS = "", []
    assert client.get("/metrics").status_code == 403


def test_bearer_token_opens_metrics(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW_IPS = "s3cret-scrape-token", []

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    denied = client.get("/metrics")
    assert denied.status_code == 403 and "Bearer" in denied["WWW-Authenticate"]
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    body = response.content.decode()
    assert "# TYPE contorl_http_requests_total counter" in body
    assert "# TYPE contorl_ws_connections gauge" in body


def test_allow_list_opens_metrics_by_address(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW_IPS = "", ["10.0.0.0/8", "192.0.2.5"]

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.5").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.6").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="not-an-ip").status_code == 403


# --- HTTP, database, cache --------------------------------------------------------------------
@pytest.mark.django_db
def test_requests_are_counted_and_timed_by_route(client):
    labels = {"method": "GET", "route": "/health/live", "status": "200"}
    before = value("contorl_http_requests_total", **labels)
    timed = value("contorl_http_request_duration_seconds_count", method="GET", route="/health/live")

    client.get("/health/live")
    client.get("/no/such/page/123")

    assert value("contorl_http_requests_total", **labels) == before + 1
    assert value("contorl_http_request_duration_seconds_count", method="GET", route="/health/live") == timed + 1
    assert value("contorl_http_requests_total", method="GET", route="unmatched", status="404") >= 1


def test_made_up_methods_share_one_label(client):
    """Any token is an HTTP method: a client inventing them must not add label values."""
    before = value("contorl_http_requests_total", method="other", route="/health/live", status="405")
    for method in ("BREW", "WHEN", "X-7"):
        client.generic(method, "/health/live")
    assert value("contorl_http_requests_total", method="other", route="/health/live", status="405") == before + 3
    assert value("contorl_http_requests_total", method="BREW", route="/health/live", status="405") == 0


@pytest.mark.django_db
def test_router_routes_are_labelled_by_pattern_not_path(api):
    api.get("/api/users/me/")
    api.get("/api/departments/123456/")
    assert value("contorl_http_requests_total", method="GET", route="/api/users/me/", status="200") >= 1
    assert value("contorl_http_requests_total", method="GET", route="/api/departments/<pk>/", status="404") >= 1


@pytest.mark.django_db
def test_database_and_cache_calls_are_timed():
    alias = connection.alias
    queries = value("contorl_db_query_duration_seconds_count", alias=alias)
    gets = value("contorl_cache_operation_duration_seconds_count", operation="get")
    sets = value("contorl_cache_operation_duration_seconds_count", operation="set")

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.set("metrics-test", 1)
    cache.get("metrics-test")

    assert value("contorl_db_query_duration_seconds_count", alias=alias) >= queries + 1
    assert value("contorl_cache_operation_duration_seconds_count", operation="get") == gets + 1
    assert value("contorl_cache_operation_duration_seconds_count", operation="set") == sets + 1


@pytest.mark.redis
def test_redis_cache_calls_are_timed(settings, redis_url):
    settings.CACHES = {"default": {"BACKEND": "contorl.metrics.TimedRedisCache", "LOCATION": redis_url}}
    incrs = value("contorl_cache_operation_duration_seconds_count", operation="incr")
    cache.set("metrics-counter", 1)

    assert cache.incr("metrics-counter") == 2

    assert value("contorl_cache_operation_duration_seconds_count", operation="incr") == incrs + 1


# --- WebSockets and the publisher --------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
async def test_open_connections_and_frames_by_endpoint(user):
    from channels.routing import URLRouter

    app = URLRouter([path("ws/metrics-echo/<int:pk>/", Echo.as_asgi())])
    endpoint = "/ws/metrics-echo/{id}/"
    frames_out = value("contorl_ws_frames_total", endpoint=endpoint, direction="out")
    frames_in = value("contorl_ws_frames_total", endpoint=endpoint, direction="in")

    comms = []
    for pk in (1, 2):
        comm = WebsocketCommunicator(app, f"/ws/metrics-echo/{pk}/")
        comm.scope["user"] = user
        assert (await comm.connect())[0]
        assert (await comm.receive_json_from(timeout=3))["type"] == "ready"
        comms.append(comm)
    assert value("contorl_ws_connections", endpoint=endpoint) == 2  # ids folded into one label

    await comms[0].send_json_to({"type": "pong"})
    await comms[0].send_json_to({"type": "nonsense"})  # answered with an error frame
    assert (await comms[0].receive_json_from(timeout=3))["type"] == "error"
    for comm in comms:
        await comm.disconnect()

    assert value("contorl_ws_connections", endpoint=endpoint) == 0
    assert value("contorl_ws_frames_total", endpoint=endpoint, direction="in") == frames_in + 2
    assert value("contorl_ws_frames_total", endpoint=endpoint, direction="out") == frames_out + 3


@pytest.mark.django_db(transaction=True)
def test_broadcast_latency_is_observed_after_commit():
    before = value("contorl_event_broadcast_latency_seconds_count")
    with transaction.atomic():
        events.publish("metrics.test", "ping", {"n": 1})
        assert value("contorl_event_broadcast_latency_seconds_count") == before  # not sent before commit
    assert value("contorl_event_broadcast_latency_seconds_count") == before + 1


@pytest.fixture
def dead_channel_layer(settings):
    """A Redis channel layer pointing at a port where nothing listens: a real outage."""
    from .conftest import free_port

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},
        }
    }
    channel_layers.backends.clear()
    yield
    with events._lock:  # the drain thread stops once nothing is waiting
        events._pending.clear()
        metrics.event_queue(0)
    channel_layers.backends.clear()


def test_publisher_queue_length_during_an_outage(dead_channel_layer):
    events.send_now("metrics.outage", json.dumps({"type": "ping"}))
    events.send_now("metrics.outage", json.dumps({"type": "ping"}))

    assert value("contorl_event_queue_length") == 2
    assert events.buffered() == 2


# --- counters other modules feed ------------------------------------------------------------
@pytest.mark.django_db
def test_rate_limit_rejections_are_counted_by_tier(anon_api, settings):
    settings.RATELIMIT_SENSITIVE = "1/h"
    fresh_rate_window(period=3600, room=30)
    before = value("contorl_ratelimit_rejections_total", tier="sensitive")

    anon_api.post("/api/auth/token/", {"username": "x", "password": "y"})
    assert anon_api.post("/api/auth/token/", {"username": "x", "password": "y"}).status_code == 429

    assert value("contorl_ratelimit_rejections_total", tier="sensitive") == before + 1


def test_trigger_attempt_counter_for_the_automation_worker():
    before = value("contorl_trigger_attempts_total", outcome="failure")
    metrics.trigger_attempt("failure")
    assert value("contorl_trigger_attempts_total", outcome="failure") == before + 1
    with pytest.raises(ValueError):
        metrics.trigger_attempt("maybe")


@pytest.mark.django_db
def test_sign_in_outcomes_are_counted(client, user, password):
    ok, bad = value("contorl_signins_total", outcome="success"), value("contorl_signins_total", outcome="failure")
    client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
    client.post("/accounts/login/", {"username": user.username, "password": password})
    assert value("contorl_signins_total", outcome="success") == ok + 1
    assert value("contorl_signins_total", outcome="failure") == bad + 1


# --- several processes ---------------------------------------------------------------------------
WORKER = textwrap.dedent(
    """
    import sys
    from contorl import metrics
    for _ in range(int(sys.argv[1])):
        metrics.ws_opened("/ws/rooms/{id}/")
    metrics.trigger_attempt("success")
    print("up", flush=True)
    if sys.argv[2] == "stay":
        sys.stdin.readline()
    """
)
SCRAPE = textwrap.dedent(
    """
    from prometheus_client import generate_latest
    from contorl import metrics
    print(generate_latest(metrics.registry()).decode())
    """
)


@pytest.mark.slow
def test_multiprocess_mode_sums_live_processes(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "contorl.settings"}

    def python(code, *args, **kwargs):
        return subprocess.Popen(
            [sys.executable, "-c", code, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, **kwargs
        )

    staying = python(WORKER, "1", "stay", stdin=subprocess.PIPE)
    try:
        assert staying.stdout.readline().strip() == "up"
        leaving = python(WORKER, "2", "exit")
        assert leaving.communicate(timeout=60)[0].strip() == "up"
        scrape = python(SCRAPE).communicate(timeout=60)[0]
    finally:
        staying.communicate(input="\n", timeout=60)

    lines = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in scrape.splitlines() if line and line[0] != "#"
    }
    assert lines['contorl_trigger_attempts_total{outcome="success"}'] == 2  # counters add up across processes
    assert lines['contorl_ws_connections{endpoint="/ws/rooms/{id}/"}'] == 1  # only the live process's sockets
