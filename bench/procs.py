"""Process bookkeeping for the harness: start in own process groups, sample /proc, stop all."""

import os
import signal
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


class CpuMeter:
    """CPU% of a set of pids between start() and stop() (100% = one core)."""

    def __init__(self, pids: list[int]):
        self.pids = pids

    def start(self):
        self.t0 = time.monotonic()
        self.c0 = sum(cpu_seconds(p) for p in self.pids)
        return self

    def percent(self) -> float:
        dt = time.monotonic() - self.t0
        used = sum(cpu_seconds(p) for p in self.pids) - self.c0
        return 100.0 * used / dt if dt > 0 else 0.0


class ProcessGroup:
    """Every child the harness starts, each in its own session so a whole tree can be killed."""

    def __init__(self):
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], *, env: dict, log_path: str | None = None, **kw) -> subprocess.Popen:
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (closed below)
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kw)
        if log_path:
            out.close()
        self.children.append((name, proc))
        return proc

    def forget(self, proc: subprocess.Popen) -> None:
        self.children = [(n, p) for n, p in self.children if p is not proc]

    def stop(self, proc: subprocess.Popen, timeout: float = 8.0) -> None:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(5)
        else:  # the leader is gone; make sure nothing it forked lingers
            _signal_group(proc, signal.SIGKILL)
        self.forget(proc)

    def stop_all(self) -> None:
        for _name, proc in reversed(list(self.children)):
            try:
                self.stop(proc)
            except Exception:  # noqa: BLE001 (keep stopping the rest)
                pass


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the child leads its own session, so pgid == pid
    except ProcessLookupError:
        pass
