"""The one WebSocket consumer base: auth, permission on connect, heartbeat, frame
limits and close codes. App consumers add `authorize`, `groups_for` and `on_<type>`
handlers for the client frames they accept.

Close codes (see CONTRACT.md): 4400 malformed frame, 4401 unauthenticated (also when
the user is deactivated, deleted, changes password or is signed out), 4403 access
revoked while connected, 4404 no such object or one the user may not see (one code for
both, as REST answers 404, so a socket cannot probe which ids exist), 4408 auth or
heartbeat timeout, 4429 rate limited.
"""

import asyncio
import copy
import functools
import json
import logging
import time
import uuid

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.security.websocket import OriginValidator
from channels.utils import await_many_dispatch
from django.conf import settings
from django.db import close_old_connections
from django.utils.translation import gettext as _
from django_ratelimit.core import _split_rate

from . import metrics, ws_frames
from .accounts.tokens import SignedOut, signed_in, signed_in_many
from .errors import DomainError, RateLimited, ValidationFailed
from .groupcommit import GroupCommit
from .parsers import contains_nul, depth_exceeds, max_depth
from .payloads import FrameEncoder
from .prepared import whole_id

log = logging.getLogger("contorl.ws")

CLOSE_MALFORMED, CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN = 4400, 4401, 4403
CLOSE_NOT_FOUND, CLOSE_TIMEOUT, CLOSE_RATE_LIMITED = 4404, 4408, 4429


class SameSiteOriginValidator(OriginValidator):
    """Refuse a WebSocket from a foreign Origin (cross-site hijacking of the session
    cookie); serve one without an Origin. Browsers always send Origin on a WebSocket
    handshake, so a missing one means a non-browser client (CLI, bot, the Python client),
    which signs in with its own token frame."""

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or self.validate_origin(parsed_origin)


def origin_validator(application):
    """Like channels' AllowedHostsOriginValidator (origins must be in ALLOWED_HOSTS), minus
    its refusal of clients that send no Origin."""
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
    return SameSiteOriginValidator(application, allowed_hosts)


# Sockets of one process sign in and re-check together (a reconnect storm, every socket's
# pong): one thread hop and one user query per batch, in a few shards so batches overlap
# their database round trips.
_CHECK_SHARDS = 4


def token_identity(token: str) -> tuple[int, float | None] | None:
    """(user id, `iat`) that a valid access token names (signature, expiry, type), or None.
    No database: the account itself is read with the socket's admission (signed_in_user(),
    or an endpoint's own admission read)."""
    from rest_framework_simplejwt.exceptions import TokenError
    from rest_framework_simplejwt.settings import api_settings
    from rest_framework_simplejwt.tokens import AccessToken

    try:
        access = AccessToken(token)
    except TokenError:
        return None
    user_id = whole_id(access.get(api_settings.USER_ID_CLAIM))  # a malformed claim matches nobody
    return None if user_id is None else (user_id, access.get("iat"))


async def signed_in_user(user_id: int, issued_at: float | None):
    """The account of a token's user if it may sign in (active, token not signed out since); else None."""
    return await TOKEN_CHECKS.call(user_id % _CHECK_SHARDS, (user_id, issued_at))


def _accounts_signed_in(_shard, sockets: list[tuple[int, float | None]]) -> list:
    from django.contrib.auth import get_user_model

    found = get_user_model().objects.filter(pk__in={user_id for user_id, _iat in sockets}, is_active=True).order_by()
    users = {user.pk: user for user in found}
    outcomes, handed_out = [], set()
    for user_id, issued_at in sockets:
        user = users.get(user_id)
        if user is None or not signed_in(True, user.tokens_valid_after, issued_at):
            outcomes.append(None)
            continue
        # Each socket keeps its own user object (permission caches live on it).
        outcomes.append(copy.copy(user) if user_id in handed_out else user)
        handed_out.add(user_id)
    return outcomes


def off_shared_thread(func, *, executor=None):
    """database_sync_to_async that runs `func` in a worker thread instead of the one shared
    sync thread, so the database trips of many sockets overlap (bounded by the executor and
    the connection pool). On SQLite everything stays on the shared thread: one writer at a
    time is all SQLite allows anyway, and its shared-cache test database refuses concurrent
    table access outright."""
    if not settings.WS_DB_THREADS or settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return database_sync_to_async(func)
    return database_sync_to_async(_returning_connections(func), thread_sensitive=False, executor=executor)


