"""Rooms themselves: open (plain or from a template) and change details or status."""

import string
from datetime import date

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import Sensitivity
from audit.services import record as audit_record
from contorl import events
from contorl.errors import ValidationFailed, VersionConflict
from contorl.versioning import versioned_update

from .. import payloads
from ..models import DESCRIPTION_MAX, TITLE_MAX, Role, Room, RoomMember, RoomTemplate, Severity
from ..permissions import require_owner
from .members import _add_member
from .messages import message_post_system


def _clean_room_fields(fields: dict) -> dict:
    out = {}
    for name, value in fields.items():
        if name == "title":
            value = (value or "").strip()
            if not value or len(value) > TITLE_MAX:
                raise ValidationFailed.field(
                    "title", _("A title of 1 to %(max)s characters is required.") % {"max": TITLE_MAX}
                )
        elif name == "description":
            value = value or ""
            if len(value) > DESCRIPTION_MAX:
                raise ValidationFailed.field("description", _("At most %(max)s characters.") % {"max": DESCRIPTION_MAX})
        elif name == "location":
            value = (value or "").strip()
            if len(value) > 120:
                raise ValidationFailed.field("location", _("At most 120 characters."))
        elif name == "severity":
            if value not in Severity.values:
                raise ValidationFailed.field(
                    "severity", _("One of %(choices)s.") % {"choices": ", ".join(Severity.values)}
                )
        elif name == "status":
            if value not in Room.Status.values:
                raise ValidationFailed.field(
                    "status", _("One of %(choices)s.") % {"choices": ", ".join(Room.Status.values)}
                )
        elif name == "task":
            pass  # a Task the caller may see, or None: resolved by rooms.api.resolve_task
        else:
            raise ValidationFailed.field(name, _("This field cannot be changed here."))
        out[name] = value
    return out


@transaction.atomic
def room_create(
    *,
    by,
    title: str,
    description: str = "",
    severity: str = Severity.MEDIUM,
    location: str = "",
    members: list[tuple] | None = None,
    task=None,
) -> Room:
    """Open a room; `by` becomes its owner; `members` is [(user, role)]; each is invited."""
    fields = _clean_room_fields(
        {"title": title, "description": description, "severity": severity, "location": location}
    )
    room = Room(created_by=by, task=task, **fields)
    room._history_user = by
    room.save()
    RoomMember.objects.create(room=room, user=by, role=Role.OWNER)
    for user, role in members or []:
        if user.pk != by.pk:
            _add_member(room=room, user=user, role=role, by=by)
    audit_record("room.create", actor=by, obj=room, sensitivity=Sensitivity.LOW)
    # The metadata lets each reader's page say it in their own language; content is the fallback.
    text = _("%(user)s opened the room.") % {"user": by.display_name}
    message_post_system(room=room, content=text, by=by, metadata={"event": "opened", "user": by.display_name})
    return room


TITLE_FIELDS = ("location", "date")


def _title_fields_ok(pattern: str) -> bool:
    """Only bare {location} and {date}: no attributes, indexes, conversions or format specs."""
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError:
        return False
    return all(field is None or (field in TITLE_FIELDS and not spec and not conv) for _t, field, spec, conv in parts)


def fill_title(pattern: str, *, location: str) -> str:
    if not _title_fields_ok(pattern):
        return pattern  # saved before patterns were checked: used literally
    return pattern.format(location=location, date=date.today().isoformat())


@transaction.atomic
def room_create_from_template(*, template: RoomTemplate, by, location: str = "", title: str = "", task=None) -> Room:
    location = (location or template.location or "").strip()
    if not title:
        title = fill_title(template.title_pattern, location=location)
    User = get_user_model()
    wanted = {int(m["user"]): m["role"] for m in template.members}
    users = {u.pk: u for u in User.objects.filter(pk__in=wanted, is_active=True)}
    members = [(users[uid], role) for uid, role in wanted.items() if uid in users]
    return room_create(
        by=by,
        title=title[:TITLE_MAX],
        description=template.description,
        severity=template.severity,
        location=location,
        members=members,
        task=task,
    )


@transaction.atomic
def room_update(*, room: Room, by, version: int, fields: dict) -> Room:
    fields = _clean_room_fields(fields)
    require_owner(room, by)  # details and status (resolve, archive) are owner decisions
    old_status = room.status
    try:
        room = versioned_update(room, version=version, fields=fields, by=by)
    except VersionConflict as exc:
        if exc.instance is not None:
            exc.current_data = payloads.room_payload(exc.instance)
        raise
    audit_record(
        "room.update",
        actor=by,
        obj=room,
        sensitivity=Sensitivity.MEDIUM if "status" in fields else Sensitivity.LOW,
        changes={k: (v.pk if hasattr(v, "pk") else str(v)) for k, v in fields.items()},
    )
    events.publish(events.room_group(room.pk), "room_updated", payloads.room_payload(room), actor=by)
    if "status" in fields and fields["status"] != old_status:
        text = _("%(user)s changed the status from %(old)s to %(new)s.") % {
            "user": by.display_name,
            "old": Room.Status(old_status).label,
            "new": Room.Status(fields["status"]).label,
        }
        message_post_system(
            room=room,
            content=str(text),
            by=by,
            metadata={
                "event": "status",
                "user": by.display_name,
                "status": {"from": old_status, "to": fields["status"]},
            },
        )
    return room
