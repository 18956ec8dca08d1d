"""The system under test: CONTORL in production mode on loopback, and its helpers.

A fresh PostgreSQL database (migrated), Redis db 7 (flushed; its own channel/cache
prefixes), daphne, a Celery worker, the reference server, and the load generator
processes. Everything is started in its own session and stopped by `stop_all()`.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from deploy.stack import launcher

from .procs import ProcessGroup

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HOST = "127.0.0.1"  # load goes nowhere else
DB_NAME = os.environ.get("BENCH_DB", "contorl_bench")
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/7")


free_port = launcher.free_port


class Stack:
    def __init__(self, *, quick: bool, workdir: Path):
        self.quick = quick
        self.workdir = workdir
        self.procs = ProcessGroup()
        self.port = free_port()
        self.ref_port = free_port()
        self.daphne = None
        self.worker = None
        # The production layout (start_layout): nginx on self.port in front of these daphnes.
        self.single_port = self.port
        self.layout: list = []
        self.nginx = None
        self.reference = None
        self._django = None
        # One key for the whole run: tokens minted by the Django helper must stay valid when
        # daphne is restarted with other settings.
        self.secret_key = secrets.token_urlsafe(64)
        self.settings = {
            # Raised, not disabled, so the limiter's cache round trips stay in the measured path.
            "RATELIMIT_ENABLE": "true",
            "RATELIMIT_STANDARD": "1000000/m",
            "RATELIMIT_SENSITIVE": "100000/m",
            "RATELIMIT_HEAVY": "100000/m",
            "RATELIMIT_CHAT": "10000/s",
            "WS_FRAME_RATE": "10000/s",
            "WS_HEARTBEAT_INTERVAL": "5" if quick else "30",
            "DB_POOL_MIN_SIZE": "4",
            "DB_POOL_MAX_SIZE": "20",
            "JWT_ACCESS_MINUTES": "180",
        }
        self.env = self._env()

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "CELERY_"))}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "contorl.settings",
                "DJANGO_ENV": "production",
                "SECRET_KEY": self.secret_key,
                "AUDIT_HMAC_KEY": "audit-" + self.secret_key,  # production needs one (audit/keys.py)
                "SECURE_SSL_REDIRECT": "false",
                "SECURE_HSTS_SECONDS": "0",
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
                "REDIS_URL": REDIS_URL,
                "CHANNEL_PREFIX": "benchch",
                "CACHE_KEY_PREFIX": "benchcache",
                "LOG_LEVEL": "WARNING",
                "LOG_JSON": "false",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(ROOT),
                "NO_PROXY": "*",
            }
        )
        for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
            env.pop(k, None)
        env.update(self.settings)
        return env

    def log(self, name: str) -> str:
        return str(self.workdir / f"{name}.log")

    # --- setup --------------------------------------------------------------------------
    def prepare(self) -> dict:
        t0 = time.perf_counter()
        import psycopg
        import redis

        with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [DB_NAME],
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
            if os.environ.get("BENCH_SYNCHRONOUS_COMMIT"):  # experiments only: what does fsync cost?
                value = os.environ["BENCH_SYNCHRONOUS_COMMIT"]
                conn.execute(f'ALTER DATABASE "{DB_NAME}" SET synchronous_commit = {value}')
        r = redis.Redis.from_url(REDIS_URL)
        r.flushdb()  # db 7 belongs to the benchmarks alone
        r.close()
        self.manage("migrate", "--noinput")
        return {"setup_seconds": round(time.perf_counter() - t0, 1)}

    def manage(self, *args: str) -> None:
        with open(self.log("manage"), "ab") as log:
            subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=self.env, check=True, stdout=log, stderr=log)

    def django(self, command: str, args: dict, timeout: float = 600) -> dict:
        """Run a bench/django_side.py command in the harness's Django helper process."""
        if self._django is None or self._django.poll() is not None:
            with open(self.log("django_side"), "ab") as log:
                self._django = subprocess.Popen(
                    [PY, "-m", "bench.django_side", "--serve"],
                    env=self.env,
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    start_new_session=True,
                )
            self.procs.children.append(("django_side", self._django))
        with tempfile.NamedTemporaryFile(dir=self.workdir, suffix=".json", delete=False) as fh:
            out = fh.name
        self._django.stdin.write(json.dumps({"cmd": command, "args": args, "out": out}) + "\n")
        self._django.stdin.flush()
        reply = self._read_reply(timeout)
        if reply != "ok":
            raise RuntimeError(f"bench.django_side {command}: {reply}; see {self.log('django_side')}")
        with open(out) as fh:
            result = json.load(fh)
        os.unlink(out)
        return result

    def _read_reply(self, timeout: float) -> str:
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self._django.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout):
                raise TimeoutError("bench.django_side did not answer in time")
        finally:
            sel.close()
        line = self._django.stdout.readline()
        if not line:
            raise RuntimeError(f"bench.django_side exited; see {self.log('django_side')}")
        return line.strip()

    # --- servers ------------------------------------------------------------------------
    def start_server(self) -> None:
        self.daphne = self.procs.start(
            "daphne",
            launcher.daphne_command(self.port, host=HOST, bin_dir=Path(PY).parent),
            env=self.env,
            log_path=self.log("daphne"),
            cwd=ROOT,
        )
        self.worker = self.procs.start(
            "celery",
            [str(Path(PY).parent / "celery"), "-A", "contorl", "worker", "-l", "warning", "--concurrency", "1"],
            env=self.env,
            log_path=self.log("celery"),
            cwd=ROOT,
        )
        self.wait_http(f"http://{HOST}:{self.port}/health/ready", self.daphne, "daphne")

    def start_layout(self, processes: int = 2, **overrides: str) -> None:
        """The `make stack` layout: nginx on a new front port, round-robin to `processes` daphnes.

        Clients keep using `ws_url()` and `base`, which now name nginx, so every socket and
        request is spread over the processes the way production spreads them.
        """
        if self.daphne is not None:
            self.procs.stop(self.daphne)
            self.daphne = None
        self.env = {**self._env(), **overrides, "TRUSTED_PROXIES": "127.0.0.1"}
        ports = [free_port() for _ in range(processes)]
        for i, port in enumerate(ports):
            proc = self.procs.start(
                f"daphne{i}",
                launcher.daphne_command(port, host=HOST, bin_dir=Path(PY).parent, proxy_headers=True),
                env=self.env,
                log_path=self.log(f"daphne{i}"),
                cwd=ROOT,
            )
            self.layout.append(proc)
        for port, proc in zip(ports, self.layout, strict=True):
            self.wait_http(f"http://{HOST}:{port}/health/ready", proc, "daphne")
        run_dir = self.workdir / "nginx"
        run_dir.mkdir(exist_ok=True)
        self.port = free_port()
        conf = launcher.write_nginx_conf(run_dir, daphne_ports=ports, port=self.port)
        self.nginx = self.procs.start(
            "nginx", launcher.nginx_command(conf, run_dir), env=self.env, log_path=self.log("nginx")
        )
        self.wait_http(f"{self.base}/health/ready", self.nginx, "nginx")

    def stop_layout(self) -> None:
        """Back to one daphne on its own port (the single-process figures)."""
        for proc in [self.nginx, *self.layout]:
            if proc is not None:
                self.procs.stop(proc)
        self.nginx, self.layout, self.port = None, [], self.single_port
        self.restart_server()

    def restart_server(self, **overrides: str) -> None:
        """Restart daphne (and the worker) with some settings changed; no overrides = defaults again."""
        for proc in (self.daphne, self.worker):
            if proc is not None:
                self.procs.stop(proc)
        self.env = self._env()
        self.env.update(overrides)
        self.start_server()

    def start_reference(self) -> None:
        self.reference = self.procs.start(
            "reference",
            [PY, "-m", "bench.reference_server", "--port", str(self.ref_port), "--redis", REDIS_URL],
            env=self.env,
            log_path=self.log("reference"),
            cwd=ROOT,
        )
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.reference.poll() is not None:
                raise RuntimeError(f"reference server exited; see {self.log('reference')}")
            try:
                socket.create_connection((HOST, self.ref_port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("reference server did not start")

    def stop_reference(self) -> None:
        if self.reference is not None:
            self.procs.stop(self.reference)
            self.reference = None

    def wait_http(self, url: str, proc, name: str, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        last = ""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}); see {self.log(name)}")
            try:
                with opener.open(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except Exception as exc:  # noqa: BLE001 (not up yet)
                last = str(exc)
            time.sleep(0.2)
        raise RuntimeError(f"{name} not ready at {url}: {last}")

    def ws_url(self, reference: bool = False) -> str:
        port = self.ref_port if reference else self.port
        return f"ws://{HOST}:{port}/ws/rooms/{{room}}/"

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def server_pids(self) -> list[int]:
        """Every daphne serving CONTORL now (one, or the layout's)."""
        return [p.pid for p in self.layout] or ([self.daphne.pid] if self.daphne else [])

    # --- load generators ----------------------------------------------------------------------
    def loadgen(self, configs: list[dict], *, timeout: float, on_go=None, measure=None) -> list[dict]:
        """Run one load-generator process per config; release them together; collect results.

        `on_go()` runs right after the start signal; `measure(procs)` (optional) runs while
        they work, e.g. to sample the server, and then tells them to stop; both return
        values are passed back under `_extra`.
        """
        run = LoadRun(self, configs, timeout=timeout)
        extra = {}
        try:
            extra["ready"] = run.wait_ready()
            run.go()
            if on_go:
                extra["on_go"] = on_go()
            if measure:
                extra["measure"] = measure(run.procs)
                run.signal_stop()
            results = run.collect()
        finally:
            run.stop()
        for r in results:
            r["_extra"] = extra
        return results

    # --- profiling ----------------------------------------------------------------------------
    def start_profiler(self, name: str):
        """py-spy (sampling, no code change) on daphne; collapsed stacks for bench.profile_top."""
        spy = Path(PY).parent / "py-spy"
        if not spy.exists() or self.daphne is None:
            return None
        out = self.workdir / f"profile-{name}.txt"
        # BENCH_PROFILE_ARGS=--gil samples only the thread holding the GIL: where the CPU goes,
        # without the threads that wait for a connection or a lock.
        extra = os.environ.get("BENCH_PROFILE_ARGS", "").split()
        return self.procs.start(
            f"py-spy:{name}",
            [
                str(spy),
                "record",
                "--pid",
                str(self.daphne.pid),
                "--format",
                "raw",
                "--rate",
                os.environ.get("BENCH_PROFILE_RATE", "50"),  # more samples for a short scenario
                *extra,
                "-o",
                str(out),
            ],
            env=self.env,
            log_path=self.log("py-spy"),
        )

    def stop_profiler(self, proc) -> None:
        import signal as _signal

        if proc.poll() is None:
            proc.send_signal(_signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        self.procs.stop(proc)

    def stop_all(self) -> None:
        self.procs.stop_all()


class LoadRun:
    """A set of load-generator processes with a shared start barrier (see bench.loadgen)."""

    def __init__(self, stack: Stack, configs: list[dict], *, timeout: float):
        self.stack = stack
        self.deadline = time.time() + timeout
        self.dir = Path(tempfile.mkdtemp(dir=stack.workdir, prefix="lg-"))
        self.procs, self.outs = [], []
        for i, cfg in enumerate(configs):
            cfg = {**cfg, "go_path": str(self.dir / "go.json"), "stop_path": str(self.dir / "stop")}
            cfg.setdefault("client", {})["origin"] = f"http://{HOST}:{stack.port}"
            path = self.dir / f"cfg{i}.json"
            path.write_text(json.dumps(cfg))
            out = self.dir / f"out{i}.json"
            self.outs.append(out)
            self.procs.append(
                stack.procs.start(
                    f"loadgen{i}",
                    [PY, "-m", "bench.loadgen", str(path), str(out)],
                    env=stack.env,
                    log_path=stack.log("loadgen"),
                    cwd=ROOT,
                )
            )

    def wait_ready(self) -> list[dict]:
        while not all(Path(str(o) + ".ready").exists() for o in self.outs):
            self._check_alive("connecting")
            time.sleep(0.05)
        return [json.loads(Path(str(o) + ".ready").read_text()) for o in self.outs]

    def go(self, delay: float = 0.3) -> float:
        start_at = time.time() + delay
        (self.dir / "go.json").write_text(json.dumps({"start_at": start_at}))
        time.sleep(delay)
        return start_at

    def signal_stop(self) -> None:
        (self.dir / "stop").write_text("stop")

    def collect(self) -> list[dict]:
        while not all(o.exists() for o in self.outs):
            self._check_alive("running")
            time.sleep(0.05)
        return [json.loads(o.read_text()) for o in self.outs]

    def stop(self) -> None:
        self.signal_stop()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
            self.stack.procs.stop(p)

    def _check_alive(self, phase: str) -> None:
        if time.time() > self.deadline:
            raise TimeoutError(f"load generators timed out while {phase}")
        for p in self.procs:
            if p.poll() not in (None, 0):
                raise RuntimeError(
                    f"a load generator failed ({p.returncode}) while {phase}; see {self.stack.log('loadgen')}"
                )
