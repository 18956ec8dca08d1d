"""1. Idle connections: N authenticated room sockets answering heartbeats; daphne CPU and RSS.

Levels are cumulative: the sockets of level 1 stay open while level 2 adds more, so the
full run opens 5,000 sockets once, not 8,000. Each level's connect phase is time-bounded;
a level that could not open all its sockets in time reports how many it holds.
"""

import time

from ..procs import CpuMeter, open_fds, rss_bytes
from ..stack import LoadRun
from ..stats import fmt
from .common import seed_rooms, split

NAME = "idle"
TITLE = "Idle connections with heartbeats"
GOAL = "5,000 at < 30% CPU, < 600 MB"
MEMBERS = 50


def plan(quick: bool) -> dict:
    if quick:
        return {"levels": [100], "windows": [5.0], "procs": 1, "connect_seconds": [30]}
    # The top level's window is longer than the 30 s heartbeat interval, so every socket is
    # pinged (and answers) inside it; lower levels sample 10 s of the same steady state.
    return {"levels": [1000, 2000, 5000], "windows": [10.0, 10.0, 31.0], "procs": 2, "connect_seconds": [40, 50, 150]}


def run(stack, quick: bool) -> dict:
    p = plan(quick)
    top = max(p["levels"])
    rooms = seed_rooms(stack, rooms=top // MEMBERS, members=MEMBERS, prefix="idle")
    sockets = [(r["id"], tok) for r in rooms for tok in r["tokens"]]
    pid = stack.daphne.pid
    baseline_rss = rss_bytes(pid)
    baseline_fds = open_fds(pid)
    levels, runs = [], []
    opened = 0
    try:
        for n, budget, window in zip(p["levels"], p["connect_seconds"], p["windows"], strict=True):
            chosen = sockets[opened:n]
            opened = n
            configs = [
                {
                    "mode": "idle",
                    "url": stack.ws_url(),
                    "sockets": part,
                    "concurrency": 50,
                    "connect_seconds": budget,
                    # The protocol-level client: it counts the pings it answers (RoomClient answers silently).
                    "client": {"use_project_client": False},
                }
                for part in split(chosen, p["procs"] if len(chosen) > 500 else 1)
            ]
            t0 = time.time()
            run = LoadRun(stack, configs, timeout=budget + 120)
            runs.append(run)
            ready = run.wait_ready()
            connect_s = time.time() - t0
            run.go()
            meter = CpuMeter([pid]).start()
            time.sleep(window)  # covers at least one heartbeat round for every socket
            levels.append(
                {
                    "n": n,
                    "added": len(chosen),
                    "added_connected": sum(r["connected"] for r in ready),
                    "connect_seconds": round(connect_s, 1),
                    "cpu_percent": round(meter.percent(), 1),
                    "rss_mb": round(rss_bytes(pid) / 2**20, 1),
                    "open_sockets": max(0, open_fds(pid) - baseline_fds),
                    "window_s": window,
                }
            )
    finally:
        results = []
        for run in runs:
            run.signal_stop()
        for run in runs:
            run.deadline = time.time() + 60  # each run's own deadline covered only its connect phase
            try:
                results.extend(run.collect())
            finally:
                run.stop()
    held = 0
    for lv in levels:
        held += lv["added_connected"]
        lv["connected"] = held
        lv["connects_per_s"] = round(lv["added_connected"] / max(0.001, lv["connect_seconds"]), 1)
    totals = {
        "connected": sum(r["connected"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "still_open_at_end": sum(r["still_open"] for r in results),
        "pings_answered": sum(r["pings"] for r in results),
        "presence_frames": sum(r.get("presence_frames", 0) for r in results),
        "failures": sorted({f for r in results for f in r["failures"]})[:5],
    }
    rows = []
    for lv in levels:
        rows.append(
            [
                f"N={lv['n']:,}: CPU / RSS (sockets held)",
                f"{fmt(lv['cpu_percent'])}% / {fmt(lv['rss_mb'])} MB ({lv['connected']:,})",
                "< 30% / < 600 MB" if lv["n"] >= 5000 else "",
            ]
        )
    rows.append(["connect rate (auth + join + resume), sockets/s", fmt(levels[-1]["connects_per_s"]), ""])
    rows.append(
        [
            "presence frames received per socket (rooms of 50 filling up)",
            fmt(totals["presence_frames"] / max(1, totals["connected"])),
            "",
        ]
    )
    rows.append(
        [
            "idle sockets closed by the server / heartbeats answered",
            f"{totals['connected'] - totals['still_open_at_end']} / {totals['pings_answered']:,}",
            "0 closed",
        ]
    )
    notes = [
        f"daphne RSS before any socket: {baseline_rss / 2**20:.1f} MB. CPU is daphne's user+system time over a "
        f"{'/'.join(f'{w:.0f}' for w in p['windows'])} s window after the level's sockets were open "
        "(100% = one core), with "
        f"WS_HEARTBEAT_INTERVAL={stack.settings['WS_HEARTBEAT_INTERVAL']} s; each socket also refreshes its "
        "presence key every 30 s.",
    ]
    short = [lv for lv in levels if lv["connected"] < lv["n"]]
    if short:
        notes.append(
            "Not every level reached its N inside its connect budget ("
            + ", ".join(f"N={lv['n']:,}: {lv['connected']:,} held" for lv in short)
            + "); the CPU/RSS figures are for the sockets actually held."
        )
    return {
        "rows": rows,
        "figures": {"plan": p, "baseline_rss_mb": round(baseline_rss / 2**20, 1), "levels": levels, **totals},
        "delivery_ok": None,
        "notes": notes,
    }
