"""A real daphne on a free loopback port, against its own freshly migrated, seeded SQLite file.

One server per test session (started on first use, stopped at exit), shared by the client
tests and the browser tests. It runs the embedded defaults (in-memory channel layer,
locmem cache) whatever the surrounding pass uses, because it is a separate process.
"""

import atexit
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from deploy.stack import launcher

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
DEMO_PASSWORD = "contorl-demo"  # contorl/management/commands/seed_demo.py


@dataclass
class LiveServer:
    url: str
    port: int
    process: subprocess.Popen
    workdir: str
    log_path: str

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")[-4000:]


_server: LiveServer | None = None


def server_env(workdir: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "contorl.settings",
            "SQLITE_PATH": os.path.join(workdir, "live.sqlite3"),
            "MEDIA_ROOT": os.path.join(workdir, "media"),
            "FAST_PASSWORD_HASHER": "1",
            "PYTHONUNBUFFERED": "1",
            # One server for the whole session and every sign-in from 127.0.0.1: the production
            # 20/min sign-in budget would refuse the later tests (limits have their own tests).
            "RATELIMIT_SENSITIVE": "1000/m",
            # ...and the same few users load many pages a minute: 60 API calls per minute
            # refused a later test's reaction with 429 (CI, 2026-12-01).
            "RATELIMIT_STANDARD": "1000/m",
        }
    )
    return env


def start() -> LiveServer:
    global _server
    if _server is not None and _server.process.poll() is None:
        return _server
    workdir = tempfile.mkdtemp(prefix="contorl-live-")
    env = server_env(workdir)
    for args in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    port = launcher.free_port()
    log_path = os.path.join(workdir, "daphne.log")
    process = launcher.start_daphne(port, env=env, log=log_path, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        launcher.wait_live(url, process, timeout=60)
    except (RuntimeError, TimeoutError) as exc:
        process.kill()
        raise RuntimeError(f"{exc}: {Path(log_path).read_text(errors='replace')[-2000:]}") from exc
    _server = LiveServer(url=url, port=port, process=process, workdir=workdir, log_path=log_path)
    atexit.register(stop)
    return _server


def stop() -> None:
    global _server
    if _server is None:
        return
    if _server.process.poll() is None:
        os.killpg(_server.process.pid, signal.SIGTERM)
        try:
            _server.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(_server.process.pid, signal.SIGKILL)
    _server = None


def token(server: LiveServer, username: str, password: str = DEMO_PASSWORD) -> str:
    r = httpx.post(f"{server.url}/api/auth/token/", json={"username": username, "password": password}, timeout=10)
    r.raise_for_status()
    return r.json()["access"]


def new_room(server: LiveServer, owner: str, members: dict[str, str], title: str = "Live test room") -> int:
    """Create a room over the real API as `owner`; members: {username: role}."""
    headers = {"Authorization": f"Bearer {token(server, owner)}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
        r = http.post("/api/rooms/", json={"title": title, "severity": "high", "location": "Line 3"})
        r.raise_for_status()
        room_id = r.json()["id"]
        for username, role in members.items():
            http.post(f"/api/rooms/{room_id}/members/", json={"username": username, "role": role}).raise_for_status()
    return room_id
