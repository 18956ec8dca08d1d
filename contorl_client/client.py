"""RoomClient: one room, one socket, reconnecting for as long as the client is open.

Guarantees it gives its user:
- every message frame is delivered once, in seq order, across reconnects: frames that
  arrive early are held until the ones before them come (a gap that lasts is filled by
  asking for a replay); after a drop it resumes from the highest seq below which it has
  delivered everything, and drops any frame it has already delivered;
- a send carries a client_id; until its ack arrives it stays queued and is re-sent (same
  client_id) after a reconnect, so the server stores it exactly once; messages sent while
  offline go out once, in order, when the socket is back;
- reconnects back off 1, 2, 4, 8 ... 30 s; close codes 4403/4404 (no access, no such room)
  stop for good; 4401 fetches a fresh token first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import OrderedDict
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

log = logging.getLogger("contorl_client")

FATAL_CLOSE_CODES = {4403, 4404}
GAP_TIMEOUT = 2.0  # seconds a seq gap may last before the client asks for a replay
ACK_MEMORY = 1000  # settled acks kept for a later wait_ack()
TOKEN_MAX_AGE = 10 * 60  # refresh well before the server's 15-minute access-token lifetime


def backoff_delay(attempt: int, *, base: float = 1.0, maximum: float = 30.0) -> float:
    """1, 2, 4, 8, 16, 30, 30 ... seconds for attempt 0, 1, 2 ..."""
    return min(maximum, base * (2 ** min(attempt, 16)))


class RoomError(Exception):
    """The server refused a frame: `code` is the contract's error code (rate_limited, ...)."""

    def __init__(self, code: str, message: str = "", details: dict | None = None):
        self.code, self.message, self.details = code, message, details or {}
        super().__init__(f"{code}: {message}")


