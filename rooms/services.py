"""Every write in the rooms app: validate, save, audit, publish after commit."""

import json
import re
import string
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Sensitivity
from audit.services import record as audit_record
from contorl import events, ratelimits
from contorl.errors import (
    EditWindowClosed,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
    VersionConflict,
)
from contorl.storage import discarded_on_error
from contorl.versioning import versioned_update
from notifications.services import notify

from . import files as room_files
from . import payloads, presence
from .models import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    Message,
    MessageEditHistory,
    MessageType,
    Reaction,
    Role,
    Room,
    RoomFile,
    RoomMember,
    RoomTemplate,
    Severity,
)
from .permissions import require_owner, require_view, require_write

TEXT_MAX_BYTES = 10 * 1024
STRUCTURED_MAX_BYTES = 100 * 1024
CLIENT_ID_MAX = 64
EMOJI_MAX = 32
MENTION_RE = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")
USER_TYPES = {MessageType.TEXT, MessageType.IMAGE_REF, MessageType.FILE_REF, MessageType.INCIDENT_DATA}


def edit_window() -> timedelta:
    return timedelta(seconds=settings.ROOM_EDIT_WINDOW_SECONDS)


def _group(room_id: int) -> str:
    return events.room_group(room_id)


def _json_size(value) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


# --- rooms ---------------------------------------------------------------------------------
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


def _check_role(role: str) -> str:
    if role not in Role.values:
        raise ValidationFailed.field("role", _("One of %(choices)s.") % {"choices": ", ".join(Role.values)})
    return role


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
            member_add(room=room, user=user, role=role, by=by, _skip_owner_check=True)
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
    events.publish(_group(room.pk), "room_updated", payloads.room_payload(room), actor=by)
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


# --- members -------------------------------------------------------------------------------
@transaction.atomic
def member_add(*, room: Room, user, role: str, by, _skip_owner_check: bool = False) -> RoomMember:
    if not _skip_owner_check:
        require_owner(room, by)
    _check_role(role)
    if not user.is_active:
        raise ValidationFailed.field("user", _("This user is inactive."))
    if RoomMember.objects.filter(room=room, user=user).exists():
        raise ValidationFailed.field("user", _("This user is already a member."))
    member = RoomMember.objects.create(room=room, user=user, role=role)
    audit_record(
        "room.member_add", actor=by, obj=room, sensitivity=Sensitivity.MEDIUM, changes={"user": user.pk, "role": role}
    )
    events.publish(_group(room.pk), "member_added", payloads.member_payload(member), actor=by)
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
    events.publish(_group(member.room_id), "member_updated", payloads.member_payload(member), actor=by)
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
    events.publish(_group(room_id), "member_removed", data, actor=by)
    # Drop the removed user's open sockets on this room at once (after commit).
    events.control(_group(room_id), "access.revoked", user_id=user_id)


# --- templates -------------------------------------------------------------------------------
def _clean_template(fields: dict) -> dict:
    out = {}
    for name, value in fields.items():
        if name == "name":
            value = (value or "").strip()
            if not value or len(value) > 120:
                raise ValidationFailed.field("name", _("A name of 1 to 120 characters is required."))
        elif name == "title_pattern":
            value = (value or "").strip()
            if not value or len(value) > TITLE_MAX:
                raise ValidationFailed.field("title_pattern", _("1 to %(max)s characters.") % {"max": TITLE_MAX})
            if not _title_fields_ok(value):
                raise ValidationFailed.field(
                    "title_pattern", _("Use {location} and {date} only; write {{ and }} for literal braces.")
                )
        elif name == "members":
            value = _clean_template_members(value)
        elif name in ("description", "location", "severity"):
            value = _clean_room_fields({name: value})[name]
        else:
            raise ValidationFailed.field(name, _("Unknown field."))
        out[name] = value
    return out


def _clean_template_members(value) -> list[dict]:
    if not isinstance(value, list) or len(value) > 200:
        raise ValidationFailed.field("members", _("A list of at most 200 {user, role} entries."))
    out, seen = [], set()
    User = get_user_model()
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("user"), int) or isinstance(item.get("user"), bool):
            raise ValidationFailed.field("members", _("Each entry needs an integer user and a role."))
        role = item.get("role", Role.EDITOR)
        _check_role(role)
        if item["user"] in seen:
            continue
        seen.add(item["user"])
        out.append({"user": item["user"], "role": role})
    found = set(User.objects.filter(pk__in=seen).values_list("pk", flat=True))
    if seen - found:
        raise ValidationFailed.field("members", _("Unknown users: %(users)s.") % {"users": sorted(seen - found)})
    return out


