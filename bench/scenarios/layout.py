"""9. The production layout: nginx in front of 2 daphne processes, clients spread over both.

The same chat ladder, message writes and task PATCH as the single-process scenarios, but
every socket and request goes through nginx, which spreads them round-robin over two daphne
processes (what `make stack` and deploy/ run). A room's 50 members therefore sit on both
processes, so every message crosses Redis from the process that stored it to the other one.
The reference server runs the same ladder in the same scenario, for the ratio.
"""

from ..stats import fmt
from . import fanout, patch, writes
from .common import seed_rooms

NAME = "layout"
TITLE = "Production layout: nginx -> 2 daphne (fan-out, writes, PATCH)"
GOAL = "fan-out >= 5,000 frames/s and >= 0.7x reference; writes >= 500 msg/s; PATCH p95 < 50 ms"
PROCESSES = 2


def run(stack, quick: bool) -> dict:
    p = fanout.plan(quick)
    rooms = seed_rooms(stack, rooms=p["rooms"], members=fanout.MEMBERS, prefix="lay")
    stack.start_layout(PROCESSES)
    try:
        spread = fanout.run_one(stack, rooms, p, reference=False)
        wrote = writes.run(stack, quick)
        patched = patch.run(stack, quick, key="LPATCH")  # a project of its own
    finally:
        stack.stop_layout()
    reference = None
    if not quick:  # the reference ladder already runs in the fanout scenario's quick form
        stack.start_reference()
        try:
            reference = fanout.run_one(stack, [{**r, "start_seq": 0} for r in rooms], p, reference=True)
        finally:
            stack.stop_reference()
    ratio = (
        spread["sustained_frames_s"] / reference["sustained_frames_s"]
        if reference and reference["sustained_frames_s"]
        else None
    )
    top = spread["stages"][-1]
    rows = [
        ["sockets through nginx (rooms x 50), daphne processes", f"{spread['connected']:,}, {PROCESSES}", ""],
        ["fan-out sustained frames/s (p99 < 150 ms)", fmt(spread["sustained_frames_s"]), ">= 5,000"],
        ["reference sustained frames/s (same run)", fmt(reference and reference["sustained_frames_s"]), ""],
        ["CONTORL (2 processes) / reference", fmt(ratio), ">= 0.7"],
        [
            f"fan-out at {top['rate_msg_s']} msg/s: p50/p95/p99 ms",
            "/".join(fmt(top["latency_ms"][k]) for k in ("p50", "p95", "p99")),
            "p99 < 150",
        ],
        ["both daphnes' CPU during the ladder", f"{fmt(spread['server_cpu_percent'])}%", ""],
        *[["writes: " + r[0], r[1], r[2]] for r in wrote["rows"]],
        *[["PATCH: " + r[0], r[1], r[2]] for r in patched["rows"]],
        ["lost / dup / out-of-order (fan-out)", fanout._ldo(spread), "0 / 0 / 0"],
    ]
    return {
        "rows": rows,
        "figures": {
            "processes": PROCESSES,
            "plan": p,
            "fanout": spread,
            "reference": reference,
            "ratio": ratio,
            "writes": wrote["figures"],
            "patch": patched["figures"],
        },
        "delivery_ok": spread["ok"] and wrote["delivery_ok"] and (reference is None or reference["ok"]),
        "notes": [
            "nginx (deploy/stack/nginx.conf.template, one worker) round-robins each new socket and request over "
            "the two daphne processes; a Celery worker as in the other scenarios. All of it shares the two cores "
            "with PostgreSQL, Redis and the load generators.",
            *wrote["notes"],
        ],
    }
