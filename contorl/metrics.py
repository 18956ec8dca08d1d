"""Prometheus metrics: one module that defines every CONTORL metric and the helpers that feed them.

Other modules never touch prometheus_client directly; they call the small helpers below
(`ws_opened`, `frame`, `broadcast_sent`, `trigger_attempt`, ...), so names, labels and
buckets stay in one place and the README's list of metrics can be checked against it.

Several daphne processes: set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by
all processes of one host (cleared at service start). prometheus_client then writes each
process's values to memory-mapped files there, and /metrics in any process aggregates them
(gauges declare how: open connections and queue lengths are summed over live processes).
Without it, each process reports only itself (then scrape each process as its own target).
"""

import atexit
import functools
import hmac
import ipaddress
import os
import re
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from .cache import SharedPoolRedisCache

# Read from the environment, not settings: prometheus_client itself reads this variable when
# the metrics below are created, and `python -m contorl.metrics` runs without Django settings.
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

# Latency buckets (seconds): fine at the low end where healthy requests and queries live.
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "contorl_http_requests", "HTTP requests served, by method, route and status code.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "contorl_http_request_duration_seconds",
    "Time from the request entering Django to the response leaving it, by method and route.",
    ["method", "route"],
    buckets=REQUEST_BUCKETS,
)
DB_LATENCY = Histogram(
    "contorl_db_query_duration_seconds",
    "Time spent in each SQL statement (execute or executemany), by database alias.",
    ["alias"],
    buckets=FAST_BUCKETS,
)
DB_ERRORS = Counter("contorl_db_query_errors", "SQL statements that raised, by database alias.", ["alias"])
CACHE_LATENCY = Histogram(
    "contorl_cache_operation_duration_seconds",
    "Time spent in each cache call (get, set, add, incr, delete, ...), by operation.",
    ["operation"],
    buckets=FAST_BUCKETS,
)
CACHE_ERRORS = Counter("contorl_cache_operation_errors", "Cache calls that raised, by operation.", ["operation"])
WS_CONNECTIONS = Gauge(
    "contorl_ws_connections",
    "Open WebSocket connections, by endpoint (ids replaced by {id}).",
    ["endpoint"],
    multiprocess_mode="livesum",
)
WS_FRAMES = Counter(
    "contorl_ws_frames",
    "WebSocket frames, by endpoint and direction (in = from clients, out = to clients).",
    ["endpoint", "direction"],
)
BROADCAST_LATENCY = Histogram(
    "contorl_event_broadcast_latency_seconds",
    "Time from events.publish() to the frame being handed to the channel layer "
    "(includes waiting for the transaction to commit and any Redis-outage buffering).",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 120.0),
)
EVENT_QUEUE = Gauge(
    "contorl_event_queue_length",
    "Events waiting in the publisher's in-process buffer because the channel layer is unavailable.",
    multiprocess_mode="livesum",
)
EVENTS_DROPPED = Counter(
    "contorl_events_dropped", "Events dropped because the publisher's buffer was full (EVENT_BUFFER_SIZE)."
)
TRIGGER_ATTEMPTS = Counter(
    "contorl_trigger_attempts",
    "Automation trigger action attempts run by Celery, by outcome (success, failure, retry).",
    ["outcome"],
)
RATELIMIT_REJECTIONS = Counter(
    "contorl_ratelimit_rejections", "Requests and WebSocket frames refused by the rate limiter, by tier.", ["tier"]
)
VERSION_CONFLICTS = Counter(
    "contorl_version_conflicts",
    "Writes refused with 409 version_conflict (stale version), by entity (app_label.Model).",
    ["entity"],
)
SIGNINS = Counter(
    "contorl_signins",
    "Session sign-ins, by outcome (success, failure, directory_unavailable).",
    ["outcome"],
)

TRIGGER_OUTCOMES = ("success", "failure", "retry")
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


# --- helpers called from the rest of CONTORL ---------------------------------------------
def endpoint_label(path: str) -> str:
    """'/ws/rooms/12/' -> '/ws/rooms/{id}/': bounded label values, whatever the ids."""
    return _ID_SEGMENT.sub("/{id}", path or "")[:100] or "unknown"


# labels() takes a lock and validates the values on every call: the children of the metrics
# counted on every request, query, cache call or socket are looked up once per label set.
@functools.lru_cache(maxsize=256)
def _ws_connections(endpoint: str):
    return WS_CONNECTIONS.labels(endpoint)


def ws_opened(endpoint: str) -> None:
    _ws_connections(endpoint).inc()


def ws_closed(endpoint: str) -> None:
    _ws_connections(endpoint).dec()


def frame(endpoint: str, direction: str) -> None:
    _frame_counter(endpoint, direction).inc()


@functools.cache
def _frame_counter(endpoint: str, direction: str):
    return WS_FRAMES.labels(endpoint, direction)


def broadcast_sent(published_at: float) -> None:
    """`published_at` is the time.monotonic() stamp taken in events.publish()."""
    BROADCAST_LATENCY.observe(max(0.0, time.monotonic() - published_at))


def event_queue(length: int) -> None:
    EVENT_QUEUE.set(length)


def event_dropped() -> None:
    EVENTS_DROPPED.inc()


def trigger_attempt(outcome: str) -> None:
    """For the automation worker: count one trigger action attempt ('success', 'failure', 'retry')."""
    if outcome not in TRIGGER_OUTCOMES:
        raise ValueError(f"outcome must be one of {TRIGGER_OUTCOMES}")
    TRIGGER_ATTEMPTS.labels(outcome).inc()


