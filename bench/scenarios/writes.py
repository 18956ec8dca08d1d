"""3. Message writes: 50 concurrent writers into one room; msg/s and the stored seq check."""

from ..checker import check_sequence
from ..stats import fmt, pcts
from .common import seed_rooms, split

NAME = "writes"
TITLE = "Message writes (50 concurrent writers, one room)"
GOAL = ">= 500 msg/s, 0 gaps, 0 duplicates"
WRITERS = 50
# Every writer also receives every message of the room (50 x the write rate in frames): one
# client process spent most of its time on those frames, and an ack waited in its loop behind
# them, so the client's own queue was part of every figure (bench/PROFILE.md, ninth session).
PROCS = 2


def run(stack, quick: bool) -> dict:
    seconds = 3 if quick else 20
    room = seed_rooms(stack, rooms=1, members=WRITERS, prefix="wr")[0]
    configs = [
        {"mode": "writers", "url": stack.ws_url(), "room": room["id"], "tokens": part, "seconds": seconds}
        for part in split(room["tokens"], PROCS)
    ]
    parts = stack.loadgen(configs, timeout=seconds + 180)
    result = {
        "connected": sum(p["connected"] for p in parts),
        "acks": sum(p["acks"] for p in parts),
        "seconds": max(p["seconds"] for p in parts),
        "seqs": sorted(s for p in parts for s in p["seqs"]),
        "ack_latencies": [v for p in parts for v in p["ack_latencies"]],
        "errors": {k: sum(p["errors"].get(k, 0) for p in parts) for p in parts for k in p["errors"]},
        "timeouts": sum(p["timeouts"] for p in parts),
    }
    if not result["acks"]:
        raise RuntimeError(f"no message was acked ({result['connected']} writers connected)")
    stored = stack.django("room_seqs", {"rooms": [room["id"]]})[str(room["id"])]
    gaps, dups = check_sequence(stored)
    acked = result["seqs"]
    ack_dups = len(acked) - len(set(acked))
    missing = sorted(set(acked) - set(stored))
    rate = result["acks"] / result["seconds"] if result["seconds"] else 0.0
    lat = pcts(result["ack_latencies"])
    rows = [
        ["messages/s (acked, closed loop)", fmt(rate), ">= 500"],
        ["send-to-ack latency p50 / p95 / p99 ms", "/".join(fmt(lat[k]) for k in ("p50", "p95", "p99")), ""],
        [
            "stored seqs: count, gaps, duplicates",
            f"{len(stored):,}, {gaps}, {dups}",
            "gaps 0, duplicates 0",
        ],
    ]
    ok = gaps == 0 and dups == 0 and ack_dups == 0 and not missing
    return {
        "rows": rows,
        "figures": {
            "seconds": result["seconds"],
            "writers_connected": result["connected"],
            "acked": result["acks"],
            "msg_per_s": round(rate, 1),
            "ack_latency_ms": lat,
            "stored": len(stored),
            "gaps": gaps,
            "duplicates": dups,
            "acked_seq_duplicates": ack_dups,
            "acked_but_not_stored": len(missing),
            "timeouts": result["timeouts"],
            "errors": result["errors"],
        },
        "delivery_ok": ok,
        "notes": [
            f"{result['connected']} writers over contorl_client, each sending its next message as soon as the "
            "previous one is acked, in two client processes. Stored seqs are read back from PostgreSQL and must be "
            "exactly 1..N."
        ],
    }
