"""Presence frames: who came or went in a room, gathered per process and sent together, each
user's state read when the frames leave (rooms/presence_frames.py). Runs on the local-memory
cache in the SQLite pass and on Redis in the PostgreSQL pass."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from contorl.consumers import off_shared_thread
from rooms import presence
from rooms.presence_frames import PresenceFrames
from tests.rooms.factories import make_room

pytestmark = pytest.mark.django_db(transaction=True)  # frames leave on commit


def brief(user) -> dict:
    return {"id": user.pk, "username": user.username, "display_name": user.display_name}


def test_users_who_came_together_are_named_in_one_frame(user, carol, make_user, room_frames):
    dave = make_user("dave")
    room = make_room(user, members=[(carol, "editor"), (dave, "editor")])
    received = room_frames(room.pk)
    assert presence.apply_changes([(room.pk, carol, 1), (room.pk, dave, 1)], announce=False) == [1, 1]
    assert received() == []  # the caller announces them

    assert presence.publish_presence({room.pk: {carol.pk: carol, dave.pk: dave}}) == 1
    [frame] = received()
    assert frame["type"] == "presence"
    assert frame["data"] == {"users": [brief(carol), brief(dave)], "online": True, "actor": None}


def test_each_user_is_announced_as_they_are_when_the_frame_leaves(user, carol, make_user, room_frames):
    """Carol came and went before the frames left: she is announced offline, not online then
    offline. Dave left, but came back meanwhile (another tab, maybe on another process): online."""
    dave = make_user("dave")
    room = make_room(user, members=[(carol, "editor"), (dave, "editor")])
    received = room_frames(room.pk)
    presence.apply_changes(
        [(room.pk, carol, 1), (room.pk, carol, -1), (room.pk, dave, 1), (room.pk, dave, -1), (room.pk, dave, 1)],
        announce=False,
    )
    assert presence.publish_presence({room.pk: {carol.pk: carol, dave.pk: dave}}) == 2
    frames = {f["data"]["online"]: f["data"] for f in received()}
    assert frames[False] == {"user": brief(carol), "online": False, "actor": brief(carol)}
    assert frames[True] == {"user": brief(dave), "online": True, "actor": brief(dave)}


def test_a_direct_join_is_still_announced_at_once(user, carol, room_frames):
    room = make_room(user, members=[(carol, "editor")])
    received = room_frames(room.pk)
    presence.presence_join(room_id=room.pk, user=carol)
    assert [(f["data"]["user"]["username"], f["data"]["online"]) for f in received()] == [("carol", True)]


async def test_announcements_wait_for_the_period_then_leave_together(user, carol, make_user, room_frames, settings):
    settings.ROOM_PRESENCE_COALESCE = 0.2
    dave = await database_sync_to_async(make_user)("dave")
    room = await database_sync_to_async(make_room)(user, members=[(carol, "editor"), (dave, "editor")])
    received = await sync_to_async(room_frames)(room.pk)
    await database_sync_to_async(presence.apply_changes)([(room.pk, carol, 1), (room.pk, dave, 1)], announce=False)
    frames = PresenceFrames(off_shared_thread)

    frames.add(room.pk, carol)
    first = frames._flushing
    await asyncio.sleep(0.05)
    frames.add(room.pk, dave)  # inside the period: the same frame
    assert frames._flushing is first
    assert await sync_to_async(received)() == []
    await first
    [frame] = await sync_to_async(received)()
    assert [u["username"] for u in frame["data"]["users"]] == ["carol", "dave"]

    frames.add(room.pk, carol)  # a later change starts a new period
    assert frames._flushing is not first
    await frames._flushing
    [frame] = await sync_to_async(received)()
    assert frame["data"]["user"]["username"] == "carol" and frame["data"]["online"] is True
