"""Liveness and readiness. Ready names each dependency and fails with 503 when one is down."""

import asyncio
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import events


def _error(exc: Exception) -> str:
    return f"error: {exc.__class__.__name__}: {str(exc)[:120]}"


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:
        return _error(exc)


def check_cache() -> str:
    try:
        key = f"health:{uuid.uuid4().hex}"
        cache.set(key, "1", 5)
        if cache.get(key) != "1":
            return "error: cache did not return what was stored"
        cache.delete(key)
        return "ok"
    except Exception as exc:
        return _error(exc)


LAYER_TIMEOUT = 2.0  # seconds; a ping the layer lost must fail the probe, not hang it


async def _layer_round_trip(layer) -> dict:
    # One coroutine, so the channel is created, written and read on one event loop.
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.ping"})
    return await asyncio.wait_for(layer.receive(channel), LAYER_TIMEOUT)


def check_channel_layer() -> str:
    try:
        message = async_to_sync(_layer_round_trip)(get_channel_layer())
        if message.get("type") != "health.ping":
            return "error: channel layer returned the wrong message"
    except TimeoutError:
        return f"error: no answer from the channel layer within {LAYER_TIMEOUT:g} s"
    except Exception as exc:
        return _error(exc)
    return events.status()


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok"
    try:
        from contorl.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return _error(exc)


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
}


@never_cache
@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    results = {name: check() for name, check in CHECKS.items()}
    ok = all(value == "ok" for value in results.values())
    return JsonResponse({"status": "ok" if ok else "error", "checks": results}, status=200 if ok else 503)
