"""Load generator process: `python -m bench.loadgen CONFIG_JSON_PATH OUT_JSON_PATH`.

One asyncio loop drives many clients; the harness starts one process per core it wants to
load with. Modes:
- idle: N authenticated sockets that answer heartbeats and otherwise sit still;
- chat: rooms of members that all listen, some of whom send at a scheduled, rising rate
  (fan-out, soak with random disconnect + resume);
- writers: closed-loop senders into one room (each waits for its ack before the next);
- rest: timed HTTP requests (task PATCH at a fixed rate, board, dependency, search, the
  planning calendar and its bulk move).

Start barrier: when every client is connected (or failed) the process writes
`<out>.ready`, then waits for the harness to create `<go>` holding the start time, so all
processes begin the measured phase together. Results go to OUT as JSON.
"""

import asyncio
import datetime
import json
import os
import random
import sys
import time
from typing import NamedTuple

from . import wsclient


def _write(path: str, data) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


async def barrier(cfg: dict, out: str, info: dict) -> float:
    _write(out + ".ready", info)
    while not os.path.exists(cfg["go_path"]):
        await asyncio.sleep(0.02)
    with open(cfg["go_path"]) as fh:
        start_at = json.load(fh)["start_at"]
    delay = start_at - time.time()
    if delay > 0:
        await asyncio.sleep(delay)
    return start_at


async def connect_all(specs: list[tuple], *, concurrency: int = 100, deadline: float | None = None) -> list:
    """Open sockets with a bounded number of handshakes in flight; give up on the rest at `deadline`."""
    sem = asyncio.Semaphore(concurrency)
    clients = []

    async def one(spec):
        url, token, room, kw = spec
        client = wsclient.make_client(url, token, room=room, **kw)
        async with sem:
            if deadline is not None and time.time() > deadline:
                raise TimeoutError("connect phase over (not attempted)")
            await client.start()
        return client

    for result in await asyncio.gather(*(one(s) for s in specs), return_exceptions=True):
        clients.append(result)
    return clients


# --- idle ------------------------------------------------------------------------------
async def run_idle(cfg: dict, out: str) -> dict:
    specs = [(cfg["url"].format(room=r), tok, r, {}) for r, tok in cfg["sockets"]]
    t0 = time.perf_counter()
    deadline = time.time() + cfg["connect_seconds"] if cfg.get("connect_seconds") else None
    clients = await connect_all(specs, concurrency=cfg.get("concurrency", 100), deadline=deadline)
    connect_s = time.perf_counter() - t0
    ok = [c for c in clients if not isinstance(c, Exception) and c.ready]
    failed = [c for c in clients if isinstance(c, Exception) or not c.ready]
    await barrier(cfg, out, {"connected": len(ok)})
    # Hold until the harness says stop (it measures the server meanwhile).
    while not os.path.exists(cfg["stop_path"]):
        await asyncio.sleep(0.1)
    still = sum(1 for c in ok if c.open)
    pings = sum(c.pings for c in ok)
    presence_frames = sum(getattr(c, "presence_frames", 0) for c in ok)
    await asyncio.gather(*(c.close() for c in ok), return_exceptions=True)
    return {
        "connected": len(ok),
        "failed": len(failed),
        "failures": sorted({repr(c)[:120] if isinstance(c, Exception) else f"close {c.close_code}" for c in failed})[
            :5
        ],
        "still_open": still,
        "pings": pings,
        "presence_frames": presence_frames,
        "connect_seconds": round(connect_s, 2),
    }


