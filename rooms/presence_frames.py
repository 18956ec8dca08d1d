"""The presence frames of one process's room sockets, gathered for ROOM_PRESENCE_COALESCE seconds.

A room filling up sent each member already in it one frame per arrival: 50 members meant
1,225 frames, each parsed by a browser, and in one daphne a third of the CPU that admitting a
socket cost (bench/PROFILE.md, twelfth session). Now the users who came or went in a room are
named together, in one frame per room and state per period, so a burst of arrivals (a shift
starting, every client reconnecting after a network blip) costs each member a frame or two.

Each user's state is read when the frames leave (rooms.presence.publish_presence), not taken
from the change that named them: a user who left on one process and came back on another
within the period is announced online by both, never offline last.
"""

import asyncio
import logging

from django.conf import settings

from . import presence

log = logging.getLogger("contorl.rooms.presence")


class PresenceFrames:
    def __init__(self, in_thread):
        self.in_thread = in_thread  # the async call that runs a sync function off the event loop
        self.pending: dict[int, dict[int, object]] = {}  # room id -> {user id: user}
        self._flushing: asyncio.Task | None = None

    def add(self, room_id: int, user) -> None:
        """Announce `user` in `room_id` with the next frames (called in the event loop)."""
        self.pending.setdefault(room_id, {})[user.pk] = user
        loop = asyncio.get_running_loop()
        if self._flushing is None or self._flushing.done() or self._flushing.get_loop() is not loop:
            self._flushing = loop.create_task(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(settings.ROOM_PRESENCE_COALESCE)
        while self.pending:  # what arrived while the last frames were sent goes at once
            changed, self.pending = self.pending, {}
            try:
                await self.in_thread(presence.publish_presence)(changed)
            except Exception:  # the cache is down: the keys say who is online once it is back
                log.warning("presence frames not sent for rooms %s", sorted(changed), exc_info=True)
