"""A small test client for the CONTORL WebSocket and HTTP API against a running stack.

Each `Socket` authenticates with the first-frame JWT, answers pings, and collects every
frame it receives, so a test can await "a frame like this" without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable

import httpx
import websockets

from contorl_client import open_socket


class Closed(Exception):
    def __init__(self, code: int | None):
        super().__init__(f"socket closed with code {code}")
        self.code = code


class Socket:
    def __init__(self, base_http: str, path: str, token: str | None):
        self.url = base_http.replace("http://", "ws://") + path
        self.origin = base_http
        self.token = token
        self.frames: list[dict] = []
        self.close_code: int | None = None
        self._new = asyncio.Event()
        self._ws = None
        self._reader: asyncio.Task | None = None

    async def connect(self, *, auth: bool = True) -> Socket:
        token = self.token if auth and self.token else None
        self._ws = await open_socket(self.url, token=token, origin=self.origin, max_size=None, ping_interval=None)
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                frame = json.loads(raw)
                if frame.get("type") == "ping":
                    await self.send({"type": "pong"})
                    continue
                self.frames.append(frame)
                self._new.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self._ws.close_code if self._ws.close_code is not None else 1006
            self._new.set()

    async def send(self, frame: dict | str) -> None:
        await self._ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def send_raw(self, data: str | bytes) -> None:
        await self._ws.send(data)

    @property
    def closed(self) -> bool:
        return self._reader is not None and self._reader.done()

    async def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 10.0, *, start: int = 0) -> dict:
        """The first collected frame from index `start` on matching `predicate` (already
        received or arriving)."""
        deadline = time.monotonic() + timeout
        seen = start
        while True:
            for frame in self.frames[seen:]:
                if predicate(frame):
                    return frame
            seen = len(self.frames)
            if self.closed:
                raise Closed(self.close_code)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching frame on {self.url} in {timeout} s; got {self.frames[-5:]}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)

    async def wait_beyond(self, index: int, timeout: float) -> None:
        """Return once more than `index` frames are collected; Closed when the socket closes first."""
        deadline = time.monotonic() + timeout
        while len(self.frames) <= index:
            if self.closed:
                raise Closed(self.close_code)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)

    async def wait_closed(self, timeout: float = 10.0) -> int:
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.close_code

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)


def of_type(kind: str, **match) -> Callable[[dict], bool]:
    def predicate(frame: dict) -> bool:
        if frame.get("type") != kind:
            return False
        data = frame.get("data") or {}
        return all(frame.get(k, data.get(k)) == v for k, v in match.items())

    return predicate


def api(base: str, token: str | None = None, **kwargs) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kwargs.pop("headers", {}))
    return httpx.AsyncClient(base_url=base, headers=headers, timeout=kwargs.pop("timeout", 15), **kwargs)


class RoomFollower:
    """Follows a room the way the web client does: on any close it reconnects (to the next
    base URL, with backoff) and resumes from the highest seq it holds without a gap.

    `connections` records, per socket, the seqs that socket delivered, so a test can check
    that no connection ever delivers a seq twice; `messages` is the union by seq."""

    def __init__(self, bases: list[str], room_id: int, token: str, start_seq: int = 0):
        self.bases = bases
        self.path = f"/ws/rooms/{room_id}/"
        self.token = token
        self.contiguous = start_seq
        self.messages: dict[int, str] = {}
        self.connections: list[list[int]] = []
        self.close_codes: list[int | None] = []
        self.stopping = False
        self.task: asyncio.Task | None = None
        self.resumed = asyncio.Event()
        self.resyncs = 0  # "ready" again on an open socket (the server asked for a reread)

    def _advance(self) -> None:
        while self.contiguous + 1 in self.messages:
            self.contiguous += 1

    async def _session(self, base: str) -> None:
        sock = Socket(base, self.path, self.token)
        try:
            await sock.connect()
        except (OSError, websockets.InvalidStatus, websockets.InvalidHandshake, TimeoutError):
            self.close_codes.append(None)
            return
        delivered: list[int] = []
        self.connections.append(delivered)
        try:
            await sock.send({"type": "resume", "last_seq": self.contiguous})
            index = 0
            first_ready_seen = resume_again = False
            while not self.stopping:
                try:
                    await sock.wait_beyond(index, 0.5)
                except TimeoutError:
                    continue
                except Closed:
                    break
                finally:
                    for frame in sock.frames[index:]:
                        if frame.get("type") == "message":
                            delivered.append(frame["seq"])
                            self.messages.setdefault(frame["seq"], frame["data"]["content"])
                        elif frame.get("type") == "resumed":
                            self.resumed.set()
                        elif frame.get("type") == "ready" and first_ready_seen:
                            # The server's layer may have lost frames: resume, as the web client does.
                            self.resyncs += 1
                            resume_again = True
                        elif frame.get("type") == "ready":
                            first_ready_seen = True
                    index = len(sock.frames)
                    self._advance()
                if resume_again:
                    resume_again = False
                    await sock.send({"type": "resume", "last_seq": self.contiguous})
        finally:
            self.close_codes.append(sock.close_code)
            await sock.close()

    async def _run(self) -> None:
        attempt = 0
        while not self.stopping:
            await self._session(self.bases[attempt % len(self.bases)])
            attempt += 1
            if not self.stopping:
                await asyncio.sleep(min(0.25 * attempt, 1.0))

    def start(self) -> RoomFollower:
        self.task = asyncio.create_task(self._run())
        return self

    async def until_has(self, last_seq: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.contiguous < last_seq:
            if time.monotonic() > deadline:
                missing = [s for s in range(1, last_seq + 1) if s not in self.messages]
                raise TimeoutError(f"follower stuck at {self.contiguous}; missing {missing[:20]}")
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        self.stopping = True
        if self.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 5)

    def duplicates(self) -> list[list[int]]:
        return [sorted({s for s in c if c.count(s) > 1}) for c in self.connections if len(c) != len(set(c))]
