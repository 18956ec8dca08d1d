"""The chat client the load generators drive, with the bookkeeping the checks need.

`make_client()` wraps the project's own client (`contorl_client.RoomClient`) by default;
with use_project_client off it drives the room protocol from CONTRACT.md itself over
contorl_client's low-level socket (`open_socket`: connect + auth frame), so the harness also
runs against the reference server (same frames, no Django, no REST replay). Each client records every `seq`
it is handed (the delivery check), send-to-receive latency of messages stamped by the
benchmark, and ack latency of its own sends.
"""

import asyncio
import bisect
import json
import os
import random
import time
import uuid

from websockets.exceptions import ConnectionClosed

from contorl_client import open_socket

SETTINGS = {
    "origin": "http://127.0.0.1",
    "open_timeout": 30.0,
    "use_project_client": True,
    "reorder_experiment": os.environ.get("BENCH_CLIENT_REORDER") == "1",
}
HUGE = 2**53  # resume "after everything": nothing replays, the answer carries the latest seq


def configure(options: dict) -> None:
    SETTINGS.update(options)


def make_client(url: str, token: str, *, room: int, resume_from: int | None = None):
    if SETTINGS["use_project_client"]:
        return ProjectClient(url, token, room=room, resume_from=resume_from)
    return BenchClient(url, token, room=room, resume_from=resume_from)


def stamp_of(content: str) -> float | None:
    at = content.rfind("t=")
    if at < 0:
        return None
    try:
        return float(content[at + 2 :])
    except ValueError:
        return None


class DeliveryStats:
    """What the delivery checker reads from every kind of bench client."""

    def _init_stats(self, resume_from: int | None) -> None:
        self.ready = False
        self.closing = False
        self.close_code = None
        self.seqs: list[int] = []
        self.max_seq = resume_from or 0
        self.stage_bounds: list[tuple[float, float]] = []
        self._stage_starts: list[float] = []
        self.latencies: list[list[float]] = []
        self.ack_latencies: list[float] = []
        self.acked_seqs: list[int] = []
        self.acked_client_ids: list[str] = []
        self.presence_frames = 0  # presence frames received (each names who came or went)


