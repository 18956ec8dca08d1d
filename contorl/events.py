"""The only door to the channel layer (tests/security/test_event_door.py keeps it so).

`publish()` stamps an event_id, waits for the surrounding transaction to commit, then
sends one pre-serialised frame to a group. `control()` does the same for a message to the
consumers themselves (close a revoked socket, a deleted object's watchers): no frame for
clients, but the same after-commit timing and the same queue, because a dropped
revocation would leave a signed-out user's socket open. If the layer (Redis) is down the
write that caused the message still succeeds: messages wait in a bounded in-process
queue and a background thread sends them, in order, once the layer answers again.
"""

import contextvars
import json
import logging
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from . import metrics
from .payloads import FrameEncoder, user_brief

log = logging.getLogger("contorl.events")

_pending: deque = deque()
_lock = threading.Lock()
_retry_thread: threading.Thread | None = None
_dropped = 0
_last_error = ""
# The outbox of an open `batched()` block: its committed messages leave in one hand-off.
_batch: contextvars.ContextVar[list | None] = contextvars.ContextVar("contorl_events_batch", default=None)


def project_group(project_id: int) -> str:
    return f"project.{project_id}"


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def make_frame(event_type: str, data: dict, *, actor=None, **extra) -> dict:
    payload = dict(data)
    if actor is not None or "actor" not in payload:
        payload["actor"] = user_brief(actor)
    return {"type": event_type, "event_id": str(uuid.uuid4()), **extra, "data": payload}


def publish(group: str, event_type: str, data: dict, *, actor=None, **extra) -> str:
    """Send `{"type", "event_id", **extra, "data": {..., "actor"}}` to `group` after commit."""
    frame = make_frame(event_type, data, actor=actor, **extra)
    text = json.dumps(frame, cls=FrameEncoder, ensure_ascii=False)
    published_at = time.monotonic()  # broadcast latency = publish() to hand-off to the layer
    seq = extra.get("seq")
    outbox = _batch.get()
    if outbox is None:
        transaction.on_commit(lambda: send_now(group, text, published_at=published_at, seq=seq))
    else:
        # Queued at the publisher's savepoint: a rolled-back item takes its frame with it.
        transaction.on_commit(lambda: outbox.append((group, _event_message(text, seq), published_at)))
    return frame["event_id"]


@contextmanager
def batched():
    """Publishes inside the block leave after commit in one hand-off to the layer, in order,
    instead of one thread-to-event-loop hop each (a bulk update of 100 rows sent 100)."""
    outbox: list = []
    token = _batch.set(outbox)
    try:
        yield
    finally:
        _batch.reset(token)
    # Registered after every item's append, so it runs after them.
    transaction.on_commit(lambda: _send_many(outbox))


def control(group: str, message_type: str, **fields) -> None:
    """After commit, send `{"type": message_type, **fields}` to the consumers in `group`.

    `message_type` names a consumer handler ("session.revoked" -> session_revoked); the
    message is not relayed to clients.
    """
    message = {"type": message_type, **fields}
    transaction.on_commit(lambda: _send(group, message, None))


def send_now(group: str, text: str, *, published_at: float | None = None, seq: int | None = None) -> None:
    """Deliver a serialised frame to a group now (callers outside a transaction).

    The frame is encoded once, here; a room frame's `seq` rides beside the text so the
    consumers of every recipient can de-duplicate without parsing it again.
    """
    _send(group, _event_message(text, seq), time.monotonic() if published_at is None else published_at)


def _event_message(text: str, seq: int | None) -> dict:
    message = {"type": "event.message", "text": text}
    if seq is not None:
        message["seq"] = seq
    return message


def _send(group: str, message: dict, stamp: float | None) -> None:
    """Hand `message` to the layer, or queue it behind what is already waiting.

    `stamp` is when the client frame was published (for the broadcast-latency metric);
    None for control messages, which are not broadcasts.
    """
    with _lock:
        if _pending:  # keep order: nothing jumps the queue while it drains
            _enqueue(group, message, stamp)
            return
    try:
        _hand_over([(group, message)])
    except Exception as exc:  # the layer is down; the write already committed
        with _lock:
            _note_error(exc)
            _enqueue(group, message, stamp)
        return
    _sent(stamp)


def _hand_over(messages: list[tuple[str, dict]]) -> None:
    """Give (group, message) pairs to the layer, in order. The production layer publishes
    from the calling thread; any other layer is reached through the event loop. On failure
    the exception's `handed_over` says how many went for sure."""
    layer = get_channel_layer()
    if hasattr(layer, "group_send_many_from_thread"):
        try:
            layer.group_send_many_from_thread(messages)
        except Exception as exc:
            exc.handed_over = 0  # one pipeline: none of it for sure
            raise
        return
    handed_over = 0

    async def send_all():
        nonlocal handed_over
        for group, message in messages:
            await layer.group_send(group, message)
            handed_over += 1

    try:
        async_to_sync(send_all)()
    except Exception as exc:
        exc.handed_over = handed_over
        raise


def _send_many(batch: list[tuple[str, dict, float | None]]) -> None:
    """_send() for many messages in one hand-over; on a failure the rest joins the outage
    queue in order."""
    if not batch:
        return
    with _lock:
        if _pending:
            for group, message, stamp in batch:
                _enqueue(group, message, stamp)
            return
    try:
        _hand_over([(group, message) for group, message, _stamp in batch])
    except Exception as exc:
        with _lock:
            _note_error(exc)
            for group, message, stamp in batch[getattr(exc, "handed_over", 0) :]:
                _enqueue(group, message, stamp)
        return
    for _group, _message, stamp in batch:
        _sent(stamp)


def _sent(stamp: float | None) -> None:
    if stamp is not None:
        metrics.broadcast_sent(stamp)


def _note_error(exc: Exception) -> None:
    global _last_error
    _last_error = f"{exc.__class__.__name__}: {exc}"[:200]
    log.warning("channel layer unavailable, buffering events: %s", _last_error)


def _enqueue(group: str, message: dict, stamp: float | None) -> None:
    global _dropped, _retry_thread
    if len(_pending) >= settings.EVENT_BUFFER_SIZE:
        _pending.popleft()
        _dropped += 1
        metrics.event_dropped()
    _pending.append((group, message, stamp))
    metrics.event_queue(len(_pending))
    # _drain clears `_retry_thread` under this same lock when it finds the queue empty, so a
    # frame enqueued while the thread is on its way out still gets a drainer (an is_alive()
    # check here could see the exiting thread and strand the frame until the next outage).
    if _retry_thread is None:
        _retry_thread = threading.Thread(target=_drain, name="contorl-event-drain", daemon=True)
        _retry_thread.start()


def _drain() -> None:
    global _retry_thread
    delay = 0.2
    while True:
        with _lock:
            if not _pending:
                _retry_thread = None
                return
            group, message, stamp = _pending[0]
        try:
            # Looked up each time: the layer may have been rebuilt since (settings change).
            _hand_over([(group, message)])
        except Exception as exc:
            with _lock:
                _note_error(exc)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        delay = 0.2
        _sent(stamp)
        with _lock:
            if _pending and _pending[0][1] is message:
                _pending.popleft()
            metrics.event_queue(len(_pending))


def buffered() -> int:
    return len(_pending)


def status() -> str:
    """'ok', or why events are waiting (for /health/ready and metrics)."""
    if _pending:
        return f"error: {len(_pending)} events waiting ({_last_error})"
    return "ok"
