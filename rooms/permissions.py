"""Who may do what in a room. One place, used by services, selectors and the consumer.

Members see a room; owners and editors write; viewers read only. System admins act as
owners everywhere. An archived room is read-only for everyone (only its status can change).
"""

from django.db.models import OuterRef, Subquery

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


def roles_of(room_id: int, users) -> dict[int, str | None]:
    """role_of for several users in one query: {user id: role or None}."""
    ids = {u.pk for u in users if getattr(u, "is_authenticated", False)}
    members = dict(RoomMember.objects.filter(room_id=room_id, user_id__in=ids).values_list("user_id", "role"))
    return {u.pk: members.get(u.pk) or (Role.OWNER if is_admin(u) else None) for u in users}


def last_seq_and_role(room_id: int, user) -> tuple[int | None, str | None]:
    """(the room's last seq, the user's role) in one query: a socket's admission and resume
    ask both. (None, None) when there is no such room."""
    if not getattr(user, "is_authenticated", False):
        return None, None
    member_role = RoomMember.objects.filter(room_id=OuterRef("pk"), user_id=user.pk).values("role")[:1]
    row = (
        Room.objects.filter(pk=room_id)
        .annotate(member_role=Subquery(member_role))
        .values_list("last_seq", "member_role")
        .first()
    )
    if row is None:
        return None, None
    last_seq, role = row
    return last_seq, role or (Role.OWNER if is_admin(user) else None)


def can_view(room_id: int, user) -> bool:
    return role_of(room_id, user) is not None


def require_view(room: Room, user) -> str:
    """The user's role; NotFound (never leak existence) when they may not see the room."""
    role = role_of(room.pk, user)
    if role is None:
        raise NotFound()
    return role


def require_write(room: Room, user) -> str:
    return check_write(room, role_of(room.pk, user))


def check_write(room: Room, role: str | None) -> str:
    """require_write for a role already read (roles_of)."""
    if role is None:
        raise NotFound()
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