# --- chat (fan-out and soak) -------------------------------------------------------------------
async def run_chat(cfg: dict, out: str) -> dict:
    rng = random.Random(cfg.get("seed", 1))
    receivers = []  # (room_id, client)
    senders = []
    specs, roles = [], []
    for room in cfg["rooms"]:
        for i, token in enumerate(room["tokens"]):
            specs.append((cfg["url"].format(room=room["id"]), token, room["id"], {"resume_from": room["start_seq"]}))
            roles.append((room["id"], i < room["senders"]))
    clients = await connect_all(specs, concurrency=cfg.get("concurrency", 100))
    failed = [c for c in clients if isinstance(c, Exception) or not c.ready]
    for (room_id, is_sender), client in zip(roles, clients, strict=True):
        if isinstance(client, Exception) or not client.ready:
            continue
        receivers.append((room_id, client))
        if is_sender:
            senders.append(client)
    start_at = await barrier(cfg, out, {"connected": len(receivers), "failed": len(failed)})

    stages = cfg["stages"]
    bounds = []
    t = start_at
    for stage in stages:
        bounds.append((t, t + stage["seconds"]))
        t += stage["seconds"]
    end_at = t
    for _room, c in receivers:
        c.stage_bounds = bounds

    chaos = None
    if cfg.get("reconnect_mean_s"):
        chaos = asyncio.create_task(_chaos([c for _r, c in receivers], cfg["reconnect_mean_s"], end_at, rng))

    sent = [0] * len(stages)
    counter = 0
    stopped_after = None
    if senders:
        for idx, stage in enumerate(stages):
            rate = stage["rate"] * cfg["share"]
            if rate <= 0:
                await asyncio.sleep(max(0.0, bounds[idx][1] - time.time()))
                continue
            interval = 1.0 / rate
            next_t = bounds[idx][0]
            while True:
                now = time.time()
                if next_t >= bounds[idx][1]:
                    break
                if next_t > now:
                    await asyncio.sleep(next_t - now)
                sender = senders[counter % len(senders)]
                counter += 1
                sender.send_chat(f"bench {counter} t={time.time():.6f}")
                sent[idx] += 1
                next_t += interval
                if time.time() - next_t > 1.0:  # hopelessly behind: skip, do not burst
                    next_t = time.time()
            if cfg.get("abort_p99") and idx < len(stages) - 1 and _saturated(cfg, receivers, idx, sent[idx]):
                stopped_after = idx  # past the knee: later, higher stages would only build a backlog
                break
    else:
        await asyncio.sleep(max(0.0, end_at - time.time()))
    if chaos:
        chaos.cancel()
    # Drain: wait until the rooms are quiet (every receiver has the room's highest acked seq).
    drain_until = time.time() + cfg.get("drain_seconds", 10)
    while time.time() < drain_until:
        await asyncio.sleep(0.2)
        top = {}
        for s in senders:
            if s.acked_seqs:
                top[s.room] = max(top.get(s.room, 0), max(s.acked_seqs))
        pending = sum(1 for s in senders for _cid in s.unacked())
        if pending == 0 and all(c.max_seq >= top.get(room, 0) for room, c in receivers if c.open):
            break
    await asyncio.sleep(cfg.get("settle_seconds", 0.5))

    lat = [[] for _ in stages]
    delivered = [0] * len(stages)
    for _room, c in receivers:
        for idx, values in enumerate(c.latencies):
            lat[idx].extend(values)
            delivered[idx] += len(values)
    streams = [{"room": room, "seqs": c.seqs, "from": c.resume_from} for room, c in receivers]
    acks = sum(len(s.acked_seqs) for s in senders)
    errors = {}
    for _room, c in receivers:
        for code, n in c.errors.items():
            errors[code] = errors.get(code, 0) + n
    result = {
        "connected": len(receivers),
        "failed": len(failed),
        "failures": sorted({repr(c)[:120] if isinstance(c, Exception) else f"close {c.close_code}" for c in failed})[
            :5
        ],
        "sent": sent,
        "acks": acks,
        "unacked": sum(len(s.unacked()) for s in senders),
        "delivered": delivered,
        "latencies": [[round(v, 5) for v in values] for values in lat],
        "ack_latencies": [round(v, 5) for s in senders for v in s.ack_latencies],
        "streams": streams,
        "errors": errors,
        "reconnects": sum(c.reconnects for _r, c in receivers),
        "stopped_after": stopped_after,
        "client_ids": [cid for s in senders for cid in s.acked_client_ids],
    }
    await asyncio.gather(*(c.close() for _r, c in receivers), return_exceptions=True)
    return result


def _saturated(cfg: dict, receivers: list, idx: int, sent: int) -> bool:
    from .stats import percentile

    lat = [v for _r, c in receivers if len(c.latencies) > idx for v in c.latencies[idx]]
    listeners = len(receivers) / max(1, len(cfg["rooms"]))
    if sent and len(lat) < 0.5 * sent * listeners:
        return True
    p99 = percentile(lat, 99)
    return p99 is not None and p99 > cfg["abort_p99"]


async def _chaos(clients: list, mean_s: float, end_at: float, rng: random.Random) -> None:
    """Drop random sockets without a close handshake (like a network cut); they reconnect and resume."""
    rate = len(clients) / mean_s  # each client drops about once per mean_s
    while time.time() < end_at - 2:
        await asyncio.sleep(rng.expovariate(rate))
        victim = rng.choice(clients)
        victim.drop()


