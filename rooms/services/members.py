"""Room membership: add, change role, remove (or leave). A room always keeps an owner."""

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import Sensitivity
from audit.services import record as audit_record
from contorl import events
from contorl.errors import ValidationFailed, VersionConflict
from contorl.versioning import versioned_update
from notifications.services import notify

from .. import payloads, selectors
from ..models import Role, Room, RoomMember
from ..permissions import require_owner


def _check_role(role: str) -> str:
    if role not in Role.values:
        raise ValidationFailed.field("role", _("One of %(choices)s.") % {"choices": ", ".join(Role.values)})
    return role


@transaction.atomic
def member_add(*, room: Room, role: str, by, user=None, user_id: int | None = None, username: str = "") -> RoomMember:
    """Add `user`, or the active user with `user_id` (else `username`). Owners only.

    The lookup comes after the owner check, so a non-owner learns nothing about user ids.
    """
    require_owner(room, by)
    if user is None:
        user = selectors.active_user(user_id=user_id, username=username)
        if user is None:
            raise ValidationFailed.field("user", _("No such user."))
    return _add_member(room=room, user=user, role=role, by=by)


def _add_member(*, room: Room, user, role: str, by) -> RoomMember:
    """Add without asking whether `by` may: for room_create's initial members."""
    _check_role(role)
    if not user.is_active:
        raise ValidationFailed.field("user", _("This user is inactive."))
    if RoomMember.objects.filter(room=room, user=user).exists():
        raise ValidationFailed.field("user", _("This user is already a member."))
    member = RoomMember.objects.create(room=room, user=user, role=role)
    audit_record(
        "room.member_add", actor=by, obj=room, sensitivity=Sensitivity.MEDIUM, changes={"user": user.pk, "role": role}
    )
    events.publish(events.room_group(room.pk), "member_added", payloads.member_payload(member), actor=by)
    notify(
        recipients=[user],
        type="room_invite",
        title=_("You were added to the incident room “%(title)s”") % {"title": room.title},
        link=f"/rooms/{room.pk}/",
        actor=by,
        data={"room": room.pk, "role": role},
    )
    return member


@transaction.atomic
def member_update(*, member: RoomMember, role: str, version: int, by) -> RoomMember:
    require_owner(member.room, by)
    _check_role(role)
    _keep_an_owner(member, new_role=role)
    try:
        member = versioned_update(member, version=version, fields={"role": role}, by=by)
    except VersionConflict as exc:
        if exc.instance is not None:
            exc.current_data = payloads.member_payload(exc.instance)
        raise
    audit_record(
        "room.member_role",
        actor=by,
        obj=member.room,
        sensitivity=Sensitivity.MEDIUM,
        changes={"user": member.user_id, "role": role},
    )
    events.publish(events.room_group(member.room_id), "member_updated", payloads.member_payload(member), actor=by)
    return member


def _keep_an_owner(member: RoomMember, *, new_role: str | None) -> None:
    if member.role == Role.OWNER and new_role != Role.OWNER:
        owners = RoomMember.objects.select_for_update().filter(room_id=member.room_id, role=Role.OWNER)
        if owners.count() <= 1:
            raise ValidationFailed.field("role", _("A room needs at least one owner."))


@transaction.atomic
def member_remove(*, member: RoomMember, by) -> None:
    if member.user_id != by.pk:  # anyone may leave; removing others is for owners
        require_owner(member.room, by)
    _keep_an_owner(member, new_role=None)
    room_id, user_id = member.room_id, member.user_id
    data = payloads.member_payload(member)
    member.delete()
    audit_record(
        "room.member_remove",
        actor=by,
        object_type="rooms.room",
        object_id=room_id,
        sensitivity=Sensitivity.MEDIUM,
        changes={"user": user_id},
    )
    events.publish(events.room_group(room_id), "member_removed", data, actor=by)
    # Drop the removed user's open sockets on this room at once (after commit).
    events.control(events.room_group(room_id), "access.revoked", user_id=user_id)