@transaction.atomic
def template_create(*, by, **fields) -> RoomTemplate:
    fields = _clean_template(fields)
    if "name" not in fields or "title_pattern" not in fields:
        raise ValidationFailed(_("name and title_pattern are required."), details={"name": [_("Required.")]})
    if RoomTemplate.objects.filter(name=fields["name"]).exists():
        raise ValidationFailed.field("name", _("A template with this name exists."))
    template = RoomTemplate.objects.create(created_by=by, **fields)
    audit_record("room_template.create", actor=by, obj=template)
    return template


@transaction.atomic
def template_update(*, template: RoomTemplate, by, version: int, fields: dict) -> RoomTemplate:
    _require_template_owner(template, by)
    fields = _clean_template(fields)
    try:
        template = versioned_update(template, version=version, fields=fields, by=by)
    except VersionConflict as exc:
        if exc.instance is not None:
            exc.current_data = payloads.template_payload(exc.instance)
        raise
    audit_record("room_template.update", actor=by, obj=template)
    return template


@transaction.atomic
def template_delete(*, template: RoomTemplate, by) -> None:
    _require_template_owner(template, by)
    audit_record("room_template.delete", actor=by, obj=template)
    template.delete()


def _require_template_owner(template: RoomTemplate, by) -> None:
    if template.created_by_id != by.pk and not by.is_admin:
        raise Forbidden(_("Only the template's author or an admin can change it."))


# --- messages --------------------------------------------------------------------------------
def allocate_seq(room_id: int) -> int:
    """Next seq for the room, taken in the caller's transaction.

    The UPDATE row-locks the room's counter until commit (PostgreSQL), and SQLite's
    IMMEDIATE transactions serialise writers, so two senders can never get the same
    number; a rollback undoes the increment, so no gap is left either.
    """
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rooms_room SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq", [room_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound()
    return row[0]


