"""/ws/rooms/{id}/: chat frames in, room events out. Business rules live in services."""

import asyncio
import functools
import itertools
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections

from contorl.accounts.tokens import SignedOut
from contorl.consumers import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHENTICATED,
    ContorlConsumer,
    off_shared_thread,
)
from contorl.errors import ValidationFailed
from contorl.events import make_frame, room_group
from contorl.groupcommit import GroupCommit, ThreadDrainedGroupCommit

from . import payloads, presence, selectors, services
from .permissions import admissions, last_seqs_and_roles, role_of
from .presence_frames import PresenceFrames

RESUME_BATCH = 500
LIVE_SEQ_MEMORY = 5000


# Off the one shared sync thread: admission reads and replays run in parallel threads (bounded
# by the default executor and the connection pool), so a thousand sockets connecting do not
# queue behind each other's round trips (bench/PROFILE.md #3, #5); presence goes in batches
# (PRESENCE_OUTBOX below).
_off_thread = off_shared_thread

# Message sends have threads of their own, so a burst of admissions (which use the default
# executor) never queues a room's batch. Seq order needs no thread per room: the outbox below
# keeps one drain per room at a time, so any free thread may take a room's turn, and two
# busy rooms never wait for each other as they did when rooms shared a thread by bucket.
_SEND_POOL = ThreadPoolExecutor(max_workers=settings.ROOM_SEND_THREADS, thread_name_prefix="room-send")


def _in_send_thread(func):
    return off_shared_thread(func, executor=_SEND_POOL)


def _admissions(_shard, sockets: list[tuple[int, int, float | None, object | None]]) -> list[tuple]:
    """For each connecting socket's (room id, user id, token iat, session account or None): (the
    account, None to admit it or a close code, the room's last seq). 4401 for an account that
    may not sign in; 4404 for a room the account may not see, missing or not (REST answers 404
    too), so the close code does not confirm that the room exists. One read for all of them."""
    outcomes = []
    for account, last_seq, role in admissions(sockets):
        if account is None:
            outcomes.append((None, CLOSE_UNAUTHENTICATED, 0))
        elif role is None:
            outcomes.append((account, CLOSE_NOT_FOUND, 0))
        else:
            outcomes.append((account, None, last_seq))
    return outcomes


def _send_batch(room_id: int, sends: list[tuple]) -> list:
    """The outcome of each (user, token iat, frame) waiting for the room: (message, created),
    or the exception the socket answers with (SignedOut for a sender no longer signed in)."""
    return services.message_send_batch(
        room_id,
        [
            services.ChatSend(
                by=user,
                content=frame.get("content", ""),
                message_type=frame.get("message_type", "text"),
                metadata=frame.get("metadata"),
                client_id=frame.get("client_id"),
                from_socket=True,
                issued_at=issued_at,
            )
            for user, issued_at, frame in sends
        ],
    )


def _presence_batch(_key, items: list) -> list:
    """Joins and leaves, (room id, user, delta), and keep-alive snapshots, {(room id, user id):
    local count}, stored in arrival order: a snapshot taken before a leave is written before
    it, so it cannot bring the user back once the leave has removed the key. A failure fails
    only its own run of items."""
    outcomes: list = []
    for is_snapshot, run in itertools.groupby(items, key=lambda item: isinstance(item, dict)):
        run = list(run)
        try:
            if is_snapshot:
                for snapshot in run:
                    presence.refresh_many(snapshot)
                outcomes.extend([None] * len(run))
            else:
                outcomes.extend(presence.apply_changes(run, announce=False))  # PRESENCE_FRAMES does
        except Exception as exc:  # Redis down: those sockets hear it, the rest go ahead
            outcomes.extend([exc] * len(run))
    return outcomes


# Chat sends, by room: one transaction, one seq statement and one publish hand-off per batch.
# One batch per room at a time keeps a room's frames leaving this process in seq order; the
# sending thread takes the room's next batch itself as soon as one is stored.
ROOM_OUTBOX = ThreadDrainedGroupCommit(_send_batch, _in_send_thread, between=close_old_connections)
# Presence joins, leaves and keep-alives of the whole process, in one line: one Redis round
# trip and one hand-off per batch (thousands of sockets connect or drop at once after a
# network blip).
PRESENCE_OUTBOX = GroupCommit(lambda _key: _off_thread(_presence_batch))
# Who came or went, announced together per room (rooms/presence_frames.py).
PRESENCE_FRAMES = PresenceFrames(_off_thread)
# Admissions and resumes of sockets connecting together (a reconnect storm): one thread hop
# and one read per batch, in a few shards so batches overlap their round trips.
_SHARDS = 4
ADMISSIONS = GroupCommit(lambda _shard: _off_thread(_admissions))
RESUMES = GroupCommit(lambda _shard: _off_thread(_replays))


