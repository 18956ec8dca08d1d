"""The printed table and BENCHMARKS.md."""

import importlib
import json
import os
import platform
import subprocess
from pathlib import Path

from .scenarios import ORDER

PROFILE_NOTES = Path(__file__).resolve().parent / "PROFILE.md"


def machine(fd_limit: int) -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgres": _version(["psql", "--version"]),
        "redis": _version(["redis-server", "--version"]),
        "fd_limit": fd_limit,
        "git": _version(["git", "rev-parse", "--short", "HEAD"]),
    }


def _version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip()[:80]
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def print_scenario(name: str, result: dict) -> None:
    if result.get("error"):
        print(f"   ERROR: {result['error']}")
    for metric, value, goal in result.get("rows", []):
        print(f"   {metric:<52} {value:>28}   goal {goal}" if goal else f"   {metric:<52} {value:>28}")
    for note in result.get("notes", []):
        print(f"   note: {note}")
    print(f"   ({result.get('seconds', 0)} s)", flush=True)


def print_table(results: dict, meta: dict) -> None:
    print("\n" + "=" * 100)
    print(f"CONTORL benchmarks ({meta['mode']}), {meta['date']}, {meta['nproc']} cores, {meta['cpu']}")
    print("=" * 100)
    print(f"{'scenario / figure':<60} {'value':>24}  goal")
    for name in ORDER:
        if name not in results:
            continue
        result = results[name]
        print(f"{result['title']}  [{result.get('seconds', 0)} s]")
        if result.get("error"):
            print(f"  ERROR {result['error'][:90]}")
        for metric, value, goal in result.get("rows", []):
            print(f"  {metric:<58} {value:>24}  {goal}")
    print(f"total {meta['total_seconds']} s")


def write_markdown(path: Path, results: dict, meta: dict) -> None:
    lines = [
        "# CONTORL benchmarks",
        "",
        "Written by `python -m bench.run` (do not edit by hand: the next run replaces it; the",
        "analysis that is not a figure lives in `bench/PROFILE.md` and is included below).",
        "",
        f"- **Date**: {meta['date']}  ",
        f"- **Command**: `{meta['command']}` ({meta['mode']} mode, {meta['total_seconds']} s in all)  ",
        f"- **Machine**: {meta['nproc']} cores ({meta['cpu']}), {meta['memory_gb']} GB RAM, Linux {meta['kernel']}, "
        f"Python {meta['python']}, {meta['postgres']}, {meta['redis']}  ",
        f"- **Commit**: {meta['git']}  ",
        f"- **Machine load** (1/5/15-min load average, from other work on the same cores): "
        f"{meta.get('loadavg_start', '?')} at start, {meta.get('loadavg_end', '?')} at the end; each scenario's "
        "1-min load before/after is in its section. Above ~2 on this 2-core box, latencies are inflated.  ",
        "- **Setup**: everything on one machine over loopback (127.0.0.1): one daphne process, one Celery worker "
        "(concurrency 1), PostgreSQL (fresh database `contorl_bench`, migrated each run), Redis db 7 (flushed) "
        "for channel layer, cache and broker; `DJANGO_ENV=production`; load generators in separate processes "
        "(asyncio, many clients per process) sharing the same 2 cores, so every figure includes the cost of the "
        "clients themselves.",
        "- **Settings changed for load** (everything else is the production default): "
        + ", ".join(f"`{k}={v}`" for k, v in meta["settings"].items())
        + ". Rate limits are *raised*, not disabled, so the limiter's Redis round trips stay in the measured path.",
        "",
        "Benchmarks assert nothing about time. The run fails (exit 1) only if a chat message was lost, "
        "duplicated or delivered out of order, or a scenario could not run.",
        "",
        "## Summary",
        "",
        "| Scenario | Figure | Value | Goal |",
        "|---|---|---|---|",
    ]
    for name in ORDER:
        if name not in results:
            continue
        result = results[name]
        if result.get("error"):
            lines.append(f"| {result['title']} | **could not run** | `{result['error'][:120]}` | {result['goal']} |")
            continue
        for i, (metric, value, goal) in enumerate(result.get("rows", [])):
            lines.append(f"| {result['title'] if i == 0 else ''} | {metric} | {value} | {goal} |")
    lines.append("")
    for name in ORDER:
        if name not in results:
            continue
        result = results[name]
        lines += [
            f"## {ORDER.index(name) + 1}. {result['title']}",
            "",
            f"Goal: {result['goal']}. Took {result.get('seconds', 0)} s; 1-min load average before / after: "
            f"{' / '.join(str(x) for x in result.get('loadavg', []))}.",
            "",
        ]
        for note in result.get("notes", []):
            lines.append(f"- {note}")
        if result.get("notes"):
            lines.append("")
        if result.get("markdown"):
            lines += [result["markdown"], ""]
        renderer = getattr(importlib.import_module(f"bench.scenarios.{name}"), "markdown", None)
        if renderer is not None and result.get("figures"):
            lines += [renderer(result["figures"]), ""]
        figures = result.get("figures")
        if figures:
            lines += [
                "<details><summary>raw figures</summary>",
                "",
                "```json",
                json.dumps(_trim(figures), indent=1, default=str),
                "```",
                "</details>",
                "",
            ]
    if PROFILE_NOTES.exists():
        lines += ["## Profiling, findings and before / after", "", PROFILE_NOTES.read_text().strip(), ""]
    path.write_text("\n".join(lines) + "\n")


def _trim(value, depth=0):
    """Keep raw figures readable: long lists become their length."""
    if isinstance(value, dict):
        return {k: _trim(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) > 12:
            return f"[{len(value)} items]"
        return [_trim(v, depth + 1) for v in value]
    return value
