"""One way to start CONTORL's daphne on loopback: free ports, the command line, waiting for it.

Also the nginx front of the production layout (`write_nginx_conf`), so `make stack`, the
reliability tests and the benchmark run the same proxy configuration.

Used by the production-like stack (deploy/stack/stack.py), the benchmark harness
(bench/stack.py) and every test that runs a real daphne (tests/browser, tests/rooms/live.py,
tests/ops, tests/foundation/test_settings.py). Supervision stays with each caller, because
each keeps its processes differently (a state file for the stack, a process group for the
bench, a Popen for a test); what they all do the same way lives here. Standard library only:
the stack runs it outside Django.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
ASGI_APPLICATION = "contorl.asgi:application"


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll `predicate` until it holds; TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)  # polling a condition with a deadline, not a fixed wait
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """True when `url` answers 200 (loopback only; no proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def daphne_command(
    port: int,
    *,
    host: str = HOST,
    bin_dir: Path | None = None,
    proxy_headers: bool = False,
    websocket_timeout: int | None = None,
) -> list[str]:
    """The argv that serves contorl.asgi with the virtualenv's daphne (next to this Python)."""
    daphne = (bin_dir or Path(sys.executable).parent) / "daphne"
    extra = ["--proxy-headers"] if proxy_headers else []
    if websocket_timeout is not None:
        extra += ["--websocket_timeout", str(websocket_timeout)]
    return [str(daphne), "-b", host, "-p", str(port), *extra, ASGI_APPLICATION]


def start_daphne(port: int, *, env: dict, log, host: str = HOST, **popen) -> subprocess.Popen:
    """Start daphne on `port` with `env`; its output goes to `log` (an open binary file or a path)."""
    out = open(log, "ab") if isinstance(log, (str, Path)) else log  # noqa: SIM115 (lives as long as daphne)
    return subprocess.Popen(  # noqa: S603 (fixed argv)
        daphne_command(port, host=host),
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        **popen,
    )


def wait_live(base_url: str, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Wait for `base_url`/health/live to answer 200; RuntimeError at once if `process` exits."""

    def up() -> bool:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode} before serving {base_url}")
        return http_ok(f"{base_url}/health/live")

    wait_until(up, timeout, f"daphne at {base_url} to serve /health/live")


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def write_nginx_conf(run_dir: Path, *, daphne_ports: list[int], port: int, static_root: Path | None = None) -> Path:
    """nginx.conf under `run_dir` for nginx on `port` in front of daphne on `daphne_ports`."""
    template = (Path(__file__).resolve().parent / "nginx.conf.template").read_text()
    tmp = run_dir / "nginx-tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    user_line = ""
    if os.geteuid() == 0:
        # Started as root, nginx drops its workers to this user; they write the temp dirs.
        user_line = "user nobody nogroup;"
        for sub in ("", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp / sub).mkdir(exist_ok=True)
            shutil.chown(tmp / sub, "nobody", "nogroup")
    upstreams = "\n".join(f"        server {HOST}:{p} max_fails=1 fail_timeout=5s;" for p in daphne_ports)
    conf = template.format(
        user_line=user_line,
        run_dir=run_dir,
        upstreams=upstreams,
        listen=f"{HOST}:{port}",
        static_root=static_root or ROOT / "var" / "staticfiles",
    )
    path = run_dir / "nginx.conf"
    path.write_text(conf)
    return path


def nginx_command(conf: Path, run_dir: Path) -> list[str]:
    """Check `conf` (CalledProcessError with nginx's message if it is wrong), then the argv that runs it."""
    subprocess.run([nginx_binary(), "-t", "-q", "-c", str(conf), "-p", str(run_dir)], check=True, capture_output=True)  # noqa: S603
    return [nginx_binary(), "-c", str(conf), "-p", str(run_dir)]
