"""Two real daphne processes sharing PROMETHEUS_MULTIPROC_DIR: a scrape of either one reports
the sockets open on both, and a process that stops takes its share with it."""

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from deploy.stack import launcher

from .conftest import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-token-for-tests"
GAUGE = 'contorl_ws_connections{endpoint="/ws/notifications/"}'


def start_daphne(port: int, env: dict, log: Path) -> subprocess.Popen:
    return launcher.start_daphne(port, env=env, log=log, start_new_session=True)


def wait_live(port: int, process: subprocess.Popen, log: Path) -> None:
    try:
        launcher.wait_live(f"http://127.0.0.1:{port}", process, timeout=90)
    except (RuntimeError, TimeoutError) as exc:
        raise RuntimeError(f"{exc}: {log.read_text(errors='replace')[-2000:]}") from exc


def gauge(port: int) -> float:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200
    for line in response.text.splitlines():
        if line.startswith(GAUGE + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_for_gauge(port: int, expected: float, timeout: float = 15) -> None:
    """The gauge moves when daphne handles the connect/close, a moment after the client acts."""
    deadline = time.monotonic() + timeout
    while (current := gauge(port)) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{GAUGE} = {current}, expected {expected}")
        time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_two_daphne_processes_report_one_sum(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "contorl.settings",
            "SQLITE_PATH": str(tmp_path / "db.sqlite3"),  # no query is made: anonymous sockets and /metrics
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "METRICS_TOKEN": TOKEN,
            "WS_AUTH_TIMEOUT": "120",  # unauthenticated sockets stay open long enough to be counted
            "PYTHONUNBUFFERED": "1",
        }
    )
    port_a, port_b = free_port(), free_port()
    a = start_daphne(port_a, env, tmp_path / "a.log")
    b = start_daphne(port_b, env, tmp_path / "b.log")
    with contextlib.ExitStack() as open_sockets:
        try:
            wait_live(port_a, a, tmp_path / "a.log")
            wait_live(port_b, b, tmp_path / "b.log")
            sockets = [
                open_sockets.enter_context(
                    connect(f"ws://127.0.0.1:{port}/ws/notifications/", origin=f"http://127.0.0.1:{port}")
                )
                for port in (port_a, port_a, port_b)
            ]

            wait_for_gauge(port_b, 3)  # B reports A's two sockets and its own one
            assert gauge(port_a) == 3

            sockets[0].close()
            wait_for_gauge(port_a, 2)

            stop(a)  # a clean exit removes A's remaining socket from the live sum
            wait_for_gauge(port_b, 1)
        finally:
            stop(a)
            stop(b)