def ratelimit_rejected(tier: str) -> None:
    RATELIMIT_REJECTIONS.labels(tier).inc()


def version_conflict(entity: str) -> None:
    VERSION_CONFLICTS.labels(entity).inc()


def signin(outcome: str) -> None:
    SIGNINS.labels(outcome).inc()


# --- HTTP middleware ---------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)
def route_label(route: str) -> str:
    """DRF router regexes read like path() routes: '^tasks/(?P<pk>[^/.]+)/$' -> 'tasks/<pk>/'."""
    return "/" + _REGEX_GROUP.sub(r"<\1>", route).replace("^", "").replace("$", "")


# Any token is a method to HTTP: others are counted together, so a client cannot add label
# values (and children) without bound.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def method_label(method: str) -> str:
    return method if method in HTTP_METHODS else "other"


@functools.lru_cache(maxsize=4096)
def _http_latency(method: str, route: str):
    return HTTP_LATENCY.labels(method, route)


@functools.lru_cache(maxsize=4096)
def _http_requests(method: str, route: str, status: int):
    return HTTP_REQUESTS.labels(method, route, str(status))


class PrometheusMiddleware:
    """Counts and times every request. The label is the URL pattern, never the raw path."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = route_label(match.route) if match is not None and match.route else "unmatched"
        method = method_label(request.method)
        _http_latency(method, route).observe(time.perf_counter() - start)
        _http_requests(method, route, response.status_code).inc()
        return response


# --- database and cache timings ----------------------------------------------------------
def _time_query(execute, sql, params, many, context):
    alias = context["connection"].alias
    start = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    except Exception:
        DB_ERRORS.labels(alias).inc()
        raise
    finally:
        _db_latency(alias).observe(time.perf_counter() - start)


@functools.cache  # aliases are the settings' DATABASES keys
def _db_latency(alias: str):
    return DB_LATENCY.labels(alias)


def install_db_timer(sender=None, connection=None, **kwargs) -> None:
    """connection_created receiver. Pooled connections reconnect often, so add the wrapper once."""
    if connection is not None and _time_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(_time_query)


# Only calls the base classes implement themselves, so no call is timed twice (get_or_set
# and decr are built on get/add/incr).
_TIMED_CACHE_CALLS = (
    "get",
    "set",
    "add",
    "delete",
    "get_many",
    "set_many",
    "delete_many",
    "incr",
    "touch",
    "has_key",
    "clear",
)


@contextmanager
def _cache_timer(operation: str):
    start = time.perf_counter()
    try:
        yield
    except Exception:
        CACHE_ERRORS.labels(operation).inc()
        raise
    finally:
        _cache_latency(operation).observe(time.perf_counter() - start)


@functools.cache  # operations are _TIMED_CACHE_CALLS
def _cache_latency(operation: str):
    return CACHE_LATENCY.labels(operation)


def _timed(name):
    def call(self, *args, **kwargs):
        with _cache_timer(name):
            return getattr(super(self._timed_base, self), name)(*args, **kwargs)

    call.__name__ = name
    return call


class _TimedCacheMixin:
    _timed_base: type


def _timed_cache_class(name: str, base: type) -> type:
    attrs = {operation: _timed(operation) for operation in _TIMED_CACHE_CALLS}
    cls = type(name, (_TimedCacheMixin, base), attrs)
    cls._timed_base = cls
    return cls


# Drop-in cache backends (CACHES BACKEND) that time every call; behaviour is the base class's.
TimedRedisCache = _timed_cache_class("TimedRedisCache", SharedPoolRedisCache)
TimedLocMemCache = _timed_cache_class("TimedLocMemCache", LocMemCache)


# --- the /metrics endpoint ---------------------------------------------------------------
def _client_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    if settings.METRICS_ALLOW_IPS:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOW_IPS)
    return False


def registry():
    if not MULTIPROC_DIR:
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    return collected


@never_cache
@require_GET
def metrics_view(request):
    """Prometheus text format. Closed (403) unless METRICS_TOKEN or METRICS_ALLOW_IPS admits the caller."""
    if not _client_allowed(request):
        response = HttpResponse("metrics: bearer token or allow-listed address required\n", status=403)
        response["Content-Type"] = "text/plain; charset=utf-8"
        if settings.METRICS_TOKEN:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


if MULTIPROC_DIR:  # a process that exits cleanly removes its live gauges from the sums

    @atexit.register
    def _mark_dead() -> None:
        multiprocess.mark_process_dead(os.getpid())


def main(argv: list[str] | None = None) -> None:
    """`python -m contorl.metrics --port 9101`: serve this host's PROMETHEUS_MULTIPROC_DIR over
    plain HTTP, for hosts that run only Celery workers (no daphne to scrape). No auth: bind it
    to an internal address only."""
    import argparse
    import threading

    from prometheus_client import start_http_server

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=9101)
    parser.add_argument("--addr", default="127.0.0.1")
    args = parser.parse_args(argv)
    if not MULTIPROC_DIR:
        raise SystemExit("set PROMETHEUS_MULTIPROC_DIR to the directory the workers write to")
    start_http_server(args.port, addr=args.addr, registry=registry())
    threading.Event().wait()


if __name__ == "__main__":
    main()
