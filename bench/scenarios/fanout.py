"""2. Chat fan-out: rooms of 50, a rising message rate, CONTORL and the reference server."""

from ..procs import CpuMeter
from ..stats import fmt
from .common import chat_configs, delivery_check, seed_rooms, stage_table

NAME = "fanout"
TITLE = "Chat fan-out (rooms of 50, rising rate)"
GOAL = "5,000 frames/s at p99 < 150 ms, 0 lost; CONTORL/reference >= 0.7"
MEMBERS = 50
P99_GOAL_MS = 150


def plan(quick: bool) -> dict:
    if quick:
        return {"rooms": 2, "senders": 5, "procs": 1, "stages": [{"rate": r, "seconds": 3} for r in (5, 15)]}
    return {
        "rooms": 6,
        "senders": 10,
        "procs": 2,
        "compare_core": True,
        "stages": [{"rate": r, "seconds": 6} for r in (20, 40, 70, 100, 140)],
    }


def sustained(stages: list[dict]) -> float:
    """Highest delivered frames/s among the stages that met p99 < goal (0 if none)."""
    best = 0.0
    for row in stages:
        p99 = row["latency_ms"]["p99"]
        if p99 is not None and p99 < P99_GOAL_MS and row["delivered_frames"] > 0:
            best = max(best, row["delivered_frames_s"])
    return best


def run_one(stack, rooms, p, *, reference: bool) -> dict:
    configs = chat_configs(
        stack,
        rooms,
        senders=p["senders"],
        stages=p["stages"],
        procs=p["procs"],
        reference=reference,
        abort_p99=1.0,
        drain_seconds=15,
    )
    meter = {}

    def on_go():
        meter["cpu"] = CpuMeter([stack.reference.pid] if reference else stack.server_pids()).start()

    results = stack.loadgen(configs, timeout=300, on_go=on_go)
    server_cpu = round(meter["cpu"].percent(), 1)
    if not sum(r["connected"] for r in results):
        raise RuntimeError(f"no socket could connect: {[f for r in results for f in r['failures']][:3]}")
    delivery, sends = delivery_check(stack, results, rooms, reference=reference)
    ran = min((r["stopped_after"] for r in results if r["stopped_after"] is not None), default=None)
    stages = p["stages"] if ran is None else p["stages"][: ran + 1]
    table = stage_table(results, stages, MEMBERS)
    return {
        "stages": table,
        "server_cpu_percent": server_cpu,
        "sustained_frames_s": sustained(table),
        "delivery": delivery.as_dict(),
        "delivery_examples": delivery.examples,
        "sends": sends,
        "connected": sum(r["connected"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "errors": {k: sum(r["errors"].get(k, 0) for r in results) for r in results for k in r["errors"]},
        "ok": delivery.ok and sends["unacked"] == 0 and sends["acked"] == sends["acked_unique"],
    }


def run(stack, quick: bool) -> dict:
    p = plan(quick)
    rooms = seed_rooms(stack, rooms=p["rooms"], members=MEMBERS, prefix="fan")
    contorl = run_one(stack, rooms, p, reference=False)
    core = None
    if p.get("compare_core"):
        # Same load on channels_redis's list-based core layer (one list push per member per
        # message), the layer the default (pub/sub, contorl/layers.py) replaced.
        stack.restart_server(CHANNEL_LAYER="core")
        try:
            fresh = stack.django("last_seqs", {"rooms": [r["id"] for r in rooms]})
            core = run_one(stack, [{**r, "start_seq": fresh[str(r["id"])]} for r in rooms], p, reference=False)
        finally:
            stack.restart_server()
    stack.start_reference()
    try:
        ref_rooms = [{**r, "start_seq": 0} for r in rooms]
        reference = run_one(stack, ref_rooms, p, reference=True)
    finally:
        stack.stop_reference()
    ratio = contorl["sustained_frames_s"] / reference["sustained_frames_s"] if reference["sustained_frames_s"] else None
    top = contorl["stages"][-1]
    rows = [
        ["sockets (rooms x 50)", f"{contorl['connected']} ({p['rooms']} x {MEMBERS})", ""],
        ["CONTORL sustained frames/s (p99 < 150 ms)", fmt(contorl["sustained_frames_s"]), ">= 5,000"],
        ["reference sustained frames/s", fmt(reference["sustained_frames_s"]), ""],
        *(
            [
                ["CONTORL on CHANNEL_LAYER=core sustained frames/s", fmt(core["sustained_frames_s"]), ""],
                [
                    f"core layer at {core['stages'][-1]['rate_msg_s']} msg/s: p50/p95/p99 ms",
                    "/".join(fmt(core["stages"][-1]["latency_ms"][k]) for k in ("p50", "p95", "p99")),
                    "",
                ],
            ]
            if core
            else []
        ),
        [
            "server CPU during the ladder (CONTORL daphne, reference)",
            f"{fmt(contorl['server_cpu_percent'])}%, {fmt(reference['server_cpu_percent'])}%",
            "",
        ],
        ["CONTORL / reference", fmt(ratio), ">= 0.7"],
        [
            f"CONTORL at {top['rate_msg_s']} msg/s: p50/p95/p99 ms",
            "/".join(fmt(top["latency_ms"][k]) for k in ("p50", "p95", "p99")),
            "p99 < 150",
        ],
        [
            "lost / dup / out-of-order (CONTORL[, core layer], reference)",
            "; ".join(_ldo(x) for x in (contorl, core, reference) if x),
            "0 / 0 / 0",
        ],
    ]
    return {
        "rows": rows,
        "figures": {"plan": p, "contorl": contorl, "contorl_core": core, "reference": reference, "ratio": ratio},
        "delivery_ok": contorl["ok"] and reference["ok"] and (core is None or core["ok"]),
        "notes": [],
    }


def _ldo(part: dict) -> str:
    d = part["delivery"]
    return f"{d['lost']}/{d['duplicated']}/{d['out_of_order']}"


def markdown(figures: dict) -> str:
    """Per-stage table for BENCHMARKS.md: every server under the same ladder."""
    lines = [
        "| server | msg/s | offered frames/s | delivered frames/s | p50 / p95 / p99 ms |",
        "|---|---|---|---|---|",
    ]
    names = {"contorl": "CONTORL (pub/sub layer)", "contorl_core": "CONTORL (core layer)", "reference": "reference"}
    for key, label in names.items():
        part = figures.get(key)
        if not part:
            continue
        for row in part["stages"]:
            lat = row["latency_ms"]
            lines.append(
                f"| {label} | {row['rate_msg_s']} | {row['offered_frames_s']:,} | {fmt(row['delivered_frames_s'])} | "
                + " / ".join(fmt(lat[k]) for k in ("p50", "p95", "p99"))
                + " |"
            )
        lines.append(
            f"| {label}: daphne/reference CPU over the ladder | | | | {fmt(part.get('server_cpu_percent'))}% |"
        )
    lines.append("")
    lines.append(
        "A ladder stops after the first stage whose p99 exceeds 1 s or that delivers under half of what was "
        "offered (past the knee, higher stages only build a backlog)."
    )
    return "\n".join(lines)
