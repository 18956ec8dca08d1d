"""`python -m bench.run [--quick] [--only NAME[,NAME]] [--no-write]`

Starts CONTORL in production mode on loopback (fresh PostgreSQL database, Redis db 7,
daphne, a Celery worker), runs each scenario with its own time bound, prints a table
and rewrites BENCHMARKS.md. Asserts nothing about speed; exits 1 if any chat message was
lost, duplicated or delivered out of order, or if a scenario could not run. Every process
it started is stopped on the way out, also on Ctrl-C and on failure.
"""

import argparse
import importlib
import json
import os
import resource
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from . import report
from .scenarios import ORDER
from .stack import ROOT, Stack


def raise_fd_limit(want: int = 65536) -> int:
    """5,000 sockets need more than the usual 1,024 descriptors; children inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="small version of each scenario (CI, < 3 min)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(ORDER)}")
    parser.add_argument("--no-write", action="store_true", help="never rewrite BENCHMARKS.md")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy record daphne during each scenario (raw stacks in the log dir)"
    )
    parser.add_argument("--write", action="store_true", help="rewrite BENCHMARKS.md even for a quick/partial run")
    parser.add_argument(
        "--render",
        metavar="RESULTS_JSON",
        nargs="+",
        help="only re-render BENCHMARKS.md from results.json files (later files replace a scenario's figures)",
    )
    args = parser.parse_args(argv)
    if args.render:
        saved = [json.loads(Path(p).read_text()) for p in args.render]
        results = {}
        for run in saved:
            for name, result in run["results"].items():
                if not result.get("error") or name not in results:
                    results[name] = {**result, "run_date": run["meta"]["date"]}
        meta = saved[0]["meta"]
        if len(saved) > 1:
            meta["date"] += (
                " (" + "; ".join(f"{', '.join(r['results'])} re-run {r['meta']['date']}" for r in saved[1:]) + ")"
            )
        report.write_markdown(ROOT / "BENCHMARKS.md", results, meta)
        print("bench: BENCHMARKS.md re-rendered from", ", ".join(args.render))
        return 0
    names = [n.strip() for n in args.only.split(",") if n.strip()] or ORDER
    unknown = [n for n in names if n not in ORDER]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")

    signal.signal(signal.SIGTERM, _terminate)
    # A shell starts background jobs with SIGINT ignored; Ctrl-C / kill -INT must still stop the run.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    workdir = ROOT / "var" / "bench" / started.strftime("%Y%m%d-%H%M%S")
    workdir.mkdir(parents=True, exist_ok=True)
    fds = raise_fd_limit()
    load_at_start = os.getloadavg()
    stack = Stack(quick=args.quick, workdir=workdir)
    results: dict[str, dict] = {}
    failed = interrupted = False
    print(f"bench: {'quick' if args.quick else 'full'} run of {', '.join(names)}; logs in {workdir}", flush=True)
    try:
        setup = stack.prepare()
        stack.start_server()
        print(f"bench: CONTORL up on {stack.base} after {setup['setup_seconds']} s setup", flush=True)
        for name in names:
            module = importlib.import_module(f"bench.scenarios.{name}")
            s0 = time.perf_counter()
            print(f"\n== {name}: {module.TITLE} ==", flush=True)
            load_before = os.getloadavg()[0]
            spy = stack.start_profiler(name) if args.profile else None
            try:
                result = module.run(stack, args.quick)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 (one broken scenario must not hide the others)
                traceback.print_exc()
                result = {"error": f"{exc.__class__.__name__}: {exc}", "rows": [], "delivery_ok": None}
                failed = True
            finally:
                if spy is not None:
                    stack.stop_profiler(spy)
            result["seconds"] = round(time.perf_counter() - s0, 1)
            # Others' work on the same cores shows here; it inflates every latency of the scenario.
            result["loadavg"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
            result["title"], result["goal"] = module.TITLE, module.GOAL
            results[name] = result
            report.print_scenario(name, result)
            if result.get("delivery_ok") is False:
                failed = True
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping everything", flush=True)
        failed = interrupted = True
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        failed = True
    finally:
        stack.stop_all()
    total = round(time.perf_counter() - t0, 1)
    meta = report.machine(fds)
    meta.update(
        {
            "date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "command": "make bench-quick" if args.quick else "make bench",
            "mode": "quick" if args.quick else "full",
            "total_seconds": total,
            "settings": stack.settings,
            "loadavg_start": [round(x, 1) for x in load_at_start],
            "loadavg_end": [round(x, 1) for x in os.getloadavg()],
        }
    )
    report.print_table(results, meta)
    (workdir / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=str))
    # Only a complete full run replaces the committed figures; quick and partial runs
    # (CI, --only) write their report next to their logs.
    complete = set(names) == set(ORDER) and not args.quick and set(results) == set(ORDER) and not interrupted
    if results and (complete or args.write) and not args.no_write:
        report.write_markdown(ROOT / "BENCHMARKS.md", results, meta)
        print("bench: BENCHMARKS.md rewritten")
    elif results:
        report.write_markdown(workdir / "BENCHMARKS.md", results, meta)
        print(f"bench: report in {workdir / 'BENCHMARKS.md'} (BENCHMARKS.md is rewritten by a complete full run)")
    bad = [n for n, r in results.items() if r.get("delivery_ok") is False]
    if bad:
        print(f"bench: FAILED: lost, duplicated or out-of-order messages in {', '.join(bad)}")
    errored = [n for n, r in results.items() if r.get("error")]
    if errored:
        print(f"bench: FAILED: could not run {', '.join(errored)}")
    print(f"bench: finished in {total} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
