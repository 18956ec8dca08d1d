"""Fixtures of the automation tests: a project with roles, eager Celery, a webhook receiver."""

import http.server
import json
import threading
import time

import pytest

from tests.browser.conftest import browser, daphne_server, signed_in  # noqa: F401 (shared browser fixtures)

from .factories import make_project


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    # FAST_PASSWORD_HASHER from the root conftest is read after settings were loaded, so
    # PBKDF2 (~0.7 s per user on a busy box) would dominate these tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def eager():
    """Run Celery tasks in-process (the PostgreSQL pass has REDIS_URL set, so not eager by default)."""
    from contorl.celery import app

    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = old


@pytest.fixture
def people(make_user, other_department):
    return {
        "owner": make_user("olive", first_name="Olive"),
        "member": make_user("mike"),
        "viewer": make_user("vera"),
        "outsider": make_user("otto", department=other_department),
    }


@pytest.fixture
def project(people):
    return make_project(people["owner"], members=[(people["member"], "member"), (people["viewer"], "viewer")])


class Receiver:
    """A loopback webhook endpoint. `script` lists status codes to answer in order (then 200);
    requests are recorded with their arrival time; effects are deduped by Idempotency-Key."""

    def __init__(self):
        self.requests: list[dict] = []
        self.effects: list[str] = []
        self.script: list[int] = []
        self.location: str | None = None  # sent as Location with a 3xx from the script
        self.block = threading.Event()  # set() = do not block
        self.block.set()
        self.arrived = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                key = self.headers.get("Idempotency-Key")
                with receiver.lock:
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver.requests.append(
                        {"at": time.monotonic(), "headers": dict(self.headers), "body": body, "status": status}
                    )
                    # The receiver's side of "effect once": apply each key once.
                    if status < 300 and key not in receiver.effects:
                        receiver.effects.append(key)
                receiver.arrived.set()
                receiver.block.wait(60)
                try:
                    self.send_response(status)
                    if 300 <= status < 400 and receiver.location:
                        self.send_header("Location", receiver.location)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(json.dumps({"ok": status < 300}).encode())
                except OSError:
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.block.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    """A receiver on 127.0.0.1, which an administrator allowed (WEBHOOK_ALLOWED_HOSTS)."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def unlisted_receiver():
    """A receiver on 127.0.0.1 that nobody allowed: webhooks must never reach it."""
    r = Receiver()
    yield r
    r.close()