def _replay(room_id: int, user, after: int, issued_at: float | None = None) -> tuple[list[dict], int]:
    outcome = _replays(None, [(room_id, user, after, issued_at)])[0]
    if isinstance(outcome, SignedOut):
        raise outcome
    return outcome


def _replays(_shard, resumes: list[tuple[int, object, int, float | None]]) -> list:
    """For each (room id, user, after, token iat) of sockets resuming together: the messages
    after `after` (up to RESUME_BATCH) and the room's latest seq; ([], -1) for a user who may
    not read the room; SignedOut for one no longer signed in (the frame's sign-in re-check,
    in the same read). One read of the rooms, roles and accounts for all; messages only for
    those missing some."""
    answers = []
    rooms = last_seqs_and_roles(
        [(room_id, user) for room_id, user, _after, _iat in resumes], issued_at=[iat for *_rest, iat in resumes]
    )
    for (room_id, _user, after, _iat), (latest, role, still_in) in zip(resumes, rooms, strict=True):
        if not still_in:
            answers.append(SignedOut())
        elif role is None:
            answers.append(([], -1))
        elif after >= (latest or 0):
            # The client has everything stored so far (the usual reconnect): what comes later
            # reaches this socket live, as it joined the room's group before the client resumed.
            answers.append(([], latest or 0))
        else:
            messages = selectors.messages_after(room_id, after, limit=RESUME_BATCH)
            # `latest` was read first: a message committed since may be in the replay, past it.
            latest = max(latest or 0, messages[-1].seq if messages else 0)
            answers.append(([payloads.message_payload(m, reactions=list(m.reactions.all())) for m in messages], latest))
    return answers


def _typing(room_id: int, user) -> None:
    if role_of(room_id, user) in ("owner", "editor"):  # viewers cannot write, so they never "type"
        presence.typing_ping(room_id=room_id, user=user)


class _LocalPresence:
    """The (room, user) pairs with open sockets in this process, and one task that keeps all
    their presence keys alive with one pipelined batch per period (not a task and a thread
    hop per socket)."""

    def __init__(self):
        self.counts: dict[tuple[int, int], int] = {}
        self.task: asyncio.Task | None = None

    def add(self, room_id: int, user_id: int) -> None:
        key = (room_id, user_id)
        self.counts[key] = self.counts.get(key, 0) + 1
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            self.task = loop.create_task(self._keep_alive())

    def discard(self, room_id: int, user_id: int) -> None:
        key = (room_id, user_id)
        left = self.counts.get(key, 0) - 1
        if left > 0:
            self.counts[key] = left
        else:
            self.counts.pop(key, None)

    async def _keep_alive(self):
        # Presence keys expire on their own (a crashed process must not leave ghosts), so the
        # live ones are refreshed well inside the TTL.
        while self.counts:
            await asyncio.sleep(presence.PRESENCE_TTL / 3)
            await self.refresh()

    async def refresh(self) -> None:
        # In line with this process's joins and leaves (a leave discards its pair here before it
        # is sent), so the snapshot is never older than the changes stored before it.
        try:
            await PRESENCE_OUTBOX.call(None, dict(self.counts))
        except Exception:  # Redis down: the keys come back with the next batch
            presence.log.warning("presence refresh failed", exc_info=True)


LOCAL_PRESENCE = _LocalPresence()


