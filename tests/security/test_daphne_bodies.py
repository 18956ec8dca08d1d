"""Request bodies through a real daphne: the application answers every one, in its envelope.

Twisted, under daphne, parses a multipart POST body itself (into request.args, which daphne
never reads) and answered one it could not parse with a bare `400 Bad Request`, no body and no
Content-Type, before the application saw it; schemathesis flagged every multipart POST for it.
"""

import os
import signal
import subprocess

import httpx
import pytest

from deploy.stack import launcher

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def daphne_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("daphne-bodies")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "contorl.settings",
            "SQLITE_PATH": str(tmp / "db.sqlite3"),  # no table is read: the requests fail before
            "RATELIMIT_ENABLE": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    port = launcher.free_port()
    log = tmp / "daphne.log"
    process = launcher.start_daphne(port, env=env, log=log, start_new_session=True)
    try:
        launcher.wait_live(f"http://127.0.0.1:{port}", process, timeout=90)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.mark.parametrize(
    "body",
    [b"--b0undary--\r\n", b"not multipart at all", b"--b0undary\r\nContent-Disposition: form-data\r\n\r\nx\r\n"],
)
def test_a_multipart_post_twisted_cannot_parse_reaches_the_application(daphne_url, body):
    response = httpx.post(
        f"{daphne_url}/api/auth/token/refresh/",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
        timeout=30,
    )
    assert response.status_code in (400, 401), response.text
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    assert set(response.json()["error"]) == {"code", "message", "details"}