def _returning_connections(func):
    # asgiref runs the function in a copy of the caller's context, and Django keeps its
    # connections in context-local storage: the close that DatabaseSyncToAsync does around the
    # call cannot see a connection opened inside it, so each worker thread kept one pooled
    # connection checked out until the pool ran dry. Hand it back from inside the same context.
    @functools.wraps(func)
    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return call


async def still_signed_in(user_id: int, issued_at: float | None) -> bool:
    """signed_in_many() for one socket, batched with the other sockets of the process checking at the same time."""
    return await SIGN_IN_CHECKS.call(user_id % _CHECK_SHARDS, (user_id, issued_at))


def _signed_in_batch(_shard, sockets: list[tuple[int, float | None]]) -> list[bool]:
    return signed_in_many(sockets)


# Read-only checks: off the shared sync thread, so the checks of many sockets overlap.
TOKEN_CHECKS = GroupCommit(lambda _shard: off_shared_thread(_accounts_signed_in))
SIGN_IN_CHECKS = GroupCommit(lambda _shard: off_shared_thread(_signed_in_batch))


def frame_too_big(text: str) -> bool:
    """WS_MAX_FRAME_BYTES counts UTF-8 bytes, not characters (one character is up to 4 bytes)."""
    limit = settings.WS_MAX_FRAME_BYTES
    if len(text) > limit:
        return True
    return len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit


def field_with_nul(frame: dict) -> str | None:
    """The top-level field whose text (a value or a key, at any depth) holds a NUL, if any.
    PostgreSQL cannot store NUL in text or jsonb, so such a frame is refused up front."""
    for name, value in frame.items():
        if contains_nul(name):
            return "frame"
        if contains_nul(value):
            return name
    return None


def echo_client_id(frame: dict) -> str | None:
    """The client_id to send back on an error frame: the client's own string id, never an
    arbitrary value from a malformed frame."""
    value = frame.get("client_id")
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


class TokenBucket:
    """Per-connection frame budget, so one socket cannot flood a process."""

    def __init__(self, rate: str):
        self.capacity, period = _split_rate(rate)
        self.refill = self.capacity / period
        self.tokens = float(self.capacity)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.refill)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


async def _carry_on(coroutine, waiting_on) -> None:
    """Run the rest of a coroutine that was started by hand and stopped at an await, yielding
    `waiting_on` (a future, or None for a bare yield) as it would to its own task."""
    while True:
        try:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                await asyncio.wait([waiting_on])  # until it is done; the coroutine reads its result
        except asyncio.CancelledError as exc:
            try:
                waiting_on = coroutine.throw(exc)
            except StopIteration:
                return
            continue
        try:
            waiting_on = coroutine.send(None)
        except StopIteration:
            return