# --- writers ---------------------------------------------------------------------------------------
async def run_writers(cfg: dict, out: str) -> dict:
    specs = [(cfg["url"].format(room=cfg["room"]), tok, cfg["room"], {}) for tok in cfg["tokens"]]
    clients = await connect_all(specs)
    ok = [c for c in clients if not isinstance(c, Exception) and c.ready]
    start_at = await barrier(cfg, out, {"connected": len(ok)})
    end_at = start_at + cfg["seconds"]

    async def writer(c, idx):
        n = 0
        while time.time() < end_at:
            n += 1
            await c.send_chat_and_wait(f"writer {idx} #{n}", timeout=10)

    await asyncio.gather(*(writer(c, i) for i, c in enumerate(ok)), return_exceptions=True)
    elapsed = time.time() - start_at
    result = {
        "connected": len(ok),
        "acks": sum(len(c.acked_seqs) for c in ok),
        "seconds": round(elapsed, 2),
        "seqs": sorted(s for c in ok for s in c.acked_seqs),
        "ack_latencies": [round(v, 5) for c in ok for v in c.ack_latencies],
        "errors": {k: sum(c.errors.get(k, 0) for c in ok) for c in ok for k in c.errors},
        "timeouts": sum(c.timeouts for c in ok),
    }
    await asyncio.gather(*(c.close() for c in ok), return_exceptions=True)
    return result


# --- REST -------------------------------------------------------------------------------------------
class _Reply(NamedTuple):
    status_code: int
    body: bytes

    def json(self):
        return json.loads(self.body)


class _Http:
    """The few calls the REST scenarios make, on aiohttp. (httpx, which the server side uses
    for webhooks, cost the load generator about as much CPU per PATCH as daphne spent serving
    it, on the same two cores: bench/PROFILE.md, eighth session.)"""

    def __init__(self, session):
        self.session = session

    async def request(self, method: str, path: str, *, json=None) -> _Reply:
        async with self.session.request(method, path, json=json) as response:
            return _Reply(response.status, await response.read())

    async def get(self, path: str) -> _Reply:
        return await self.request("GET", path)


async def run_rest(cfg: dict, out: str) -> dict:
    import aiohttp

    headers = {"Authorization": f"Bearer {cfg['token']}", "X-Forwarded-Proto": "https"}
    connector = aiohttp.TCPConnector(limit=cfg.get("concurrency", 20))
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        base_url=cfg["base"], headers=headers, connector=connector, timeout=timeout
    ) as session:
        start_at = await barrier(cfg, out, {})
        return await REST[cfg["kind"]](_Http(session), cfg, start_at)


async def _timed(http, method: str, url: str, **kw) -> tuple[float, object]:
    t0 = time.perf_counter()
    response = await http.request(method, url, **kw)
    return time.perf_counter() - t0, response


async def rest_patch(http, cfg: dict, start_at: float) -> dict:
    """PATCH tasks at a fixed open-loop rate; each task has at most one request in flight."""
    versions = dict(cfg["versions"])  # task id (str) -> version
    free = list(versions)
    random.Random(3).shuffle(free)
    times, codes, inflight = [], {}, set()
    series = []  # (seconds from the start to its answer, ms): the harness shows a backlog by the second
    end_at = start_at + cfg["seconds"]
    interval = 1.0 / cfg["rate"]

    async def one(task_id: str, n: int):
        try:
            elapsed, r = await _timed(
                http, "PATCH", f"/api/tasks/{task_id}/", json={"version": versions[task_id], "title": f"patched {n}"}
            )
            codes[r.status_code] = codes.get(r.status_code, 0) + 1
            if r.status_code == 200:
                versions[task_id] = r.json()["version"]
                times.append(elapsed)
                series.append((round(time.time() - start_at, 2), round(elapsed * 1000)))
            elif r.status_code == 409:
                versions[task_id] = r.json()["error"]["details"]["current_version"]
        except Exception as exc:  # noqa: BLE001 (counted, reported)
            codes[exc.__class__.__name__] = codes.get(exc.__class__.__name__, 0) + 1
        finally:
            inflight.discard(task_id)
            free.append(task_id)

    tasks, n, next_t = [], 0, start_at
    if cfg.get("serial"):  # closed loop, one request at a time
        for n in range(cfg["serial"]):
            await one(free.pop(0), n)
        return {"times": times, "codes": {str(k): v for k, v in codes.items()}, "sent": n + 1, "versions": versions}
    while next_t < end_at:
        now = time.time()
        if next_t > now:
            await asyncio.sleep(next_t - now)
        if free:
            task_id = free.pop(0)
            inflight.add(task_id)
            n += 1
            tasks.append(asyncio.create_task(one(task_id, n)))
        next_t += interval
    await asyncio.gather(*tasks)
    return {
        "times": times,
        "codes": {str(k): v for k, v in codes.items()},
        "sent": n,
        "seconds": cfg["seconds"],
        "versions": versions,
        "series": series,
    }


