"""/ws/notifications/: the bell's live feed for the signed-in user.

Server frames (besides ping and error):
- on connect `{"type":"unread","event_id","data":{"count":n,"items":[notification, ...]}}`
  (newest unread first, at most 20; `count` is the full unread count);
- `{"type":"notification","event_id","data":{...notification,"actor","unread_count":n}}`;
- `{"type":"unread_count","event_id","data":{"count":n,"read":[ids] | "all"}}` whenever the
  user marks one or all read (from any tab or client), so every tab shows the same count.
The group is joined before the snapshot is read, so nothing created in between is lost
(it may arrive twice; clients de-duplicate by id).
"""

import uuid

from contorl import events
from contorl.consumers import ContorlConsumer, off_shared_thread

from . import selectors


class NotificationConsumer(ContorlConsumer):
    client_frames = ()

    async def authorize(self, user):
        return None  # every signed-in user has a feed; it only ever carries their own rows

    async def groups_for(self, user_id):
        return [events.user_group(user_id)]

    async def on_ready(self):
        snapshot = await off_shared_thread(selectors.unread_snapshot)(self.user.pk)
        await self.send_frame({"type": "unread", "event_id": str(uuid.uuid4()), "data": snapshot})
