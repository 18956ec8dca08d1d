# ruff: noqa: S603, S103 -- fixed argv lists built here (no shell); 0o755 lets nobody/postgres traverse.
"""Start and stop the CONTORL production layout on one machine, for testing.

    nginx :8080 -> daphne :P1, daphne :P2 (one ASGI app each), one Celery worker, one beat,
    PostgreSQL (database contorl_stack on the machine's server, or a throwaway cluster),
    and its own redis-server on a free port (never the machine's shared Redis).

Everything runs in production mode (DJANGO_ENV=production, a generated SECRET_KEY) except
that SECURE_SSL_REDIRECT is off, because the loopback proxy speaks plain HTTP. Each process
gets its own session, pid and log under the run directory (var/stack/ by default), so
`stop` can end exactly the processes `start` began, by pid.

    python deploy/stack/stack.py start [--port 8080] [--database-url URL | --own-postgres]
    python deploy/stack/stack.py stop
    python deploy/stack/stack.py status

The reliability tests (tests/reliability/) import `Stack` and drive the same code, adding
fault injection: stop/start Redis, restart PostgreSQL, kill a daphne process.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

try:
    from . import launcher
except ImportError:  # run as a script: python deploy/stack/stack.py
    import launcher

# The reliability tests import these from here.
free_port, port_open, wait_until = launcher.free_port, launcher.port_open, launcher.wait_until

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENV_BIN = ROOT / ".venv" / "bin"
DEFAULT_RUN_DIR = ROOT / "var" / "stack"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/contorl_stack"


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our exited child not yet reaped) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return False


def pg_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return candidates[-1]
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"PostgreSQL's {name} is not installed")
    return found


def as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: drop to the postgres OS user."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@dataclass
class State:
    run_dir: str
    http_port: int = 0
    daphne_ports: list[int] = field(default_factory=list)
    redis_port: int = 0
    database_url: str = ""
    own_pg_dir: str = ""
    own_pg_port: int = 0
    secret_key: str = ""
    pids: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)


class Stack:
    """One stack instance. All state (ports, pids, secret) lives in run_dir/state.json."""

    def __init__(self, run_dir: str | Path = DEFAULT_RUN_DIR):
        self.run_dir = Path(run_dir)
        self.state_file = self.run_dir / "state.json"
        if self.state_file.exists():
            self.state = State(**json.loads(self.state_file.read_text()))
        else:
            self.state = State(run_dir=str(self.run_dir))
        self._children: dict[str, subprocess.Popen] = {}

    # --- bookkeeping -------------------------------------------------------------------
    def save(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(asdict(self.state), indent=2))
        os.chmod(self.state_file, 0o600)  # it holds the SECRET_KEY

    def log_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    def spawn(self, name: str, cmd: list[str], env: dict | None = None) -> int:
        """Start a process in its own session (so a Ctrl-C of `make` does not reach it)."""
        log = open(self.log_path(name), "ab")  # noqa: SIM115 (the child owns it)
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self._children[name] = proc
        self.state.pids[name] = proc.pid
        self.save()
        return proc.pid

    def send_signal(self, name: str, sig: int = signal.SIGTERM) -> None:
        pid = self.state.pids.get(name)
        if pid_alive(pid):
            os.kill(pid, sig)

    def reap(self, name: str, timeout: float = 10.0) -> None:
        """Wait for a process we signalled; SIGKILL it if it lingers."""
        pid = self.state.pids.get(name)
        proc = self._children.pop(name, None)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            if proc is not None:
                proc.wait(5)
        elif proc is not None:
            proc.wait(5)
        self.state.pids.pop(name, None)
        self.save()

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        self.send_signal(name, sig)
        self.reap(name, timeout)

    # --- environment -------------------------------------------------------------------
    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.state.redis_port}/0"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.state.http_port}"

    def daphne_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.state.daphne_ports[index]}"

    def app_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "REDIS_", "PG_"))}
        origins = ",".join(f"http://127.0.0.1:{p}" for p in [self.state.http_port, *self.state.daphne_ports])
        env.update(
            DJANGO_SETTINGS_MODULE="contorl.settings",
            DJANGO_ENV="production",
            SECRET_KEY=self.state.secret_key,
            AUDIT_HMAC_KEY="audit-" + self.state.secret_key,  # production needs one (audit/keys.py)
            SECURE_SSL_REDIRECT="false",
            DATABASE_URL=self.state.database_url,
            REDIS_URL=self.redis_url,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            CSRF_TRUSTED_ORIGINS=origins,
            CHANNEL_PREFIX="contorl-stack",
            CACHE_KEY_PREFIX="contorl-stack",
            TRUSTED_PROXIES="127.0.0.1,::1",  # nginx in front; its X-Real-IP names the client
            DB_POOL_MIN_SIZE=env.get("DB_POOL_MIN_SIZE", "2"),
            DB_POOL_MAX_SIZE=env.get("DB_POOL_MAX_SIZE", "10"),
            DB_POOL_TIMEOUT=env.get("DB_POOL_TIMEOUT", "3"),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.state.extra_env)
        return env

    def manage(self, *args: str, timeout: float = 180, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", *args],
            cwd=ROOT, env=self.app_env(), check=True, timeout=timeout, capture_output=True, text=True, **kwargs,
        )  # fmt: skip

    # --- Redis (always our own server) --------------------------------------------------
    def start_redis(self) -> None:
        if not self.state.redis_port:
            self.state.redis_port = free_port()
        self.spawn(
            "redis",
            [
                shutil.which("redis-server") or "redis-server",
                "--bind", "127.0.0.1", "--port", str(self.state.redis_port),
                "--save", "", "--appendonly", "no", "--dir", str(self.run_dir),
                "--daemonize", "no", "--protected-mode", "yes",
            ],
        )  # fmt: skip
        wait_until(lambda: port_open(self.state.redis_port), 10, "redis-server start")

    def stop_redis(self) -> None:
        self.stop_process("redis")
        wait_until(lambda: not port_open(self.state.redis_port), 10, "redis-server stop")

    # --- PostgreSQL -------------------------------------------------------------------
    def init_own_postgres(self) -> None:
        """A throwaway cluster (initdb into a temp dir) that fault tests may stop at will."""
        pg_dir = Path(self.state.own_pg_dir or (self.run_dir / "pg"))
        self.state.own_pg_dir = str(pg_dir)
        self.state.own_pg_port = self.state.own_pg_port or free_port()
        self.state.database_url = f"postgres://postgres@127.0.0.1:{self.state.own_pg_port}/contorl_stack"
        self.save()
        if not (pg_dir / "data" / "PG_VERSION").exists():
            (pg_dir / "data").mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(pg_dir, "postgres", "postgres")
                shutil.chown(pg_dir / "data", "postgres", "postgres")
            subprocess.run(
                as_postgres([pg_bin("initdb"), "-D", str(pg_dir / "data"), "-U", "postgres", "-A", "trust",
                             "--no-sync", "-E", "UTF8", "--locale=C"]),
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip

    def start_own_postgres(self) -> None:
        pg_dir = Path(self.state.own_pg_dir)
        options = (
            f"-p {self.state.own_pg_port} -k {pg_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        subprocess.run(
            as_postgres([pg_bin("pg_ctl"), "-D", str(pg_dir / "data"), "-o", options,
                         "-l", str(pg_dir / "postgres.log"), "-w", "-t", "60", "start"]),
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip

    def stop_own_postgres(self, mode: str = "fast") -> None:
        pg_dir = Path(self.state.own_pg_dir)
        if not (pg_dir / "data" / "postmaster.pid").exists():
            return
        subprocess.run(
            as_postgres([pg_bin("pg_ctl"), "-D", str(pg_dir / "data"), "-m", mode, "-w", "-t", "60", "stop"]),
            check=False, capture_output=True, timeout=90,
        )  # fmt: skip

    def ensure_database(self) -> None:
        import psycopg

        url = self.state.database_url
        base, name = url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')

    # --- the application ----------------------------------------------------------------
    def prepare_app(self, extra_code: str = "") -> str:
        """Migrate and collect static files in one Django start-up (each start costs seconds);
        `extra_code` runs afterwards in the same interpreter (tests seed users with it)."""
        self.ensure_database()
        code = (
            "import django; django.setup()\n"
            "from django.core.management import call_command\n"
            "call_command('migrate', interactive=False, verbosity=0)\n"
            "call_command('collectstatic', interactive=False, verbosity=0)\n"
        ) + extra_code
        done = subprocess.run(
            [str(VENV_BIN / "python"), "-c", code],
            cwd=ROOT, env=self.app_env(), timeout=300, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"preparing the application failed:\n{done.stderr[-4000:]}")
        return done.stdout

    def start_daphne(self, index: int) -> None:
        port = self.state.daphne_ports[index]
        self.spawn(
            f"daphne{index}",
            launcher.daphne_command(port, bin_dir=VENV_BIN, proxy_headers=True, websocket_timeout=-1),
            env=self.app_env(),
        )

    def wait_daphne(self, index: int, timeout: float = 60) -> None:
        url = f"{self.daphne_url(index)}/health/live"
        wait_until(lambda: launcher.http_ok(url), timeout, f"daphne {index} to serve")

    def start_worker(self) -> None:
        self.spawn(
            "worker",
            [str(VENV_BIN / "celery"), "-A", "contorl", "worker", "-l", "info", "--concurrency", "1",
             "-n", f"stack@{socket.gethostname()}"],
            env=self.app_env(),
        )  # fmt: skip

    def start_beat(self) -> None:
        self.spawn(
            "beat",
            [str(VENV_BIN / "celery"), "-A", "contorl", "beat", "-l", "info",
             "-s", str(self.run_dir / "celerybeat-schedule")],
            env=self.app_env(),
        )  # fmt: skip

    def start_nginx(self) -> None:
        conf = launcher.write_nginx_conf(self.run_dir, daphne_ports=self.state.daphne_ports, port=self.state.http_port)
        self.spawn("nginx", launcher.nginx_command(conf, self.run_dir))
        wait_until(lambda: port_open(self.state.http_port), 15, "nginx start")

    # --- whole stack -------------------------------------------------------------------
    def start(
        self,
        *,
        http_port: int = 0,
        database_url: str = "",
        own_postgres: bool = False,
        daphnes: int = 2,
        worker: bool = True,
        beat: bool = True,
        extra_env: dict | None = None,
        setup_code: str = "",
    ) -> Stack:
        if any(pid_alive(pid) for pid in self.state.pids.values()):
            raise RuntimeError(f"a stack is already running from {self.run_dir}; stop it first")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o755)
        self.state = State(run_dir=str(self.run_dir), extra_env=dict(extra_env or {}))
        self.state.secret_key = secrets.token_urlsafe(64)
        self.state.http_port = http_port or free_port()
        self.state.daphne_ports = [free_port() for _ in range(daphnes)]
        self.save()
        try:
            self.start_redis()
            if own_postgres:
                self.init_own_postgres()
                self.start_own_postgres()
            else:
                self.state.database_url = database_url or DEFAULT_PG_URL
            self.save()
            self.setup_output = self.prepare_app(setup_code)
            for index in range(daphnes):
                self.start_daphne(index)
            if worker:
                self.start_worker()
            if beat:
                self.start_beat()
            for index in range(daphnes):
                self.wait_daphne(index)
            self.start_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        # Front to back: stop taking traffic first, then the app (all at once), then its stores.
        if "nginx" in self.state.pids:
            self.stop_process("nginx", signal.SIGQUIT, timeout=5)
        app = [n for n in self.state.pids if n.startswith(("daphne", "worker", "beat"))]
        for name in app:
            self.send_signal(name, signal.SIGTERM)
        for name in app:
            self.reap(name, timeout=5)
        if "redis" in self.state.pids:
            self.stop_process("redis")
        if self.state.own_pg_dir:
            self.stop_own_postgres()
        for name in list(self.state.pids):
            self.stop_process(name, signal.SIGKILL)
        self.save()

    def status(self) -> dict[str, bool]:
        return {name: pid_alive(pid) for name, pid in self.state.pids.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--dir", default=str(DEFAULT_RUN_DIR), help="run directory (pids, logs, configs)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("STACK_PORT", 8080)), help="nginx port")
    parser.add_argument("--database-url", default=os.environ.get("STACK_DATABASE_URL", DEFAULT_PG_URL))
    parser.add_argument("--own-postgres", action="store_true", help="initdb a throwaway cluster under --dir")
    args = parser.parse_args(argv)
    stack = Stack(args.dir)
    if args.command == "start":
        stack.start(http_port=args.port, database_url=args.database_url, own_postgres=args.own_postgres)
        print(f"CONTORL stack on {stack.base_url}  (nginx -> daphne {stack.state.daphne_ports}, "
              f"redis :{stack.state.redis_port}, {stack.state.database_url})")  # fmt: skip
        print(f"logs and pids: {stack.run_dir}   stop with: make stack-stop")
    elif args.command == "stop":
        stack.stop()
        print("CONTORL stack stopped")
    else:
        for name, alive in stack.status().items():
            print(f"{name:10} {'running' if alive else 'stopped'}  pid {stack.state.pids[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
