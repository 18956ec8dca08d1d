"""8. Soak: scenario 2 at a moderate rate for a long time, sockets dropping and resuming at random."""

import time

from ..procs import rss_bytes
from ..stats import fmt, pcts
from .common import chat_configs, delivery_check, seed_rooms

NAME = "soak"
TITLE = "Soak with random reconnect + resume"
GOAL = "0 lost / duplicated / out of order; flat RSS and Redis keys"


def plan(quick: bool) -> dict:
    if quick:
        return {
            "rooms": 2,
            "members": 20,
            "senders": 5,
            "rate": 6,
            "seconds": 12,
            "reconnect_mean_s": 8,
            "sample_every": 2,
        }
    return {
        "rooms": 4,
        "members": 50,
        "senders": 10,
        "rate": 10,
        "seconds": 600,
        "reconnect_mean_s": 90,
        "sample_every": 15,
    }


def redis_keys() -> dict:
    import redis

    from ..stack import REDIS_URL

    r = redis.Redis.from_url(REDIS_URL)
    counts: dict[str, int] = {}
    for key in r.scan_iter(count=1000):
        prefix = key.split(b":", 1)[0].decode(errors="replace")[:24]
        counts[prefix] = counts.get(prefix, 0) + 1
    r.close()
    counts["total"] = sum(counts.values())
    return counts


def run(stack, quick: bool) -> dict:
    p = plan(quick)
    rooms = seed_rooms(stack, rooms=p["rooms"], members=p["members"], prefix="soak")
    configs = chat_configs(
        stack,
        rooms,
        senders=p["senders"],
        stages=[{"rate": p["rate"], "seconds": p["seconds"]}],
        procs=1,
        reconnect_mean_s=p["reconnect_mean_s"],
        drain_seconds=30,
        seed=8,
    )
    pid = stack.daphne.pid
    samples = []

    def measure(_procs):
        t0 = time.time()
        while True:
            samples.append(
                {
                    "t": round(time.time() - t0, 1),
                    "rss_mb": round(rss_bytes(pid) / 2**20, 1),
                    "redis_keys": redis_keys(),
                }
            )
            if time.time() - t0 >= p["seconds"]:
                return samples
            time.sleep(p["sample_every"])

    results = stack.loadgen(configs, timeout=p["seconds"] + 300, measure=measure)
    samples.append({"t": "after", "rss_mb": round(rss_bytes(pid) / 2**20, 1), "redis_keys": redis_keys()})
    if not sum(r["connected"] for r in results):
        raise RuntimeError(f"no socket could connect: {[f for r in results for f in r['failures']][:3]}")
    delivery, sends = delivery_check(stack, results, rooms)
    lat = pcts([v for r in results for v in r["latencies"][0]])
    reconnects = sum(r["reconnects"] for r in results)
    first, last = samples[0], samples[-2] if len(samples) > 1 else samples[-1]
    growth = last["rss_mb"] - first["rss_mb"]
    d = delivery.as_dict()
    rows = [
        [
            f"{p['seconds']} s at {p['rate']} msg/s into {p['rooms']} rooms of {p['members']}: reconnects",
            fmt(reconnects),
            "",
        ],
        ["lost / duplicated / out of order", f"{d['lost']} / {d['duplicated']} / {d['out_of_order']}", "0 / 0 / 0"],
        ["sends: acked / unacked at end", f"{sends['acked']:,} / {sends['unacked']}", "unacked 0"],
        ["daphne RSS start -> end (growth)", f"{first['rss_mb']} -> {last['rss_mb']} MB ({growth:+.1f})", "flat"],
        ["Redis keys start -> end", f"{first['redis_keys']['total']} -> {last['redis_keys']['total']}", "flat"],
        ["delivery latency p50 / p99 ms (incl. replays)", f"{fmt(lat['p50'])} / {fmt(lat['p99'])}", ""],
    ]
    ok = delivery.ok and sends["unacked"] == 0 and sends["acked"] == sends["acked_unique"]
    return {
        "rows": rows,
        "figures": {
            "plan": p,
            "delivery": d,
            "examples": delivery.examples,
            "sends": sends,
            "latency_ms": lat,
            "reconnects": reconnects,
            "samples": samples[:: max(1, len(samples) // 12)] + samples[-1:],
        },
        "delivery_ok": ok,
        "notes": [
            "Every socket is cut without a close handshake at random (exponential, mean "
            f"{p['reconnect_mean_s']} s per socket); contorl_client reconnects, resumes from its last seq and "
            "re-sends unacked messages with the same client_id. Checked per receiver against the seqs stored "
            "in PostgreSQL, and every acked client_id must be stored once.",
        ],
    }
