"""The WebSocket event contract (docs/events) as code: load the schemas once, validate frames.

docs/events/index.json says which frame types each endpoint carries in each direction and
which schema file describes each one. `watch()` is what the root conftest's autouse fixture
calls: it wraps the two places frames leave the server, so every frame the suite emits is
checked against that contract:

- `contorl.events.publish` / `make_frame`: every published frame, when it is built (many
  tests never commit, so the after-commit hand-off to the layer would miss most of them);
- `ContorlConsumer.send`: every frame a consumer writes to its socket, including the ones
  it makes itself (ready, ack, resumed, unread, error, ping) and the replayed messages;
- `contorl_client.client.open_socket`: what a real daphne in another process (tests/client)
  sends to RoomClient.

Only frames bound for a client are checked: groups and consumers of the three endpoints.
Test doubles (an echo consumer, a made-up group in a metrics test) are not the contract.
"""

from __future__ import annotations

import ast
import concurrent.futures
import contextvars
import datetime
import functools
import json
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "events"
ENDPOINTS = ("project", "room", "notifications")
GROUP_ENDPOINTS = {"project": "project", "room": "room", "user": "notifications"}  # contorl.events.*_group

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATETIME.fullmatch(value):
        return False
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))  # a real day and time
    return True


@FORMATS.checks("date", raises=ValueError)
def _is_date(value) -> bool:
    if not isinstance(value, str):
        return True
    return len(value) == 10 and datetime.date.fromisoformat(value) is not None


@FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(value) -> bool:
    if not isinstance(value, str):
        return True
    return len(value) == 36 and uuid.UUID(value) is not None


@functools.cache
def schema_files() -> dict[str, dict]:
    """Every schema in docs/events, by its path relative to that folder."""
    return {
        path.relative_to(SCHEMA_DIR).as_posix(): json.loads(path.read_text())
        for path in sorted(SCHEMA_DIR.rglob("*.json"))
        if path.name != "index.json"
    }


@functools.cache
def index() -> dict:
    return json.loads((SCHEMA_DIR / "index.json").read_text())["endpoints"]


@functools.cache
def registry() -> Registry:
    resources = [
        (s["$id"], Resource.from_contents(s, default_specification=DRAFT202012)) for s in schema_files().values()
    ]
    return Registry().with_resources(resources)


@functools.cache
def validator(rel_path: str) -> Draft202012Validator:
    return Draft202012Validator(schema_files()[rel_path], registry=registry(), format_checker=FORMATS)


def schema_for(endpoint: str, direction: str, frame_type) -> str | None:
    """The schema file of `frame_type` on `endpoint` ("server" or "client" frames), or None."""
    return index()[endpoint][direction].get(frame_type) if isinstance(frame_type, str) else None


def problems(frame, *, endpoint: str, direction: str = "server") -> list[str]:
    """Why `frame` (parsed JSON) breaks the contract; [] when it keeps it."""
    frame_type = frame.get("type") if isinstance(frame, dict) else None
    rel = schema_for(endpoint, direction, frame_type)
    if rel is None:
        known = ", ".join(index()[endpoint][direction])
        return [f"{direction} frame type {frame_type!r} has no schema on the {endpoint} endpoint (known: {known})"]
    errors = sorted(validator(rel).iter_errors(frame), key=lambda e: (len(e.absolute_path), e.json_path))
    return [
        f"{frame_type!r} breaks docs/events/{rel}: {error.message} "
        f"(at {error.json_path}, schema path {'/'.join(map(str, error.absolute_schema_path))})"
        for error in errors[:5]
    ]


