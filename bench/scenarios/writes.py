"""3. Message writes: 50 concurrent writers into one room; msg/s and the stored seq check."""

from ..checker import check_sequence
from ..stats import fmt, pcts
from .common import seed_rooms

NAME = "writes"
TITLE = "Message writes (50 concurrent writers, one room)"
GOAL = ">= 500 msg/s, 0 gaps, 0 duplicates"
WRITERS = 50


def run(stack, quick: bool) -> dict:
    seconds = 3 if quick else 20
    room = seed_rooms(stack, rooms=1, members=WRITERS, prefix="wr")[0]
    config = {
        "mode": "writers",
        "url": stack.ws_url(),
        "room": room["id"],
        "tokens": room["tokens"],
        "seconds": seconds,
    }
    result = stack.loadgen([config], timeout=seconds + 180)[0]
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
            "previous one is acked. Stored seqs are read back from PostgreSQL and must be exactly 1..N."
        ],
    }
