"""Redis goes away during task writes: the writes succeed, /health/ready says so, and the
events arrive in order once Redis is back.

Uses a throwaway redis-server on a free port (never the shared one on 6379). The RDB dump
taken before the outage brings the group membership back with the restarted server, the way
a persistent production Redis would.
"""

import asyncio
import shutil
import socket
import subprocess
import time
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels_redis.core import RedisChannelLayer
from django.test import Client

from contorl import events
from deploy.stack.launcher import free_port
from tasks import services
from tests.board.factories import make_project, make_task, statuses

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


class ThrowawayRedis:
    def __init__(self, directory):
        self.port = free_port()
        self.directory = directory
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(  # noqa: S603
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.directory),
                "--dbfilename",
                "dump.rdb",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait until it answers, not a fixed sleep
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("throwaway redis-server did not start")

    def save(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(b"SAVE\r\n")
            assert conn.recv(16).startswith(b"+OK")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def throwaway_redis(tmp_path, settings):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = ThrowawayRedis(tmp_path)
    server.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [server.url], "prefix": f"outage-{uuid.uuid4().hex[:8]}"},
        }
    }
    channel_layers.backends.clear()
    yield server
    server.stop()
    # If the test failed half-way, frames for the dead server would hold up every later
    # publish in this process (the publisher keeps order): drop them.
    with events._lock:
        events._pending.clear()
    channel_layers.backends.clear()


def _ready():
    response = Client().get("/health/ready")
    return response.status_code, response.json()


async def _wait_drained(timeout=15.0):
    deadline = time.monotonic() + timeout
    while events.buffered() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return events.buffered()


async def test_writes_survive_redis_outage_and_events_arrive_in_order(throwaway_redis, settings, user):
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    project = await database_sync_to_async(make_project)(user)
    todo, doing, _ = await database_sync_to_async(statuses)(project)
    task = await database_sync_to_async(make_task)(project, user, title="Before", status=todo)
    group = events.project_group(project.pk)
    listener = f"outage-listener-{uuid.uuid4().hex[:8]}"

    layer = RedisChannelLayer(**config)
    await layer.group_add(group, listener)
    # The first event proves the path works before the outage.
    await database_sync_to_async(services.task_update)(task=task, version=1, by=user, title="Warm-up")
    first = await asyncio.wait_for(layer.receive(listener), 5)
    assert '"task_updated"' in first["text"]
    throwaway_redis.save()  # group membership survives the restart via the RDB file
    await layer.close_pools()
    throwaway_redis.stop()

    # Redis is down: both writes commit and return normally.
    task = await database_sync_to_async(services.task_update)(task=task, version=2, by=user, title="During outage")
    task = await database_sync_to_async(services.task_move)(task=task, status=doing, position=0, version=3, by=user)
    assert task.version == 4
    assert events.buffered() >= 2
    status, body = await database_sync_to_async(_ready)()
    assert status == 503
    assert body["checks"]["channel_layer"].startswith("error")
    assert body["checks"]["database"] == "ok"

    throwaway_redis.start()
    assert await _wait_drained() == 0
    layer = RedisChannelLayer(**config)
    frames = [await asyncio.wait_for(layer.receive(listener), 5) for _ in range(2)]
    texts = [f["text"] for f in frames]
    assert '"task_updated"' in texts[0] and "During outage" in texts[0]
    assert '"task_status_changed"' in texts[1] and '"version": 4' in texts[1]
    await layer.close_pools()

    status, body = await database_sync_to_async(_ready)()
    assert body["checks"]["channel_layer"] == "ok", body
