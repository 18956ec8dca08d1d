"""Against a REAL Celery worker on the Redis broker (not eager): exact backoff, permanent
failure, and a worker killed mid-task (acks_late redelivery) with the effect happening once.

The worker is a subprocess (`celery -A contorl worker`) pointed at the pytest-django test
database, so the tests use django_db(transaction=True): rows must be committed to be seen.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from automation import services
from automation.models import TriggerEffect, TriggerExecution
from notifications.models import Notification
from tasks.models import Task

from .factories import make_project, make_task

pytestmark = [pytest.mark.postgres, pytest.mark.celery, pytest.mark.redis, pytest.mark.slow]

BASE_DIR = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 7  # seconds before Redis hands an unacknowledged task out again (> the 4 s countdown)
TOLERANCE = 0.9  # seconds a retry may arrive late (broker round trip, DB writes, a busy CI box)


class Worker:
    def __init__(self, db_url: str, redis_url: str, queue: str, log_dir: Path):
        self.db_url, self.redis_url, self.queue, self.log_dir = db_url, redis_url, queue, log_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self):
        self.starts += 1
        log_path = self.log_dir / f"worker-{self.starts}.log"
        env = {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "REDIS_URL": self.redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "CELERY_RESTORE_INTERVAL": "1",
            "CELERY_DEFAULT_QUEUE": self.queue,  # runs queued by the worker itself stay here too
            "DB_POOL_MIN_SIZE": "1",
            "DB_POOL_MAX_SIZE": "4",
            "WEBHOOK_TIMEOUT_SECONDS": "30",
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",  # the test receiver (conftest.Receiver)
            "PYTHONUNBUFFERED": "1",
        }
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "contorl",
                "worker",
                "-l",
                "info",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "-Q",
                self.queue,
                "-n",
                f"{self.queue}-{self.starts}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes the pool child too
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {log_path.read_text()[-3000:]}")
            if " ready." in log_path.read_text():
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready: {log_path.read_text()[-3000:]}")

    def kill(self):
        """SIGKILL the whole worker (main process and pool child): no chance to ack or requeue."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if not self.log.closed:
            self.log.close()


@pytest.fixture(scope="session")
def celery_worker_proc(django_db_setup, django_db_blocker, tmp_path_factory):
    from conftest import REDIS_TEST_URL, port_open

    if connection.vendor != "postgresql":
        pytest.skip("the worker tests need PostgreSQL (this is the SQLite pass)")
    if not port_open(REDIS_TEST_URL, 6379):
        pytest.skip("Redis is not available")
    from contorl.celery import app

    name = connection.settings_dict["NAME"]  # "test_" + NAME: the pytest-django test database
    db_url = f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}/{name}"
    broker = app.conf.broker_url
    if not str(broker).startswith("redis://"):
        pytest.skip("the worker tests need the Redis broker (set REDIS_URL)")
    queue = f"contorl-test-{uuid.uuid4().hex[:8]}"  # nothing else consumes or feeds this queue
    old_queue, old_eager = app.conf.task_default_queue, app.conf.task_always_eager
    app.conf.task_default_queue, app.conf.task_always_eager = queue, False
    worker = Worker(db_url, broker, queue, tmp_path_factory.mktemp("celery"))
    worker.start()
    yield worker
    worker.stop()
    app.conf.task_default_queue, app.conf.task_always_eager = old_queue, old_eager


@pytest.fixture
def worker(celery_worker_proc):
    from contorl.celery import app

    if celery_worker_proc.proc.poll() is not None:
        celery_worker_proc.start()
    app.conf.task_always_eager = False
    return celery_worker_proc


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _final(outcome):
    def check():
        rows = list(TriggerExecution.objects.order_by("attempt"))
        return rows if rows and rows[-1].outcome == outcome else None

    return check


def _gaps(receiver):
    times = [r["at"] for r in receiver.requests]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def _delays(rows):
    """Seconds from the end of one attempt (when the retry was scheduled) to the start of the next."""
    return [(b.started_at - a.finished_at).total_seconds() for a, b in zip(rows, rows[1:], strict=False)]


def _assert_backoff(rows, receiver, expected):
    delays, gaps = _delays(rows), _gaps(receiver)
    print("backoff delays", delays, "webhook gaps", gaps)
    assert len(delays) == len(gaps) == len(expected)
    for delay, gap, want in zip(delays, gaps, expected, strict=True):
        # Never early (the countdown is an ETA), never more than TOLERANCE late.
        assert want - 0.01 <= delay <= want + TOLERANCE, delays
        assert want - 0.05 <= gap <= want + TOLERANCE, gaps