class RoomConsumer(ContorlConsumer):
    client_frames = ("message", "typing", "resume")
    checks_sign_in = ("message", "resume")
    # A send waits for its batch's commit; meanwhile the socket keeps delivering the room's
    # frames to its client. (A resume stays in line: it must not overlap live frames.)
    detached_frames = ("message",)

    @functools.cached_property
    def room_id(self) -> int:
        return int(self.scope["url_route"]["kwargs"]["room_id"])

    async def groups_for(self, user_id):
        return [room_group(self.room_id)]

    async def admission(self, user_id, issued_at, user):
        # The token's account, its role and the room's last seq in one read (made after the
        # socket joined the room's group, so every message past that seq reaches it live).
        self.replayed: set[int] = set()
        self.live_seqs: set[int] = set()
        self.newest_live = 0
        account, code, self.admitted_seq = await ADMISSIONS.call(
            user_id % _SHARDS, (self.room_id, user_id, issued_at, user)
        )
        self.fresh_seq = self.admitted_seq
        return account, code

    async def on_ready(self):
        # Tell the client it is in (and where the stream stands) before anything else, so
        # it knows when to resume and flush its offline queue.
        await self.send_frame({"type": "ready", "data": {"room": self.room_id, "last_seq": self.admitted_seq}})
        # Kept alive by this process only once the join is stored: a refresh between the two
        # would find no key, write one, and the join would then count the socket twice.
        await self._presence(+1)
        LOCAL_PRESENCE.add(self.room_id, self.user.pk)
        self.present = True

    async def on_resync(self):
        # Only the frame: presence for this socket is already counted. The client resumes
        # from its own last seq; the one here is where the stream stands now.
        socket = (self.room_id, self.user.pk, self.token_issued_at, self.user)
        _account, code, last_seq = await ADMISSIONS.call(self.user.pk % _SHARDS, socket)
        if code is not None:
            await self.close(code)
            return
        self.fresh_seq = last_seq
        await self.send_frame({"type": "ready", "data": {"room": self.room_id, "last_seq": last_seq}})

    async def on_leave(self):
        if not getattr(self, "present", False):  # its join never got stored: nothing to undo
            return
        self.present = False
        LOCAL_PRESENCE.discard(self.room_id, self.user.pk)
        await self._presence(-1)

    async def _presence(self, delta: int) -> None:
        count = await PRESENCE_OUTBOX.call(None, (self.room_id, self.user, delta))
        if presence.came_or_went(delta, count):
            PRESENCE_FRAMES.add(self.room_id, self.user)

    async def on_message(self, frame):
        # services.message_send_batch re-checks membership and room status on every frame.
        message, _created = await ROOM_OUTBOX.call(self.room_id, (self.user, self.token_issued_at, frame))
        await self.send_frame(
            {"type": "ack", "client_id": frame.get("client_id"), "data": {"id": message.pk, "seq": message.seq}}
        )

    async def on_typing(self, frame):
        await _off_thread(_typing)(self.room_id, self.user)

    async def on_resume(self, frame):
        last_seq = frame.get("last_seq")
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0:
            raise ValidationFailed.field("last_seq", "A whole number >= 0 is required.")
        fresh, self.fresh_seq = self.fresh_seq, None
        if fresh is not None and last_seq >= fresh:
            # The resume that follows a ready, from a client that has everything up to it (the
            # usual reconnect): the ready's own read, made after the socket joined the room's
            # group and with the sign-in checked, said where the stream stood, and every
            # message since reaches this socket live (some may have already). Nothing to read.
            newest = max(fresh, self.newest_live)
            await self.send_frame({"type": "resumed", "seq": newest, "data": {"seq": newest}})
            return
        after = last_seq
        while True:
            resume = (self.room_id, self.user, after, self.token_issued_at)
            batch, latest = await RESUMES.call(self.user.pk % _SHARDS, resume)
            if latest < 0:
                await self.close(CLOSE_FORBIDDEN)
                return
            for data in batch:
                if data["seq"] in self.live_seqs:
                    continue  # already sent live on this socket
                self.replayed.add(data["seq"])
                await self.send_frame(make_frame("message", data, actor=None, seq=data["seq"]))
            if len(batch) < RESUME_BATCH:
                break
            after = batch[-1]["seq"]
        await self.send_frame({"type": "resumed", "seq": latest, "data": {"seq": latest}})

    async def event_message(self, event):
        # Live frames and the resume replay can overlap (a message committed while we
        # replay, or one already in flight when the socket joined): send each seq once.
        # The seq rides beside the pre-encoded text (contorl.events.send_now): no parsing
        # per recipient.
        seq = event.get("seq")
        if self.user is not None and seq is not None and event["text"].startswith('{"type": "message"'):
            if seq in self.replayed:
                self.replayed.discard(seq)
                return
            if len(self.live_seqs) > LIVE_SEQ_MEMORY:
                self.live_seqs.clear()
            self.live_seqs.add(seq)
            self.newest_live = max(self.newest_live, seq)
        await super().event_message(event)
