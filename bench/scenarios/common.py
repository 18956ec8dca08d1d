"""Pieces shared by the chat scenarios: seeding rooms, splitting load, checking delivery."""

from ..checker import Delivery, check_stream
from ..stats import pcts


def seed_rooms(stack, *, rooms: int, members: int, prefix: str) -> list[dict]:
    data = stack.django("chat", {"rooms": rooms, "members": members, "prefix": prefix, "title": prefix})
    seqs = stack.django("last_seqs", {"rooms": [r["id"] for r in data["rooms"]]})
    for room in data["rooms"]:
        room["start_seq"] = seqs[str(room["id"])]
    return data["rooms"]


def split(items: list, parts: int) -> list[list]:
    parts = max(1, min(parts, len(items)))
    return [items[i::parts] for i in range(parts)]


def chat_configs(stack, rooms: list[dict], *, senders: int, stages: list[dict], procs: int, reference=False, **extra):
    total_senders = len(rooms) * senders
    configs = []
    for part in split(rooms, procs):
        configs.append(
            {
                "mode": "chat",
                "url": stack.ws_url(reference=reference),
                "rooms": [
                    {"id": r["id"], "tokens": r["tokens"], "senders": senders, "start_seq": r["start_seq"]}
                    for r in part
                ],
                "stages": stages,
                "share": len(part) * senders / total_senders,
                **extra,
            }
        )
    return configs


def delivery_check(stack, results: list[dict], rooms: list[dict], *, reference=False) -> tuple[Delivery, dict]:
    """Every receiver must hold every seq its room committed after it joined, once, in order."""
    if reference:
        committed = _reference_seqs(rooms)
    else:
        committed = stack.django(
            "room_seqs", {"rooms": [r["id"] for r in rooms], "after": {str(r["id"]): r["start_seq"] for r in rooms}}
        )
    total = Delivery()
    for result in results:
        for stream in result["streams"]:
            expected = set(committed[str(stream["room"])])
            total.add(check_stream(stream["seqs"], expected, label=f"room {stream['room']}"))
    # Every acked send must be in the room exactly once (client_id dedupe across retries).
    ids = [cid for r in results for cid in r["client_ids"]]
    extra = {"acked": len(ids), "acked_unique": len(set(ids)), "unacked": sum(r["unacked"] for r in results)}
    return total, extra


def _reference_seqs(rooms: list[dict]) -> dict:
    import redis

    from ..reference_server import PREFIX
    from ..stack import REDIS_URL

    r = redis.Redis.from_url(REDIS_URL)
    out = {}
    for room in rooms:
        latest = int(r.get(f"{PREFIX}:seq:{room['id']}") or 0)
        out[str(room["id"])] = list(range(room["start_seq"] + 1, latest + 1))
    r.close()
    return out


def stage_table(results: list[dict], stages: list[dict], members: int) -> list[dict]:
    rows = []
    for idx, stage in enumerate(stages):
        lat = (
            [v for r in results for v in r["latencies"][idx]] if all(len(r["latencies"]) > idx for r in results) else []
        )
        sent = sum(r["sent"][idx] for r in results)
        delivered = sum(r["delivered"][idx] for r in results)
        rows.append(
            {
                "rate_msg_s": stage["rate"],
                "offered_frames_s": stage["rate"] * members,
                "sent": sent,
                "delivered_frames": delivered,
                "delivered_frames_s": round(delivered / stage["seconds"], 1),
                "latency_ms": pcts(lat),
            }
        )
    return rows
