"""Shared browser fixtures: a REAL daphne on loopback and Debian Chromium through Playwright.

`daphne_server` (session) builds its own file SQLite database under a tmp dir (migrate +
seed_demo), starts `daphne contorl.asgi:application` on a free port
and waits for /health/live. It can be stopped and started again on the same port (to test
reconnects). Tests get signed-in pages through the real login form:

    def test_x(daphne_server, signed_in):
        page = signed_in("alice")            # a fresh browser context per call
        page.goto(daphne_server.url + "/projects/")

Demo passwords come from contorl/management/commands/seed_demo.py. Screenshots: `shoot(page, name)`
writes var/screenshots/<name>.png (kept as CI artifacts); `readme_shot(page, name)` writes the
README's pictures, docs/screenshots/<name>.png, under `make screenshots` only.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.stack import launcher

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
README_SHOTS = ROOT / "docs" / "screenshots"
PASSWORDS = {"admin": "contorl-admin", "alice": "contorl-demo", "bob": "contorl-demo", "carol": "contorl-demo"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]


class LiveServer:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = launcher.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
        }
        self.env.update(
            {
                "SQLITE_PATH": str(workdir / "browser.sqlite3"),
                "MEDIA_ROOT": str(workdir / "media"),
                "DJANGO_SETTINGS_MODULE": "contorl.settings",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "RATELIMIT_STANDARD": "1000/m",  # the browser tests are not about rate limits
                "RATELIMIT_SENSITIVE": "200/m",
                "FAST_PASSWORD_HASHER": "1",  # seed and sign-in hash the same way; speed only
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.log = open(workdir / "daphne.log", "ab")  # noqa: SIM115 (closed in stop_for_good)

    def manage(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args[:2])} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def prepare(self) -> None:
        self.manage("migrate", "--noinput")
        self.manage("seed_demo")

    def run_python(self, code: str) -> str:
        """Run code against the server's database (`manage.py shell -c`); returns its stdout."""
        return self.manage("shell", "-c", code)

    def alive(self) -> bool:
        return launcher.http_ok(self.url + "/health/live")

    def start(self) -> None:
        self.proc = launcher.start_daphne(self.port, env=self.env, log=self.log)
        launcher.wait_live(self.url, self.proc, timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        launcher.wait_until(lambda: not self.alive(), 10, "daphne to stop")

    def stop_for_good(self) -> None:
        self.stop()
        self.log.close()


_server: LiveServer | None = None


@pytest.fixture(scope="session")
def daphne_server(tmp_path_factory):
    """One server for the whole session. The other directories' conftests import this
    fixture, and pytest makes each import a fixture of its own with its own session cache:
    each started its own server (migrate + seed_demo, ~15 s), five in the SQLite pass. They
    now share the first one, as the modules of tests/browser/ always did; it stops when the
    session ends."""
    global _server
    if _server is None:
        _server = LiveServer(tmp_path_factory.mktemp("browser-server"))
        _server.prepare()
        _server.start()
    yield _server
    if _server is not None and not _server.log.closed:
        _server.stop_for_good()


# Module scope, not session: a live sync Playwright instance keeps its event loop marked
# running in the main thread, which breaks every later asyncio test (and a second
# sync_playwright) in the same session. Each module starts and stops its own Chromium.
@pytest.fixture(scope="module")
def browser(daphne_server):
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Debian Chromium is not available")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Chromium instance -> {username: (the cookies of its sign-in, the page it landed on)}
_SIGN_INS: dict = {}


@pytest.fixture
def signed_in(browser, daphne_server):
    """signed_in(username, **context_options) -> a page of a fresh context, signed in.

    The first call per user and Chromium (one per module) signs in through the real form at
    /accounts/login/; later calls start their context from that sign-in's cookies (the same
    session, as another tab of that browser would) and open the page the sign-in landed on.
    A form sign-in costs ~1.3 s here and the browser tests ask for ~60."""
    contexts = []
    sign_ins = _SIGN_INS.setdefault(browser, {})

    def make(username: str, **options):
        options.setdefault("viewport", {"width": 1280, "height": 860})
        known = sign_ins.get(username)
        if known is not None:
            options["storage_state"] = {"cookies": known[0], "origins": []}
        context = browser.new_context(base_url=daphne_server.url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        if known is None:
            page.goto("/accounts/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", PASSWORDS[username])
            with page.expect_navigation():
                page.click("form button[type=submit]")
            assert "/accounts/login/" not in page.url, f"{username} could not sign in"
            sign_ins[username] = (context.cookies(), page.url)
        else:
            page.goto(known[1])
            assert "/accounts/login/" not in page.url, f"{username}'s session no longer signs in"
        return page

    yield make
    for context in contexts:
        context.close()


def shoot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def readme_shot(page, name: str) -> Path | None:
    """One of the README's pictures: what the viewport shows, as docs/screenshots/<name>.png.
    Only `make screenshots` (README_SCREENSHOTS=1) writes them, so a test run leaves the
    committed pictures alone; tests/foundation/test_dev_setup.py checks the README uses these."""
    if os.environ.get("README_SCREENSHOTS") != "1":
        return None
    README_SHOTS.mkdir(parents=True, exist_ok=True)
    path = README_SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
