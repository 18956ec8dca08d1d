"""Who may do what in a room. One place, used by services, selectors and the consumer.

Members see a room; owners and editors write; viewers read only. System admins act as
owners everywhere. An archived room is read-only for everyone (only its status can change).
"""

from contorl.errors import Forbidden, NotFound

from .models import Role, Room, RoomMember

WRITE_ROLES = (Role.OWNER, Role.EDITOR)


def is_admin(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_admin)


def membership(room_id: int, user) -> RoomMember | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return RoomMember.objects.filter(room_id=room_id, user_id=user.pk).first()


def role_of(room_id: int, user) -> str | None:
    member = membership(room_id, user)
    if member is not None:
        return member.role
    return Role.OWNER if is_admin(user) else None


def can_view(room_id: int, user) -> bool:
    return role_of(room_id, user) is not None


def require_view(room: Room, user) -> str:
    """The user's role; NotFound (never leak existence) when they may not see the room."""
    role = role_of(room.pk, user)
    if role is None:
        raise NotFound()
    return role


def require_write(room: Room, user) -> str:
    role = require_view(room, user)
    if role not in WRITE_ROLES:
        raise Forbidden("Viewers can read this room but not write in it.")
    if room.status == Room.Status.ARCHIVED:
        raise Forbidden("This room is archived and read-only.")
    return role


def require_owner(room: Room, user) -> str:
    role = require_view(room, user)
    if role != Role.OWNER:
        raise Forbidden("Only a room owner can do this.")
    return role
