"""A message reads the same over REST and in its WebSocket frame: timestamps and user shape."""

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from contorl.payloads import timestamp
from tests.rooms.factories import make_room
from tests.rooms.test_ws import connect, next_of

pytestmark = pytest.mark.django_db(transaction=True)


def _rest_message(user, message_id):
    api = APIClient()
    api.force_authenticate(user)
    response = api.get(f"/api/messages/{message_id}/")
    assert response.status_code == 200, response.content
    return response.json()


async def test_frame_and_rest_carry_the_same_timestamp_and_sender(user, carol):
    room = await database_sync_to_async(make_room)(user, members=[(carol, "editor")])
    sender, reader = await connect(room.pk, user), await connect(room.pk, carol)
    await sender.send_json_to({"type": "message", "content": "pump 4 tripped", "client_id": "c1"})
    frame = (await next_of(reader, "message"))["data"]
    rest = await database_sync_to_async(_rest_message)(carol, frame["id"])
    # Microseconds in both (DjangoJSONEncoder alone would cut the frame's to milliseconds).
    assert frame["created_at"] == rest["created_at"]
    assert len(rest["created_at"].split(".")[1]) == len("123456Z")
    assert frame["sender"] == rest["sender"] == {"id": user.pk, "username": user.username, "display_name": "Bob"}
    await sender.disconnect()
    await reader.disconnect()


def test_timestamp_writes_utc_with_z_and_keeps_offsets():
    import datetime

    utc = datetime.datetime(2026, 12, 1, 5, 23, 0, 120, tzinfo=datetime.UTC)
    assert timestamp(utc) == "2026-12-01T05:23:00.000120Z"
    taipei = utc.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    assert timestamp(taipei) == "2026-12-01T13:23:00.000120+08:00"
    assert timestamp(None) is None