@pytest.mark.django_db(transaction=True)
def test_fails_twice_then_succeeds_with_1s_2s_backoff(worker, receiver, people):
    owner = people["owner"]
    project = make_project(owner)
    receiver.script = [500, 503]
    services.trigger_create(
        project=project, by=owner, name="hook", event="task_created", actions=[{"type": "webhook", "url": receiver.url}]
    )
    make_task(project, owner, title="deliver me")
    rows = wait_for(_final("success"), what="a successful attempt")
    assert [(r.attempt, r.outcome) for r in rows] == [(1, "retrying"), (2, "retrying"), (3, "success")]
    assert all(r.started_at and r.finished_at and r.finished_at >= r.started_at for r in rows)
    assert "HTTP 500" in rows[0].error and "HTTP 503" in rows[1].error and rows[2].error == ""
    _assert_backoff(rows, receiver, (1, 2))
    # Every attempt carried the same idempotency key (the run id) and the receiver applied it once.
    assert {r["headers"]["Idempotency-Key"] for r in receiver.requests} == {f"{rows[0].run_id}:0"}
    assert receiver.effects == [f"{rows[0].run_id}:0"]


@pytest.mark.django_db(transaction=True)
def test_always_failing_gives_four_attempts_then_permanent_failure(worker, receiver, people):
    owner, member = people["owner"], people["member"]
    project = make_project(owner, members=[(member, "member")])
    receiver.script = [500, 500, 500, 500, 500]
    trigger = services.trigger_create(
        project=project, by=owner, name="hook", event="task_created", actions=[{"type": "webhook", "url": receiver.url}]
    )
    make_task(project, member, title="never delivered")
    rows = wait_for(_final("failed"), what="a permanently failed attempt")
    assert [(r.attempt, r.outcome) for r in rows] == [(1, "retrying"), (2, "retrying"), (3, "retrying"), (4, "failed")]
    assert len(receiver.requests) == 4
    _assert_backoff(rows, receiver, (1, 2, 4))
    # The owners are told right after the last attempt is logged.
    notes = wait_for(lambda: list(Notification.objects.filter(type="trigger_failed")), what="the owners' notification")
    assert [n.recipient_id for n in notes] == [owner.pk]
    assert notes[0].data["trigger"] == trigger.pk
    time.sleep(0.5)  # nothing further may arrive after the last attempt
    assert len(receiver.requests) == 4


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_task_effect_happens_once(worker, receiver, people):
    owner = people["owner"]
    project = make_project(owner)
    services.trigger_create(
        project=project,
        by=owner,
        name="set and hook",
        event="task_created",
        actions=[
            {"type": "set_field", "field": "priority", "value": 4},
            {"type": "notify", "roles": ["owner"], "message": "created"},
            {"type": "webhook", "url": receiver.url},
        ],
    )
    receiver.block.clear()  # the receiver takes the request, applies it, and hangs
    task = make_task(project, owner, title="crash test")
    assert receiver.arrived.wait(30), "the webhook was never called"
    run_id = TriggerExecution.objects.get().run_id
    worker.kill()  # SIGKILL mid-task: the message was never acknowledged
    receiver.block.set()
    row = TriggerExecution.objects.get()
    assert row.outcome == "running" and row.deliveries == 1
    worker.start()  # Redis redelivers after the visibility timeout
    rows = wait_for(_final("success"), timeout=60, what="the redelivered attempt to finish")
    assert len(rows) == 1 and rows[0].deliveries == 2
    task.refresh_from_db()
    assert task.priority == 4 and task.version == 2  # set_field applied exactly once
    assert Task.history.filter(id=task.pk).count() == 2
    assert TriggerEffect.objects.filter(run_id=run_id).count() == 3
    # The webhook was sent twice with the same key; the receiver applied it once.
    assert len(receiver.requests) == 2
    assert {r["headers"]["Idempotency-Key"] for r in receiver.requests} == {f"{run_id}:2"}
    assert receiver.effects == [f"{run_id}:2"]
    # notify is a local action: it ran once, not once per delivery (the owner is the actor
    # of the write, not of the trigger, so the owner is notified).
    assert Notification.objects.filter(type="trigger").count() == 1