class BenchClient(DeliveryStats):
    """Room socket: auth frame, resume handshake, heartbeat answers, sends with client_id,
    reconnect + resume from the last seq seen, and re-sending unacked client_ids."""

    def __init__(self, url: str, token: str, *, room: int, resume_from: int | None = None):
        self.url, self.token, self.room = url, token, room
        self.resume_from = resume_from
        self.ws = None
        self.open = False
        self._init_stats(resume_from)
        self._unacked: dict[str, tuple[float, str]] = {}
        self._waiters: dict[str, asyncio.Future] = {}
        self.errors: dict[str, int] = {}
        self.pings = 0
        self.reconnects = 0
        self.timeouts = 0
        self._resumed: asyncio.Future | None = None
        self._reader: asyncio.Task | None = None
        self._reconnecting = False

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        await self._open(self.resume_from if self.resume_from is not None else HUGE)
        self.ready = True
        if self.resume_from is None:
            self.resume_from = self.max_seq

    async def _open(self, last_seq: int) -> None:
        self.ws = await open_socket(
            self.url,
            token=self.token,
            origin=SETTINGS["origin"],
            compression=None,
            ping_interval=None,  # the application heartbeat (ping/pong frames) is what we measure
            open_timeout=SETTINGS["open_timeout"],
            close_timeout=2,
            proxy=None,
            max_queue=None,
        )
        self.open = True
        self._resumed = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(self.ws))
        await self.ws.send(json.dumps({"type": "resume", "last_seq": last_seq}))
        await asyncio.wait_for(asyncio.shield(self._resumed), SETTINGS["open_timeout"])

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            try:
                await self.ws.close()
            except Exception:  # noqa: BLE001, S110 (already gone)
                pass
        if self._reader is not None:
            self._reader.cancel()
        self.open = False

    def drop(self) -> None:
        """Cut the connection without a close handshake; the reader reconnects and resumes."""
        if self.ws is not None and self.open and not self.closing:
            self.ws.transport.abort()

    async def _read(self, ws) -> None:
        try:
            async for raw in ws:
                self._on_frame(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self.open = False
            self.close_code = ws.close_code
            if self._resumed is not None and not self._resumed.done():
                self._resumed.set_exception(ConnectionError(f"closed {ws.close_code} before resumed"))
        if not self.closing and self.ready and not self._reconnecting:
            asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        self._reconnecting = True
        try:
            await self._reconnect_loop()
        finally:
            self._reconnecting = False

    async def _reconnect_loop(self) -> None:
        delay = random.uniform(0.2, 1.0)
        while not self.closing:
            await asyncio.sleep(delay)
            try:
                await self._open(self.max_seq)
            except Exception:  # noqa: BLE001 (try again with backoff, like the real client)
                delay = min(delay * 2, 5.0)
                continue
            self.reconnects += 1
            for _client_id, (_t, text) in list(self._unacked.items()):
                await self.ws.send(text)  # same client_id: the server stores it once
            return

    # --- frames ------------------------------------------------------------------------
    def _on_frame(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "presence":
            self.presence_frames += 1
        elif kind == "message":
            seq = frame.get("seq")
            self.seqs.append(seq)
            if seq > self.max_seq:
                self.max_seq = seq
            sent = stamp_of(frame.get("data", {}).get("content") or "")
            if sent is not None and self._stage_starts_ok():
                idx = bisect.bisect_right(self._stage_starts, sent) - 1
                if 0 <= idx < len(self.stage_bounds) and sent < self.stage_bounds[idx][1]:
                    self.latencies[idx].append(time.time() - sent)
        elif kind == "ping":
            self.pings += 1
            asyncio.ensure_future(self._send_quiet(json.dumps({"type": "pong"})))
        elif kind == "ack":
            client_id = frame.get("client_id")
            data = frame.get("data", {})
            entry = self._unacked.pop(client_id, None)
            if entry is not None:
                self.ack_latencies.append(time.time() - entry[0])
                self.acked_seqs.append(data.get("seq"))
                self.acked_client_ids.append(client_id)
            waiter = self._waiters.pop(client_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(data)
        elif kind == "resumed":
            seq = frame.get("seq") or frame.get("data", {}).get("seq") or 0
            if seq > self.max_seq and not self.ready:
                self.max_seq = seq
            if self._resumed is not None and not self._resumed.done():
                self._resumed.set_result(seq)
        elif kind == "error":
            code = frame.get("data", {}).get("code", "error")
            self.errors[code] = self.errors.get(code, 0) + 1
            waiter = self._waiters.pop(frame.get("client_id"), None)
            if waiter is not None and not waiter.done():
                waiter.set_exception(RuntimeError(code))

    def _stage_starts_ok(self) -> bool:
        if len(self._stage_starts) != len(self.stage_bounds):
            self._stage_starts = [a for a, _b in self.stage_bounds]
            self.latencies = [[] for _ in self.stage_bounds]
        return bool(self.stage_bounds)

    # --- sending -------------------------------------------------------------------------
    async def _send_quiet(self, text: str) -> None:
        try:
            await self.ws.send(text)
        except Exception:  # noqa: BLE001, S110 (a dropped socket resends unacked on reconnect)
            pass

    def send_chat(self, content: str) -> str:
        client_id = uuid.uuid4().hex[:20]
        text = json.dumps({"type": "message", "content": content, "message_type": "text", "client_id": client_id})
        self._unacked[client_id] = (time.time(), text)
        if self.open:
            asyncio.ensure_future(self._send_quiet(text))
        return client_id

    async def send_chat_and_wait(self, content: str, *, timeout: float) -> dict | None:
        client_id = uuid.uuid4().hex[:20]
        text = json.dumps({"type": "message", "content": content, "message_type": "text", "client_id": client_id})
        waiter = asyncio.get_running_loop().create_future()
        self._waiters[client_id] = waiter
        self._unacked[client_id] = (time.time(), text)
        await self._send_quiet(text)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            self.timeouts += 1
            return None
        except RuntimeError:
            return None

    def unacked(self) -> list[str]:
        return list(self._unacked)


class ProjectClient(DeliveryStats):
    """The same bookkeeping around `contorl_client.RoomClient` (the project's own client).

    The RoomClient already hides repeats and resumes after a drop, so what this records is
    what an application built on it would see: the delivery check then tests client and
    server together.
    """

    def __init__(self, url: str, token: str, *, room: int, resume_from: int | None = None):
        from urllib.parse import urlsplit

        from contorl_client import RoomClient

        parts = urlsplit(url)
        self.room = room
        self.resume_from = resume_from
        self.rc = RoomClient(f"http://{parts.netloc}", room_id=room, token=token, resume_from=resume_from)
        self._init_stats(resume_from)
        self._unacked: dict[str, float] = {}
        self.errors: dict[str, int] = {}
        self.pings = 0
        self.timeouts = 0
        self._tasks: set[asyncio.Task] = set()

    @property
    def open(self) -> bool:
        return self.rc.connected.is_set()

    @property
    def reconnects(self) -> int:
        return max(0, self.rc.connects - 1)

    async def start(self) -> None:
        if SETTINGS.get("reorder_experiment"):
            _hold_until_contiguous(self.rc)
        await self.rc.start()
        await asyncio.wait_for(self.rc.resumed.wait(), SETTINGS["open_timeout"])
        await self.rc.wait_connected(SETTINGS["open_timeout"])
        if self.resume_from is None:
            self.resume_from = self.rc.last_seq
            self.max_seq = self.rc.last_seq or 0
        self.ready = True
        self._spawn(self._consume())

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _consume(self) -> None:
        while True:
            frame = await self.rc.receive()
            kind = frame.get("type")
            if kind == "message":
                seq = frame["seq"]
                self.seqs.append(seq)
                self.max_seq = max(self.max_seq, seq)
                sent = stamp_of((frame.get("data") or {}).get("content") or "")
                if sent is not None and self.stage_bounds:
                    if len(self._stage_starts) != len(self.stage_bounds):
                        self._stage_starts = [a for a, _b in self.stage_bounds]
                        self.latencies = [[] for _ in self.stage_bounds]
                    idx = bisect.bisect_right(self._stage_starts, sent) - 1
                    if 0 <= idx < len(self.stage_bounds) and sent < self.stage_bounds[idx][1]:
                        self.latencies[idx].append(time.time() - sent)
            elif kind == "error":
                code = (frame.get("data") or {}).get("code", "error")
                self.errors[code] = self.errors.get(code, 0) + 1

    async def _track(self, client_id: str, t0: float, timeout: float | None = None) -> dict | None:
        try:
            data = await self.rc.wait_ack(client_id, timeout=timeout or 120)
        except TimeoutError:
            self.timeouts += 1
            return None
        except Exception as exc:  # noqa: BLE001 (RoomError: refused; counted)
            code = getattr(exc, "code", exc.__class__.__name__)
            self.errors[code] = self.errors.get(code, 0) + 1
            self._unacked.pop(client_id, None)
            return None
        self._unacked.pop(client_id, None)
        self.ack_latencies.append(time.time() - t0)
        self.acked_seqs.append(data.get("seq"))
        self.acked_client_ids.append(client_id)
        return data

    def send_chat(self, content: str) -> str:
        client_id = uuid.uuid4().hex[:20]
        t0 = time.time()
        self._unacked[client_id] = t0

        async def go():
            await self.rc.send(content, client_id=client_id)
            await self._track(client_id, t0)

        self._spawn(go())
        return client_id

    async def send_chat_and_wait(self, content: str, *, timeout: float) -> dict | None:
        client_id = uuid.uuid4().hex[:20]
        t0 = time.time()
        self._unacked[client_id] = t0
        await self.rc.send(content, client_id=client_id)
        return await self._track(client_id, t0, timeout)

    def unacked(self) -> list[str]:
        return list(self._unacked)

    def drop(self) -> None:
        if self.open and not self.closing:
            self._spawn(self.rc.drop_connection())

    async def close(self) -> None:
        self.closing = True
        for task in list(self._tasks):
            task.cancel()
        await self.rc.close()


def _hold_until_contiguous(rc) -> None:
    """Experiment (BENCH_CLIENT_REORDER=1), not the client under test: the fix proposed for
    contorl_client, holding a frame above last_seq + 1 until the frames before it arrive
    (a live frame can overtake the resume replay), so the soak can show before / after."""
    held: dict[int, dict] = {}

    def on_message(frame: dict) -> None:
        seq = frame.get("seq")
        if not isinstance(seq, int) or rc.last_seq is None or seq <= rc.last_seq or seq in held:
            return
        held[seq] = frame
        while rc.last_seq + 1 in held:
            rc.last_seq += 1
            rc._inbox.put_nowait(held.pop(rc.last_seq))

    rc._on_message = on_message