def _validate_body(*, room: Room, content, message_type: str, metadata) -> tuple[str, dict]:
    if message_type not in MessageType.values:
        raise ValidationFailed.field("message_type", _("One of %(choices)s.") % {"choices": ", ".join(USER_TYPES)})
    if message_type not in USER_TYPES:
        raise ValidationFailed.field("message_type", _("System messages are posted by the server only."))
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise ValidationFailed.field("content", _("Content must be a string."))
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise ValidationFailed.field("metadata", _("Metadata must be a JSON object."))
    limit = STRUCTURED_MAX_BYTES if message_type == MessageType.INCIDENT_DATA else TEXT_MAX_BYTES
    if len(content.encode()) > limit:
        raise PayloadTooLarge(_("Message text is limited to %(kb)s KB.") % {"kb": limit // 1024})
    if _json_size(metadata) > STRUCTURED_MAX_BYTES:
        raise PayloadTooLarge(_("Structured data is limited to %(kb)s KB.") % {"kb": STRUCTURED_MAX_BYTES // 1024})
    # Stored exactly as typed (`<tag>` in a pasted PLC snippet is text): display HTML is made on
    # the way out by rooms.markdown, so nothing here may rewrite the source.
    if "\x00" in content:
        raise ValidationFailed.field("content", _("The message contains a NUL character."))
    clean = content if content.strip() else ""
    metadata = {k: v for k, v in metadata.items() if k != "mentions"}  # the server decides mentions
    if message_type in (MessageType.IMAGE_REF, MessageType.FILE_REF):
        file_id = metadata.get("file_id")
        if not isinstance(file_id, int) or isinstance(file_id, bool):
            raise ValidationFailed.field("metadata", _("file_id (integer) is required for file messages."))
        room_file = RoomFile.objects.filter(pk=file_id, room=room).first()
        if room_file is None:
            raise ValidationFailed.field("metadata", _("No such file in this room."))
        if message_type == MessageType.IMAGE_REF and not room_file.is_image:
            raise ValidationFailed.field("metadata", _("This file is not an image."))
        metadata["file"] = payloads.file_ref(room_file)
    elif message_type == MessageType.INCIDENT_DATA:
        if not isinstance(metadata.get("incident"), dict) or not metadata["incident"]:
            raise ValidationFailed.field("metadata", _("incident_data messages need a non-empty 'incident' object."))
    elif not clean:
        raise ValidationFailed.field("content", _("The message is empty."))
    return clean, metadata


def _mentions(room: Room, content: str) -> list:
    names = {m.lower() for m in MENTION_RE.findall(content)}
    if not names:
        return []
    members = RoomMember.objects.filter(room=room).select_related("user")
    return [m.user for m in members if m.user.username.lower() in names]


def message_send(
    *, room: Room, by, content="", message_type: str = MessageType.TEXT, metadata=None, client_id=None
) -> tuple[Message, bool]:
    """Store one chat message; (message, created). A retried client_id returns the original."""
    if client_id is not None and (not isinstance(client_id, str) or not 0 < len(client_id) <= CLIENT_ID_MAX):
        raise ValidationFailed.field("client_id", _("A string of 1 to %(max)s characters.") % {"max": CLIENT_ID_MAX})
    room = Room.objects.filter(pk=room.pk).first()  # fresh status; membership is checked on every send
    if room is None:
        raise NotFound()
    require_write(room, by)
    if client_id:
        existing = Message.objects.filter(sender=by, client_id=client_id).first()
        if existing is not None:
            return existing, False
    ratelimits.check_key(f"user:{by.pk}", ratelimits.CHAT)
    clean, metadata = _validate_body(room=room, content=content, message_type=message_type, metadata=metadata)
    mentioned = _mentions(room, clean)
    if mentioned:
        metadata["mentions"] = [{"id": u.pk, "username": u.username} for u in mentioned]
    try:
        message = _insert(
            room=room, by=by, content=clean, message_type=message_type, metadata=metadata, client_id=client_id
        )
    except IntegrityError:
        # Lost a race with the same client_id sent twice at once: answer with the winner.
        existing = Message.objects.filter(sender=by, client_id=client_id).first() if client_id else None
        if existing is None:
            raise
        return existing, False
    presence.typing_stop(room_id=room.pk, user=by)
    if mentioned:
        notify(
            recipients=mentioned,
            type="mention",
            title=_("%(user)s mentioned you in “%(room)s”") % {"user": by.display_name, "room": room.title},
            body=clean[:200],
            link=f"/rooms/{room.pk}/#seq-{message.seq}",
            actor=by,
            data={"room": room.pk, "message": message.pk, "seq": message.seq},
        )
    return message, True


# The room's counter row stays locked from this statement to COMMIT, so every sender to a
# room waits for the one before it. One statement (one round trip, no ORM in between) keeps
# that window as short as it can be (bench/PROFILE.md, message writes).
_INSERT_WITH_NEXT_SEQ = """
WITH counter AS (
    UPDATE rooms_room SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq
)
INSERT INTO rooms_message (version, room_id, sender_id, content, message_type, metadata, seq, client_id, created_at)
SELECT 1, %s, %s, %s, %s, %s::jsonb, counter.last_seq, %s, %s FROM counter
RETURNING id, seq
"""


def _insert_row(*, room: Room, by, content: str, message_type: str, metadata: dict, client_id) -> Message:
    if connection.vendor != "postgresql":
        # SQLite's BEGIN IMMEDIATE already serialises writers; two statements cost nothing extra.
        return Message.objects.create(
            room=room,
            sender=by,
            content=content,
            message_type=message_type,
            metadata=metadata,
            seq=allocate_seq(room.pk),
            client_id=client_id,
        )
    now = timezone.now()
    sender_id = by.pk if by is not None else None
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_WITH_NEXT_SEQ,
            [room.pk, room.pk, sender_id, content, message_type, json.dumps(metadata), client_id, now],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound()
    message = Message(
        id=row[0],
        room=room,
        sender=by,
        content=content,
        message_type=message_type,
        metadata=metadata,
        seq=row[1],
        client_id=client_id,
        created_at=now,
    )
    message._state.adding = False
    message._state.db = connection.alias
    return message


@transaction.atomic
def _insert(*, room: Room, by, content: str, message_type: str, metadata: dict, client_id, actor=None) -> Message:
    """Store one message with the room's next seq and announce it. `by` is the sender (None
    for system messages); `actor` who caused it, when that is not the sender."""
    # Counter and row in one transaction: either both happen or neither does.
    message = _insert_row(
        room=room, by=by, content=content, message_type=message_type, metadata=metadata, client_id=client_id
    )
    seq = message.seq
    message.sender = by
    events.publish(
        _group(room.pk), "message", payloads.message_payload(message, reactions=[]), actor=actor or by, seq=seq
    )
    return message


@transaction.atomic
def message_post_system(*, room: Room, content: str, by=None, metadata: dict | None = None) -> Message:
    return _insert(
        room=room,
        by=None,
        actor=by,
        content=content,
        message_type=MessageType.SYSTEM,
        metadata=metadata or {},
        client_id=None,
    )


@transaction.atomic
def message_edit(*, message: Message, by, content, version: int, metadata=None) -> Message:
    room = message.room
    require_view(room, by)
    if message.sender_id != by.pk:
        raise Forbidden(_("You can only edit your own messages."))
    if message.deleted_at is not None:
        raise NotFound()
    require_write(room, by)
    if timezone.now() - message.created_at > edit_window():
        raise EditWindowClosed()
    new_metadata = dict(message.metadata) if metadata is None else metadata
    clean, new_metadata = _validate_body(
        room=room, content=content, message_type=message.message_type, metadata=new_metadata
    )
    mentioned = _mentions(room, clean)
    if mentioned:
        new_metadata["mentions"] = [{"id": u.pk, "username": u.username} for u in mentioned]
    MessageEditHistory.objects.create(message=message, content=message.content, metadata=message.metadata, edited_by=by)
    try:
        message = versioned_update(
            message,
            version=version,
            fields={"content": clean, "metadata": new_metadata, "edited_at": timezone.now()},
            by=by,
        )
    except VersionConflict as exc:
        if exc.instance is not None:
            exc.current_data = payloads.message_payload(exc.instance)
        raise
    audit_record("room.message_edit", actor=by, obj=message, sensitivity=Sensitivity.LOW)
    events.publish(_group(room.pk), "message_edited", payloads.message_payload(message), actor=by, seq=message.seq)
    return message


@transaction.atomic
def message_delete(*, message: Message, by) -> Message:
    room = message.room
    role = require_view(room, by)
    if message.deleted_at is not None:
        raise NotFound()
    if message.sender_id != by.pk and role != Role.OWNER:
        raise Forbidden(_("You can only delete your own messages."))
    if room.status == Room.Status.ARCHIVED:
        raise Forbidden(_("This room is archived and read-only."))
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(deleted_at=now, deleted_by=by, version=F("version") + 1)
    message.refresh_from_db()
    audit_record("room.message_delete", actor=by, obj=message, sensitivity=Sensitivity.MEDIUM)
    data = {"id": message.pk, "room": room.pk, "seq": message.seq, "deleted_at": now, "version": message.version}
    events.publish(_group(room.pk), "message_deleted", data, actor=by, seq=message.seq)
    return message


# --- reactions --------------------------------------------------------------------------------
def _clean_emoji(emoji) -> str:
    if not isinstance(emoji, str):
        raise ValidationFailed.field("emoji", _("An emoji is required."))
    emoji = emoji.strip()
    if not emoji or len(emoji) > EMOJI_MAX or any(ch.isspace() or ch in "<>&\"'" for ch in emoji):
        raise ValidationFailed.field("emoji", _("One emoji (at most %(max)s characters).") % {"max": EMOJI_MAX})
    return emoji


def _reaction_frame(message: Message, emoji: str, by) -> dict:
    reactions = list(Reaction.objects.filter(message=message))
    return {
        "message_id": message.pk,
        "room": message.room_id,
        "seq": message.seq,
        "emoji": emoji,
        "user": payloads.user_brief(by),
        "reactions": payloads.reaction_summary(reactions),
    }


@transaction.atomic
def reaction_add(*, message: Message, by, emoji) -> tuple[Reaction, bool]:
    emoji = _clean_emoji(emoji)
    require_write(message.room, by)
    if message.deleted_at is not None:
        raise NotFound()
    try:
        with transaction.atomic():
            reaction = Reaction.objects.create(message=message, user=by, emoji=emoji)
    except IntegrityError:
        return Reaction.objects.get(message=message, user=by, emoji=emoji), False
    events.publish(
        _group(message.room_id), "reaction_added", _reaction_frame(message, emoji, by), actor=by, seq=message.seq
    )
    return reaction, True


@transaction.atomic
def reaction_remove(*, message: Message, by, emoji) -> None:
    emoji = _clean_emoji(emoji)
    require_write(message.room, by)
    deleted, _n = Reaction.objects.filter(message=message, user=by, emoji=emoji).delete()
    if not deleted:
        raise NotFound()
    events.publish(
        _group(message.room_id), "reaction_removed", _reaction_frame(message, emoji, by), actor=by, seq=message.seq
    )


# --- files ---------------------------------------------------------------------------------------
@transaction.atomic
def file_upload(*, room: Room, by, upload) -> RoomFile:
    require_write(room, by)
    name, content_type, ext = room_files.check_upload(upload)
    from django.core.files.storage import default_storage

    width = height = None
    thumb_name = ""
    with discarded_on_error(default_storage) as saved:
        if content_type in room_files.IMAGE_TYPES:
            thumb, width, height = room_files.make_thumbnail(upload, content_type)
            thumb_name = default_storage.save(room_files.storage_name(room.pk, ext, thumb=True), thumb)
            saved.append(thumb_name)
        stored = default_storage.save(room_files.storage_name(room.pk, ext), upload)
        saved.append(stored)
        room_file = RoomFile.objects.create(
            room=room,
            uploaded_by=by,
            file=stored,
            thumbnail=thumb_name,
            original_name=name,
            content_type=content_type,
            size=upload.size,
            width=width,
            height=height,
        )
        events.publish(_group(room.pk), "file_uploaded", payloads.file_payload(room_file), actor=by)
        audit_record("room.file_upload", actor=by, obj=room_file, sensitivity=Sensitivity.LOW, changes={"name": name})
    return room_file