class ContorlConsumer(AsyncWebsocketConsumer):
    client_frames: tuple[str, ...] = ()  # frame types this endpoint accepts besides auth/pong
    # Frame types whose handler runs the sign-in check inside its own database trip (and raises
    # SignedOut), so the hot path pays one trip per frame, not two.
    checks_sign_in: tuple[str, ...] = ()
    # Frame types whose handler runs beside the socket's dispatch loop, not inside it.
    # channels hands a consumer one message at a time, the client's frames and the layer's
    # fan-out alike: while a chat send waited for its commit, the sender's socket delivered
    # nothing, and a writer sending as fast as it was acked got one frame of everyone
    # else's per send of its own (bench/PROFILE.md, fourth session). Such handlers start in
    # frame order; at most DETACHED_LIMIT run at once per socket, past that the socket
    # reads no further frame until one ends.
    detached_frames: tuple[str, ...] = ()
    DETACHED_LIMIT = 32

    # --- hooks for subclasses -------------------------------------------------------
    async def authorize(self, user) -> int | None:
        """Return None to admit `user`, or a close code: 4404 for an object that is missing
        or hidden from the user alike (never 4403, which would confirm the id exists)."""
        raise NotImplementedError

    async def groups_for(self, user_id: int) -> list[str]:
        """The groups this socket listens to. They are joined before the socket is admitted
        (a refused socket leaves them again, having been sent nothing), so a read made during
        admission is never older than the first frame the socket gets."""
        return []

    async def admission(self, user_id: int, issued_at: float | None, user) -> tuple[object | None, int | None]:
        """(the account, None to admit it or a close code), read once the groups are joined.
        `user` is the session's account, or None for a token's (`user_id`, `issued_at`): that
        account is read here and must still be signed in, else 4401. By default the account,
        then authorize(); an endpoint whose own read can carry the account overrides this
        (rooms: one read signs in and admits)."""
        if user is None:
            user = await signed_in_user(user_id, issued_at)
            if user is None:
                return None, CLOSE_UNAUTHENTICATED
        return user, await self.authorize(user)

    async def on_ready(self) -> None:
        """Called once the user is admitted and has joined its groups."""

    async def on_leave(self) -> None:
        """Called on disconnect for admitted users."""

    async def on_resync(self) -> None:
        """The channel layer may have lost frames for this socket (contorl/layers.py): tell the
        client to reread, as after a reconnect. Endpoints whose on_ready does more than send
        frames (presence) override this."""
        await self.on_ready()

    # --- dispatch --------------------------------------------------------------------
    # Layer messages already waiting for this socket are taken together (up to this many)
    # and handled in one go: channels' loop made a task and a wait() per message, per socket,
    # which was most of a fan-out frame's cost (bench/PROFILE.md, fourth session).
    LAYER_BATCH = 64
    _write_frame = None  # contorl.ws_frames.direct_writer() of this socket's server, if any

    async def __call__(self, scope, receive, send):
        # channels' AsyncConsumer.__call__ (async consumers only), reading the layer in batches.
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        self._write_frame = ws_frames.direct_writer(send)
        sources = [receive]
        self._handling = self._layer_pending = False
        self._finishing: asyncio.Task | None = None
        set_sink = None
        if self.channel_layer is not None:
            # Only this process ever sends to a socket's own channel (contorl.layers).
            new_channel = getattr(self.channel_layer, "new_local_channel", self.channel_layer.new_channel)
            self.channel_name = await new_channel()
            self.channel_receive = self._receive_from_layer
            sources.append(self.channel_receive)
            set_sink = getattr(self.channel_layer, "set_sink", None)  # contorl.layers.PubSubLayer
        if set_sink is not None:
            set_sink(self.channel_name, self._deliver_now)
        try:
            await await_many_dispatch(sources, self.dispatch)
        except StopConsumer:
            pass
        finally:
            if set_sink is not None:
                set_sink(self.channel_name, None)

    async def _receive_from_layer(self) -> dict:
        first = await self.channel_layer.receive(self.channel_name)
        # Taken off the queue but not yet handled: a frame arriving now must queue behind it.
        self._layer_pending = True
        ready = getattr(self.channel_layer, "receive_ready", None)  # contorl.layers.PubSubLayer
        more = ready(self.channel_name, self.LAYER_BATCH - 1) if ready is not None else []
        return {"type": "layer.batch", "messages": [first, *more]} if more else first

    async def dispatch(self, message):
        if self._finishing is not None:  # a frame handed over directly is still being sent
            await asyncio.wait([self._finishing])
        self._handling = True
        try:
            if message["type"] == "layer.batch":
                for one in message["messages"]:
                    await self._dispatch_one(one)
            else:
                await self._dispatch_one(message)
        finally:
            self._handling = False
            if not message["type"].startswith("websocket."):
                self._layer_pending = False

    def _deliver_now(self, message: dict) -> bool:
        """The channel layer's sink (PubSubLayer.set_sink): a group frame for this socket while
        it is idle (nothing queued, taken or being handled) is sent at once, in the layer's
        delivery; anything else, or a socket that is busy, gets it through the queue, in order.
        Under daphne sending never waits, so the frame is out when this returns; a send that
        does wait is carried on by a task that the next dispatch waits for."""
        if (
            self._handling
            or self._layer_pending
            or self._finishing is not None
            or self.user is None
            or message.get("type") != "event.message"
        ):
            return False
        sending = self.event_message(message)
        try:
            waiting_on = sending.send(None)
        except StopIteration:
            return True
        except Exception as exc:  # as a handler's crash in dispatch: logged, the socket closed (1011)
            self._crashed(exc)
            return True
        self._finishing = asyncio.ensure_future(_carry_on(sending, waiting_on))
        self._finishing.add_done_callback(self._finished)
        return True

    def _finished(self, task: asyncio.Task) -> None:
        self._finishing = None
        if not task.cancelled() and task.exception() is not None:
            self._crashed(task.exception())

    def _crashed(self, exc: BaseException) -> None:
        log.error("frame handler failed", exc_info=exc)
        self._tasks.append(asyncio.ensure_future(self.close(code=1011)))

    async def _dispatch_one(self, message):
        # channels' AsyncConsumer.dispatch awaits close_old_connections() in the one shared
        # sync thread before EVERY handler: every fan-out frame and every pong queued behind
        # the process's database work (bench: 50-member rooms at 10 msg/s took seconds to
        # deliver while daphne sat idle). Our handlers reach the database only through
        # database_sync_to_async, which already closes stale connections around each call,
        # so the hop bought nothing.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- lifecycle -------------------------------------------------------------------
    async def connect(self):
        self.user = None
        self.token_issued_at: float | None = None  # set for token sockets (revocation re-check)
        self.joined: list[str] = []
        self.outstanding_pings = 0
        self.bucket = TokenBucket(settings.WS_FRAME_RATE)
        self._tasks: list[asyncio.Task] = []
        self._detached: set[asyncio.Task] = set()
        self._detached_slots = asyncio.Semaphore(self.DETACHED_LIMIT)
        self.endpoint = metrics.endpoint_label(self.scope.get("path", ""))
        await self.accept()  # accept first so a refusal can carry a close code
        self._counted = True
        metrics.ws_opened(self.endpoint)
        scope_user = self.scope.get("user")
        if scope_user is not None and scope_user.is_authenticated:
            await self._admit(scope_user.pk, None, scope_user)
        else:
            self._deadline = asyncio.create_task(self._auth_deadline())
            self._tasks.append(self._deadline)

    async def disconnect(self, code):
        if getattr(self, "_counted", False):
            self._counted = False
            metrics.ws_closed(self.endpoint)
        for task in [*getattr(self, "_tasks", ()), *getattr(self, "_detached", ())]:
            task.cancel()
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.user is not None:
            await self.on_leave()

    async def _auth_deadline(self):
        await asyncio.sleep(settings.WS_AUTH_TIMEOUT)
        if self.user is None:
            await self.close(CLOSE_TIMEOUT)

    async def _admit(self, user_id: int, issued_at: float | None, user=None) -> None:
        # Joined first: whatever the admission reads (a room's last seq, a board's state) is
        # then covered by the frames that follow. Until admitted (self.user) the socket's
        # frames wait in its queue; a refused socket's are dropped with it.
        for group in [*await self.groups_for(user_id), *self._sign_out_groups(user_id)]:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)
        user, code = await self.admission(user_id, issued_at, user)
        if code is not None:
            await self.close(code)
            return
        self.user = user
        self._tasks.append(asyncio.create_task(self._heartbeat()))
        await self.on_ready()

    def _sign_out_groups(self, user_id: int) -> list[str]:
        """Groups through which signing out (one session, or everywhere) closes this socket."""
        from .accounts.sessions import session_group, user_sockets_group
        from .accounts.sessions_models import key_hash

        groups = [user_sockets_group(user_id)]
        session = self.scope.get("session")
        session_key = getattr(session, "session_key", None) if session is not None else None
        if session_key:
            groups.append(session_group(key_hash(session_key)))
        return groups

    async def _heartbeat(self):
        interval = settings.WS_HEARTBEAT_INTERVAL
        while True:
            await asyncio.sleep(interval)
            if self.outstanding_pings >= 2:
                await self.close(CLOSE_TIMEOUT)
                return
            self.outstanding_pings += 1
            await self.send_frame({"type": "ping"})

    # --- incoming frames -------------------------------------------------------------
    async def receive(self, text_data=None, bytes_data=None):
        metrics.frame(self.endpoint, "in")
        if not self.bucket.take():
            metrics.ratelimit_rejected("ws_frames")
            await self.close(CLOSE_RATE_LIMITED)
            return
        frame = self._parse(text_data, bytes_data)
        if frame is None:
            await self.close(CLOSE_MALFORMED)
            return
        kind = frame["type"]
        if self.user is None:
            await self._receive_auth(frame)
            return
        if kind == "auth":
            return  # already admitted; a repeated auth frame is harmless
        if kind != "pong" and kind not in self.client_frames:
            await self.send_error("unknown_type", f"Frame type '{kind}' is not accepted here.")
            return
        # Pongs too: a listen-only socket (the board) sends nothing else, so a missed close
        # still ends within two heartbeats.
        if kind not in self.checks_sign_in and not await still_signed_in(self.user.pk, self.token_issued_at):
            await self.close(CLOSE_UNAUTHENTICATED)
            return
        if kind == "pong":
            self.outstanding_pings = 0
            return
        if kind not in self.detached_frames:
            await self._handle(kind, frame, text_data)
            return
        await self._detached_slots.acquire()
        task = asyncio.create_task(self._handle(kind, frame, text_data))
        self._detached.add(task)
        task.add_done_callback(self._detached_done)

    def _detached_done(self, task: asyncio.Task) -> None:
        self._detached.discard(task)
        self._detached_slots.release()
        if not task.cancelled() and task.exception() is not None:
            self._crashed(task.exception())  # as an awaited handler's crash would

    async def _handle(self, kind: str, frame: dict, text_data: str) -> None:
        """Run the frame's handler; a refusal becomes an error frame or a close."""
        try:
            nul_field = field_with_nul(frame) if "\\u0000" in text_data else None
            if nul_field is not None:
                raise ValidationFailed.field(nul_field, _("Text may not contain NUL (\\u0000) characters."))
            await getattr(self, f"on_{kind}")(frame)
        except SignedOut:
            await self.close(CLOSE_UNAUTHENTICATED)
        except RateLimited as exc:
            await self.send_error(exc.code, exc.message, exc.details, client_id=echo_client_id(frame))
        except DomainError as exc:
            await self.send_error(exc.code, exc.message, exc.details, client_id=echo_client_id(frame))

    def _parse(self, text_data, bytes_data) -> dict | None:
        if text_data is None or frame_too_big(text_data):
            return None
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):  # deep nesting: 4400 like any malformed frame, not 1011
            return None
        # Nesting past JSON_MAX_DEPTH (as REST, contorl/parsers.py) only serves to exhaust a
        # service's recursion further on.
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str) or depth_exceeds(frame, max_depth()):
            return None
        return frame

    async def _receive_auth(self, frame: dict) -> None:
        # The frame came in time: from here on, a slow lookup or permission check must not
        # turn into an auth timeout (4408).
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            deadline.cancel()
        token = frame.get("token")
        if frame["type"] != "auth" or not isinstance(token, str) or len(token) > 4096:
            await self.close(CLOSE_UNAUTHENTICATED)
            return
        identity = token_identity(token)
        if identity is None:
            await self.close(CLOSE_UNAUTHENTICATED)
            return
        user_id, self.token_issued_at = identity
        await self._admit(user_id, self.token_issued_at)

    # --- outgoing ----------------------------------------------------------------------
    async def send(self, text_data=None, bytes_data=None, close=False):
        if text_data is not None or bytes_data is not None:
            metrics.frame(self.endpoint, "out")
        if text_data is not None and not close:
            # What channels' two send layers do for a text frame, without them: this runs once
            # per frame per socket (every fan-out frame). Under daphne the frame's bytes go to
            # the socket directly when nothing special applies (contorl.ws_frames).
            if self._write_frame is not None and self._write_frame(text_data):
                return
            await self.base_send({"type": "websocket.send", "text": text_data})
            return
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def send_frame(self, frame: dict) -> None:
        if frame["type"] != "ping":  # the contract's heartbeat frame is exactly {"type": "ping"}
            frame.setdefault("event_id", str(uuid.uuid4()))  # every other server frame carries one

        await self.send(text_data=json.dumps(frame, cls=FrameEncoder, ensure_ascii=False))

    async def send_error(self, code: str, message: str, details: dict | None = None, **extra) -> None:
        await self.send_frame(
            {"type": "error", **extra, "data": {"code": code, "message": message, "details": details or {}}}
        )

    async def event_message(self, event):
        """Group fan-out from contorl.events.publish: the frame is already serialised."""
        if self.user is not None:
            await self.send(text_data=event["text"])

    async def layer_resync(self, event):
        if self.user is not None:
            await self.on_resync()

    async def access_revoked(self, event):
        """A service removed this user's access: drop the socket at once."""
        if self.user is not None and event.get("user_id") == self.user.pk:
            await self.close(CLOSE_FORBIDDEN)

    async def object_gone(self, event):
        """The project or room this socket watches was deleted."""
        await self.close(CLOSE_NOT_FOUND)

    async def session_revoked(self, event):
        """The session (or every session of the user) was signed out, or the user was
        deactivated, deleted or changed password: the socket goes too."""
        await self.close(CLOSE_UNAUTHENTICATED)