async def rest_get_many(http, cfg: dict, start_at: float) -> dict:
    """Sequential GETs of each path in turn, `repeat` rounds (board, search)."""
    times: dict[str, list[float]] = {}
    codes: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for path in cfg.get("warmup", []):
        await http.get(path)
    deadline = start_at + cfg.get("max_seconds", 60)
    for _ in range(cfg["repeat"]):
        for label, path in cfg["paths"]:
            if time.time() > deadline:
                break
            elapsed, r = await _timed(http, "GET", path)
            codes[str(r.status_code)] = codes.get(str(r.status_code), 0) + 1
            if r.status_code == 200:
                times.setdefault(label, []).append(elapsed)
                sizes[label] = _result_size(r.json())
    return {"times": times, "codes": codes, "sizes": sizes}


def _result_size(body) -> int:
    if isinstance(body, dict):
        if isinstance(body.get("results"), list):
            return len(body["results"])
        if isinstance(body.get("statuses"), list):
            return sum(len(s.get("tasks", [])) for s in body["statuses"])
    if isinstance(body, list):
        return len(body)
    return -1


async def rest_dependency(http, cfg: dict, start_at: float) -> dict:
    """POST dependencies one after another: pairs that keep the graph acyclic, plus cycle probes."""
    times, cycle_times, codes = [], [], {}
    for kind, task_id, dep_id in cfg["pairs"]:
        elapsed, r = await _timed(http, "POST", f"/api/tasks/{task_id}/dependencies/", json={"depends_on": dep_id})
        codes[str(r.status_code)] = codes.get(str(r.status_code), 0) + 1
        if kind == "add" and r.status_code in (200, 201):
            times.append(elapsed)
        elif kind == "cycle" and r.status_code == 400:
            cycle_times.append(elapsed)
    return {"times": times, "cycle_times": cycle_times, "codes": codes}


def _shift(day: str, days: int) -> str:
    return (datetime.date.fromisoformat(day) + datetime.timedelta(days=days)).isoformat()


async def rest_bulk_move(http, cfg: dict, start_at: float) -> dict:
    """POST /api/planning/assignments/bulk/ one after another: each round moves the next `batch`
    assignments one day (later on odd rounds of a batch, back on even ones), with the versions
    the previous answers gave, so every item should succeed."""
    rows = {a[0]: {"version": a[1], "start": a[2], "end": a[3]} for a in cfg["assignments"]}
    ids, batch = list(rows), cfg["batch"]
    groups = [ids[i : i + batch] for i in range(0, len(ids) - batch + 1, batch)] or [ids]
    times, codes, failed, moved = [], {}, {}, {}
    for n in range(cfg["rounds"]):
        group = groups[n % len(groups)]
        step = 1 if (n // len(groups)) % 2 == 0 else -1
        items = [
            {
                "id": i,
                "version": rows[i]["version"],
                "start": _shift(rows[i]["start"], step),
                "end": _shift(rows[i]["end"], step),
            }
            for i in group
        ]
        elapsed, r = await _timed(http, "POST", "/api/planning/assignments/bulk/", json=items)
        codes[str(r.status_code)] = codes.get(str(r.status_code), 0) + 1
        if r.status_code != 200:
            continue
        body = r.json()
        times.append(elapsed)
        for ok in body["succeeded"]:
            row = rows[ok["id"]]
            row.update(version=ok["version"], start=_shift(row["start"], step), end=_shift(row["end"], step))
            moved[ok["id"]] = True
        for bad in body["failed"]:
            failed[bad["code"]] = failed.get(bad["code"], 0) + 1
    return {
        "times": times,
        "codes": codes,
        "failed": failed,
        "moved_assignments": len(moved),
        "assignments": [[i, r["version"], r["start"], r["end"]] for i, r in rows.items()],
    }


REST = {
    "patch": rest_patch,
    "get_many": rest_get_many,
    "dependency": rest_dependency,
    "bulk_move": rest_bulk_move,
}
MODES = {"idle": run_idle, "chat": run_chat, "writers": run_writers, "rest": run_rest}


def main() -> None:
    cfg_path, out = sys.argv[1], sys.argv[2]
    with open(cfg_path) as fh:
        cfg = json.load(fh)
    wsclient.configure(cfg.get("client", {}))
    result = asyncio.run(MODES[cfg["mode"]](cfg, out))
    _write(out, result)


if __name__ == "__main__":
    main()