def ws_url(base_url: str, path: str) -> str:
    """http(s)://host[:port] + /ws/... -> ws(s)://host[:port]/ws/..."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme in ("https", "wss") else "ws"
    return f"{scheme}://{parts.netloc}{path}"


def origin_of(url: str) -> str:
    """The Origin a browser on that site would send (the server checks it)."""
    parts = urlsplit(url)
    scheme = "https" if parts.scheme in ("https", "wss") else "http"
    return f"{scheme}://{parts.netloc}"


async def open_socket(url: str, *, token: str | None, origin: str | None = None, open_timeout: float = 10, **options):
    """The low-level CONTORL socket: connect to `url` (ws:// or wss://) and send the first-frame
    auth when `token` is given. Returns the websockets connection; the caller reads frames and
    answers pings. `options` go to websockets' connect (max_size, ping_interval, compression...).
    RoomClient, the benchmark clients and the stack tests all open their sockets here."""
    ws = await ws_connect(url, origin=origin or origin_of(url), open_timeout=open_timeout, **options)
    if token is not None:
        try:
            await ws.send(json.dumps({"type": "auth", "token": token}))
        except BaseException:
            await ws.close()
            raise
    return ws


async def fetch_token(base_url: str, username: str, password: str, *, timeout: float = 10.0) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as http:
        response = await http.post("/api/auth/token/", json={"username": username, "password": password})
        response.raise_for_status()
        return response.json()["access"]


class RoomClient:
    def __init__(
        self,
        base_url: str,
        *,
        room_id: int,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        resume_from: int | None = None,
        backoff_max: float = 30.0,
        backoff_base: float = 1.0,
    ):
        if token is None and (username is None or password is None):
            raise ValueError("Give a token, or a username and password.")
        self.base_url = base_url.rstrip("/")
        self.room_id = room_id
        self.username, self.password = username, password
        self._token, self._token_at = token, time.monotonic() if token else 0.0
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        # Highest seq such that every message up to it has been delivered (None: live only).
        self.last_seq: int | None = resume_from
        self._held: dict[int, dict] = {}  # frames above last_seq + 1, waiting for the gap to fill
        self._gap_task: asyncio.Task | None = None
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._pending: OrderedDict[str, dict] = OrderedDict()  # client_id -> frame, until acked
        self._acks: dict[str, asyncio.Future] = {}
        self._ws = None
        self._runner: asyncio.Task | None = None
        self._closed = False
        self._stop_reason: str | None = None
        self.connected = asyncio.Event()
        self.resumed = asyncio.Event()
        self.connects = 0  # how many times a socket was admitted (tests and benchmarks read it)
        self.resyncs = 0  # "ready" again on an open socket, answered with a resume
        self.attempt = 0

    # --- lifecycle ----------------------------------------------------------------------
    async def __aenter__(self) -> RoomClient:
        await self.start()
        await self.wait_connected()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name=f"contorl-room-{self.room_id}")

    async def wait_connected(self, timeout: float = 15.0) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout)

    async def close(self) -> None:
        self._closed = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
        if self._gap_task is not None:
            self._gap_task.cancel()
        for future in self._acks.values():
            if not future.done():
                future.cancel()

    async def drop_connection(self) -> None:
        """Close the socket abruptly (as a network failure would); the client reconnects."""
        if self._ws is not None:
            self._ws.transport.abort()

    # --- sending and receiving -----------------------------------------------------------
    async def send(
        self, content: str, *, message_type: str = "text", metadata: dict | None = None, client_id: str | None = None
    ) -> str:
        """Queue a message; it goes out now if connected, else on reconnect. Returns its client_id."""
        client_id = client_id or uuid.uuid4().hex
        frame = {"type": "message", "content": content, "message_type": message_type, "client_id": client_id}
        if metadata is not None:
            frame["metadata"] = metadata
        self._pending[client_id] = frame
        self._acks.setdefault(client_id, asyncio.get_running_loop().create_future())
        if self._ws is not None and self.connected.is_set():
            await self._transmit(frame)
        return client_id

    async def send_and_wait(self, content: str, *, timeout: float = 30.0, **kw) -> dict:
        """Send and wait for the ack: {"id", "seq"}; raises RoomError if refused."""
        client_id = await self.send(content, **kw)
        return await self.wait_ack(client_id, timeout=timeout)

    async def wait_ack(self, client_id: str, *, timeout: float = 30.0) -> dict:
        """The ack of a send, also when it came before this call (sends queued offline go out
        together and are stored together, so their acks arrive at once)."""
        future = self._acks[client_id]
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        finally:
            if future.done():  # collected (a timeout leaves it waiting for the ack)
                self._acks.pop(client_id, None)

    async def typing(self) -> None:
        if self._ws is not None and self.connected.is_set():
            await self._transmit({"type": "typing"})

    async def receive(self, timeout: float | None = None) -> dict:
        """Next room frame (message, message_edited, reaction_added, typing, presence, error ...)."""
        return await asyncio.wait_for(self._inbox.get(), timeout)

    async def receive_message(self, timeout: float | None = None) -> dict:
        """Next chat message frame, skipping other events."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            frame = await self.receive(left)
            if frame.get("type") == "message":
                return frame

    @property
    def pending(self) -> list[str]:
        """client_ids sent or queued but not yet acknowledged, in send order."""
        return list(self._pending)

    # --- REST helpers ----------------------------------------------------------------------
    async def history(self, *, after_seq: int | None = None, before_seq: int | None = None, limit: int = 50) -> list:
        params = {"limit": limit}
        if after_seq is not None:
            params["after_seq"] = after_seq
        if before_seq is not None:
            params["before_seq"] = before_seq
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as http:
            response = await http.get(
                f"/api/rooms/{self.room_id}/messages/", params=params, headers=await self._auth_header()
            )
            response.raise_for_status()
            return response.json()["results"]

    async def _auth_header(self) -> dict:
        return {"Authorization": f"Bearer {await self._get_token()}"}

    async def _get_token(self, *, fresh: bool = False) -> str:
        stale = time.monotonic() - self._token_at > TOKEN_MAX_AGE
        if self._token is None or ((fresh or stale) and self.username):
            self._token = await fetch_token(self.base_url, self.username, self.password)
            self._token_at = time.monotonic()
        return self._token

    # --- the connection loop ----------------------------------------------------------------
    def _ws_url(self) -> str:
        return ws_url(self.base_url, f"/ws/rooms/{self.room_id}/")

    async def _run(self) -> None:
        fresh_token = False
        while not self._closed:
            code = None
            try:
                token = await self._get_token(fresh=fresh_token)
                fresh_token = False
                ws = await open_socket(self._ws_url(), token=token, origin=origin_of(self.base_url), max_size=2**20)
                async with ws:
                    self._ws = ws
                    await self._session(ws)
                    code = ws.close_code
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
            except (TimeoutError, OSError, InvalidHandshake, InvalidStatus, httpx.HTTPError) as exc:
                log.info("room %s: connect failed: %s", self.room_id, exc)
            finally:
                self._ws = None
                self.connected.clear()
                self.resumed.clear()
            if self._closed:
                return
            if code in FATAL_CLOSE_CODES:
                self._stop_reason = f"closed by server with {code}"
                self._fail_pending(RoomError("closed", self._stop_reason))
                return
            if code == 4401:
                fresh_token = True
            delay = backoff_delay(self.attempt, base=self.backoff_base, maximum=self.backoff_max)
            self.attempt += 1
            log.info("room %s: reconnecting in %.1fs (close code %s)", self.room_id, delay, code)
            await asyncio.sleep(delay)

    async def _session(self, ws) -> None:
        admitted = False
        async for raw in ws:
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "ping":
                await ws.send('{"type": "pong"}')
                continue
            if kind == "ready" and not admitted:
                admitted = True
                await self._on_admitted(ws, (frame.get("data") or {}).get("last_seq", 0))
            elif kind == "ready":
                # Again on an open socket: the server's channel layer may have lost frames
                # (a Redis outage, or this client fell too far behind). Resume as after a drop.
                self.resyncs += 1
                if self.last_seq is not None:
                    await ws.send(json.dumps({"type": "resume", "last_seq": self.last_seq}))
            elif kind == "ack":
                self._on_ack(frame)
            elif kind == "error":
                self._on_error(frame)
            elif kind == "resumed":
                self.resumed.set()
            elif kind == "message":
                self._on_message(frame)
            else:
                await self._inbox.put(frame)

    async def _on_admitted(self, ws, server_seq: int) -> None:
        self.attempt = 0
        self.connects += 1
        if self.last_seq is None:
            self.last_seq = server_seq  # live from here on; later reconnects resume from it
            self.resumed.set()
        else:
            await ws.send(json.dumps({"type": "resume", "last_seq": self.last_seq}))
        # Everything not yet acknowledged goes out once more, in the order it was sent; the
        # server recognises repeats by client_id, so nothing is stored twice.
        for frame in list(self._pending.values()):
            await ws.send(json.dumps(frame))
        self.connected.set()

    async def _transmit(self, frame: dict) -> None:
        try:
            await self._ws.send(json.dumps(frame))
        except (ConnectionClosed, AttributeError):
            pass  # still pending; it goes out after the reconnect

    def _on_ack(self, frame: dict) -> None:
        client_id = frame.get("client_id")
        self._pending.pop(client_id, None)
        future = self._acks.get(client_id)
        if future is not None and not future.done():
            future.set_result(frame.get("data") or {})
        self._forget_settled_acks()

    def _forget_settled_acks(self) -> None:
        # A settled ack stays until wait_ack() collects it; past ACK_MEMORY the oldest settled
        # ones nobody waited for are dropped, so fire-and-forget senders do not grow memory.
        while len(self._acks) > ACK_MEMORY:
            oldest = next(iter(self._acks))
            if not self._acks[oldest].done():
                break
            future = self._acks.pop(oldest)
            if not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning for a dropped refusal

    def _on_error(self, frame: dict) -> None:
        data = frame.get("data") or {}
        client_id = frame.get("client_id")
        if client_id and client_id in self._pending:
            self._pending.pop(client_id, None)
            future = self._acks.get(client_id)
            if future is not None and not future.done():
                future.set_exception(RoomError(data.get("code", "error"), data.get("message", ""), data.get("details")))
            self._forget_settled_acks()
        else:
            self._inbox.put_nowait(frame)

    def _on_message(self, frame: dict) -> None:
        seq = frame.get("seq")
        if not isinstance(seq, int) or self.last_seq is None:
            return  # (last_seq is set by "ready", which always comes first)
        if seq <= self.last_seq or seq in self._held:
            return  # already delivered, or already waiting
        # Frames can arrive out of seq order: two writers commit in one order and their
        # broadcasts land in the other, or a live frame overtakes the resume replay. Hold
        # anything above last_seq + 1 until the frames before it arrive, so the caller sees
        # every seq once and in order.
        self._held[seq] = frame
        while self.last_seq + 1 in self._held:
            self.last_seq += 1
            self._inbox.put_nowait(self._held.pop(self.last_seq))
        if self._held and (self._gap_task is None or self._gap_task.done()):
            self._gap_task = asyncio.get_running_loop().create_task(self._fill_gap())

    async def _fill_gap(self) -> None:
        """A gap that outlives GAP_TIMEOUT (a frame the layer dropped) is filled by a resume."""
        await asyncio.sleep(GAP_TIMEOUT)
        if self._held and self._ws is not None and self.connected.is_set():
            log.info("room %s: seq %s missing, resuming", self.room_id, self.last_seq + 1)
            with contextlib.suppress(ConnectionClosed):
                await self._ws.send(json.dumps({"type": "resume", "last_seq": self.last_seq}))

    def _fail_pending(self, exc: Exception) -> None:
        for client_id in list(self._pending):
            future = self._acks.pop(client_id, None)
            if future is not None and not future.done():
                future.set_exception(exc)
        self._pending.clear()
