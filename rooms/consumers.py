"""/ws/rooms/{id}/: chat frames in, room events out. Business rules live in services."""

import asyncio
import json

from channels.db import database_sync_to_async

from contorl.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, ContorlConsumer
from contorl.errors import ValidationFailed
from contorl.events import make_frame, room_group

from . import payloads, presence, selectors, services
from .models import Room
from .permissions import role_of

RESUME_BATCH = 500
LIVE_SEQ_MEMORY = 5000


@database_sync_to_async
def _authorize(room_id: int, user) -> int | None:
    # Not a member: 4404 like a missing room (REST answers 404 too), so the close code
    # does not confirm that the room exists.
    if role_of(room_id, user) is None or not Room.objects.filter(pk=room_id).exists():
        return CLOSE_NOT_FOUND
    return None


@database_sync_to_async
def _send_message(room_id: int, user, frame: dict):
    room = Room(pk=room_id)
    return services.message_send(
        room=room,
        by=user,
        content=frame.get("content", ""),
        message_type=frame.get("message_type", "text"),
        metadata=frame.get("metadata"),
        client_id=frame.get("client_id"),
    )


@database_sync_to_async
def _replay(room_id: int, user, after: int) -> tuple[list[dict], int]:
    if role_of(room_id, user) is None:
        return [], -1
    messages = selectors.messages_after(room_id, after, limit=RESUME_BATCH)
    latest = Room.objects.filter(pk=room_id).values_list("last_seq", flat=True).first() or 0
    return [payloads.message_payload(m, reactions=list(m.reactions.all())) for m in messages], latest


def _last_seq(room_id: int) -> int:
    return Room.objects.filter(pk=room_id).values_list("last_seq", flat=True).first() or 0


class RoomConsumer(ContorlConsumer):
    client_frames = ("message", "typing", "resume")

    async def authorize(self, user):
        self.room_id = int(self.scope["url_route"]["kwargs"]["room_id"])
        self.replayed: set[int] = set()
        self.live_seqs: set[int] = set()
        return await _authorize(self.room_id, user)

    async def groups_for(self, user):
        return [room_group(self.room_id)]

    async def on_ready(self):
        # Tell the client it is in (and where the stream stands) before anything else, so
        # it knows when to resume and flush its offline queue.
        last_seq = await database_sync_to_async(_last_seq)(self.room_id)
        await self.send_frame({"type": "ready", "data": {"room": self.room_id, "last_seq": last_seq}})
        await database_sync_to_async(presence.presence_join)(room_id=self.room_id, user=self.user)
        self._tasks.append(asyncio.create_task(self._keep_present()))

    async def on_leave(self):
        await database_sync_to_async(presence.presence_leave)(room_id=self.room_id, user=self.user)

    async def _keep_present(self):
        # Presence keys expire on their own (a crashed process must not leave ghosts),
        # so a live socket refreshes its key well inside the TTL.
        while True:
            await asyncio.sleep(presence.PRESENCE_TTL / 3)
            await database_sync_to_async(presence.presence_refresh)(room_id=self.room_id, user=self.user)

    async def on_message(self, frame):
        # services.message_send re-checks membership and room status on every frame.
        message, _created = await _send_message(self.room_id, self.user, frame)
        await self.send_frame(
            {"type": "ack", "client_id": frame.get("client_id"), "data": {"id": message.pk, "seq": message.seq}}
        )

    async def on_typing(self, frame):
        role = await database_sync_to_async(role_of)(self.room_id, self.user)
        if role in ("owner", "editor"):  # viewers cannot write, so they never "type"
            await database_sync_to_async(presence.typing_ping)(room_id=self.room_id, user=self.user)

    async def on_resume(self, frame):
        last_seq = frame.get("last_seq")
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0:
            raise ValidationFailed.field("last_seq", "A whole number >= 0 is required.")
        after = last_seq
        while True:
            batch, latest = await _replay(self.room_id, self.user, after)
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
        text = event["text"]
        if self.user is not None and text.startswith('{"type": "message"'):
            seq = json.loads(text).get("seq")
            if seq in self.replayed:
                self.replayed.discard(seq)
                return
            if len(self.live_seqs) > LIVE_SEQ_MEMORY:
                self.live_seqs.clear()
            self.live_seqs.add(seq)
        await super().event_message(event)