def parse_python(path: Path) -> ast.Module:
    """ast.parse in a thread of its own: on CPython 3.11 a RecursionError caught earlier in the
    same thread (the fuzz tests' deep frames do that) can leave its recursion counter off, and
    compile() then fails with "SystemError: AST constructor recursion depth mismatch"."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(ast.parse, path.read_text(), str(path)).result()


# --- watching the suite --------------------------------------------------------------------
_group: contextvars.ContextVar[str | None] = contextvars.ContextVar("contract_group", default=None)


def _endpoint_of_group(group: str) -> str | None:
    return GROUP_ENDPOINTS.get(group.split(".", 1)[0]) if isinstance(group, str) else None


@functools.cache
def _consumer_endpoints() -> tuple:
    from notifications.consumers import NotificationConsumer
    from rooms.consumers import RoomConsumer
    from tasks.consumers import ProjectConsumer

    return ((ProjectConsumer, "project"), (RoomConsumer, "room"), (NotificationConsumer, "notifications"))


def _endpoint_of_consumer(consumer) -> str | None:
    for cls, endpoint in _consumer_endpoints():
        if isinstance(consumer, cls):
            return endpoint
    return None


def _endpoint_of_path(path: str) -> str | None:
    match = re.match(r"/ws/(projects|rooms|notifications)/", path)
    return {"projects": "project", "rooms": "room", "notifications": "notifications"}[match[1]] if match else None


class _CheckedSocket:
    """A websockets connection whose incoming frames are checked against the contract."""

    def __init__(self, ws, path: str, endpoint: str, check):
        self._ws, self._path, self._endpoint, self._check = ws, path, endpoint, check

    def __getattr__(self, name):
        return getattr(self._ws, name)

    async def __aenter__(self):
        await self._ws.__aenter__()
        return self

    async def __aexit__(self, *exc):
        return await self._ws.__aexit__(*exc)

    def _checked(self, raw):
        self._check(json.loads(raw), self._endpoint, f"RoomClient received on {self._path}")
        return raw

    async def recv(self, *args, **kwargs):
        return self._checked(await self._ws.recv(*args, **kwargs))

    def __aiter__(self):
        return self._frames()

    async def _frames(self):
        async for raw in self._ws:
            yield self._checked(raw)


def watch(monkeypatch) -> list[str]:
    """Wrap the server's frame exits for one test; returns the list violations are added to."""
    from django.core.serializers.json import DjangoJSONEncoder

    from contorl import consumers, events

    violations: list[str] = []
    checked: set[str] = set()  # event_ids validated at publish: their relay by a consumer is not re-checked

    def check(frame, endpoint: str, where: str) -> None:
        found = problems(frame, endpoint=endpoint)
        if found:
            shown = json.dumps(frame, ensure_ascii=False, default=str)
            violations.append(f"{where}: " + "; ".join(found) + f"\n    frame: {shown[:600]}")

    publish, make_frame = events.publish, events.make_frame
    send = consumers.ContorlConsumer.send

    def publish_checked(group, event_type, data, **kw):
        token = _group.set(group)
        try:
            return publish(group, event_type, data, **kw)
        finally:
            _group.reset(token)

    def make_frame_checked(event_type, data, **kw):
        frame = make_frame(event_type, data, **kw)
        group = _group.get()
        endpoint = _endpoint_of_group(group)
        if endpoint is not None:
            # What the layer will carry: the frame as publish() serialises it.
            check(json.loads(json.dumps(frame, cls=DjangoJSONEncoder)), endpoint, f"events.publish to {group!r}")
            checked.add(frame["event_id"])
        return frame

    async def send_checked(self, text_data=None, bytes_data=None, close=False):
        endpoint = _endpoint_of_consumer(self) if text_data is not None else None
        if endpoint is not None:
            try:
                frame = json.loads(text_data)
            except ValueError:
                violations.append(f"{type(self).__name__}.send: not JSON: {text_data[:200]!r}")
            else:
                if not (isinstance(frame, dict) and frame.get("event_id") in checked):
                    check(frame, endpoint, f"{type(self).__name__}.send")
        await send(self, text_data=text_data, bytes_data=bytes_data, close=close)

    import contorl_client.client as room_client

    open_socket = room_client.open_socket

    async def open_socket_checked(url, **kw):
        # The client tests talk to a daphne in another process, out of reach of the wrappers
        # above: check what reaches RoomClient instead.
        ws = await open_socket(url, **kw)
        path = urlsplit(url).path
        endpoint = _endpoint_of_path(path)
        return _CheckedSocket(ws, path, endpoint, check) if endpoint is not None else ws

    monkeypatch.setattr(room_client, "open_socket", open_socket_checked)
    monkeypatch.setattr(events, "publish", publish_checked)
    monkeypatch.setattr(events, "make_frame", make_frame_checked)
    monkeypatch.setattr(consumers.ContorlConsumer, "send", send_checked)
    return violations


def report(violations: list[str]) -> str:
    head = f"{len(violations)} WebSocket frame(s) broke the event contract (docs/events):\n"
    return head + "\n".join(f"- {v}" for v in violations[:20])
