"""Reference fan-out server: only `websockets` and Redis pub/sub, no Django.

`python -m bench.reference_server --port P --redis redis://127.0.0.1:6379/7`

It speaks the subset of the room protocol the chat benchmarks use, with the same frame
shapes as CONTORL, so the same load generator drives both and the ratio compares like
with like:
- first frame `{"type":"auth","token":jwt}` (HS256 checked with SECRET_KEY; no membership);
- `{"type":"message","content","client_id"}` -> seq from one Lua script that does
  "client_id seen? INCR seq, RPUSH to the room log, PUBLISH" atomically (so publish order
  == seq order, and a retried client_id is stored once), ack to the sender;
- `{"type":"resume","last_seq":n}` -> replay from the Redis log, then `resumed`;
- `{"type":"ping"}` heartbeat every WS_HEARTBEAT_INTERVAL s, `pong` expected.
Each process subscribes once per room with local sockets and fans a published frame out
to them with `websockets.broadcast` (one serialisation, no per-socket await).
What it leaves out compared with CONTORL: the database (no durable message, no
membership or rate-limit checks, no HTML sanitising, no audit), which is the point: it is
the practical ceiling for this transport on this machine.
"""

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime

import jwt
import redis.asyncio as redis
from websockets.asyncio.server import broadcast, serve
from websockets.exceptions import ConnectionClosed

SEQ_MARK = "-987654321"
PREFIX = "benchref"
SEND = """
local known = redis.call('GET', KEYS[3])
if known then return {tonumber(known), 0} end
local seq = redis.call('INCR', KEYS[1])
local frame = string.gsub(ARGV[1], ARGV[2], tostring(seq))
redis.call('RPUSH', KEYS[2], frame)
redis.call('SET', KEYS[3], seq, 'EX', 3600)
redis.call('PUBLISH', KEYS[4], frame)
return {seq, 1}
"""


class Hub:
    def __init__(self, redis_url: str, secret: str, heartbeat: float):
        self.r = redis.from_url(redis_url)
        self.secret = secret
        self.heartbeat = heartbeat
        self.rooms: dict[int, set] = {}
        self.pubsub = self.r.pubsub(ignore_subscribe_messages=True)
        self.send_script = self.r.register_script(SEND)
        self._listener: asyncio.Task | None = None

    async def start(self):
        await self.pubsub.subscribe(f"{PREFIX}:none")  # the listener needs one subscription to start
        self._listener = asyncio.create_task(self._listen())

    async def _listen(self):
        while True:
            message = await self.pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            room_id = int(message["channel"].rsplit(b":", 1)[1])
            sockets = self.rooms.get(room_id)
            if sockets:
                broadcast(sockets, message["data"].decode())

    async def join(self, room_id: int, ws):
        sockets = self.rooms.setdefault(room_id, set())
        if not sockets:
            await self.pubsub.subscribe(f"{PREFIX}:pub:{room_id}")
        sockets.add(ws)

    async def leave(self, room_id: int, ws):
        sockets = self.rooms.get(room_id)
        if sockets is None:
            return
        sockets.discard(ws)
        if not sockets:
            del self.rooms[room_id]
            await self.pubsub.unsubscribe(f"{PREFIX}:pub:{room_id}")

    async def send_message(self, room_id: int, user_id: int, frame: dict) -> int:
        client_id = str(frame.get("client_id") or uuid.uuid4().hex)[:64]
        data = {
            "id": int(SEQ_MARK),
            "room": room_id,
            "seq": int(SEQ_MARK),
            "content": str(frame.get("content", ""))[:10240],
            "message_type": "text",
            "sender": {"id": user_id},
            "created_at": datetime.now(UTC).isoformat(),
            "actor": {"id": user_id},
        }
        text = json.dumps(
            {"type": "message", "event_id": str(uuid.uuid4()), "seq": int(SEQ_MARK), "data": data}, ensure_ascii=False
        )
        seq, _created = await self.send_script(
            keys=[
                f"{PREFIX}:seq:{room_id}",
                f"{PREFIX}:log:{room_id}",
                f"{PREFIX}:cid:{user_id}:{client_id}",
                f"{PREFIX}:pub:{room_id}",
            ],
            args=[text, "%" + SEQ_MARK],  # '-' is magic in Lua patterns
        )
        return int(seq)

    async def replay(self, ws, room_id: int, last_seq: int) -> None:
        latest = int(await self.r.get(f"{PREFIX}:seq:{room_id}") or 0)
        if last_seq < latest:
            for raw in await self.r.lrange(f"{PREFIX}:log:{room_id}", last_seq, latest - 1):
                await ws.send(raw.decode())
        await ws.send(json.dumps({"type": "resumed", "seq": latest, "data": {"seq": latest}}))

    async def handler(self, ws):
        try:
            room_id = int(ws.request.path.rstrip("/").rsplit("/", 1)[1])
        except (ValueError, IndexError):
            await ws.close(4404)
            return
        try:
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            claims = jwt.decode(first.get("token", ""), self.secret, algorithms=["HS256"])
            user_id = int(claims["user_id"])
        except Exception:  # noqa: BLE001 (any bad first frame is "unauthenticated")
            await ws.close(4401)
            return
        await self.join(room_id, ws)
        latest = int(await self.r.get(f"{PREFIX}:seq:{room_id}") or 0)
        await ws.send(json.dumps({"type": "ready", "data": {"last_seq": latest}}))
        state = {"missed": 0}
        beat = asyncio.create_task(self._heartbeat(ws, state))
        try:
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    seq = await self.send_message(room_id, user_id, frame)
                    await ws.send(
                        json.dumps(
                            {"type": "ack", "client_id": frame.get("client_id"), "data": {"id": seq, "seq": seq}}
                        )
                    )
                elif kind == "resume":
                    await self.replay(ws, room_id, int(frame.get("last_seq", 0)))
                elif kind == "pong":
                    state["missed"] = 0
        except ConnectionClosed:
            pass
        finally:
            beat.cancel()
            await self.leave(room_id, ws)

    async def _heartbeat(self, ws, state):
        while True:
            await asyncio.sleep(self.heartbeat)
            if state["missed"] >= 2:
                await ws.close(4408)
                return
            state["missed"] += 1
            await ws.send('{"type": "ping"}')


async def main_async(args) -> None:
    hub = Hub(args.redis, os.environ["SECRET_KEY"], float(os.environ.get("WS_HEARTBEAT_INTERVAL", "30")))
    await hub.start()
    async with serve(hub.handler, "127.0.0.1", args.port, compression=None, ping_interval=None, max_queue=None):
        print(f"reference server on 127.0.0.1:{args.port} at {time.strftime('%H:%M:%S')}", flush=True)
        await asyncio.Future()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
