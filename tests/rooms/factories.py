"""Rooms test data: build through the services so audit/publish paths run too."""

from rooms import services
from rooms.models import Room


def make_room(owner, *, members=(), title="Line 3 stoppage", **fields) -> Room:
    """members: [(user, role)]"""
    return services.room_create(by=owner, title=title, members=list(members), **fields)


def send(room, user, content="hello", **kw):
    message, _created = services.message_send(room=room, by=user, content=content, **kw)
    return message
