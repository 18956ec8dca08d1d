"""Chat messages: send (the hot path), system notices, edit within the window, delete."""

import json
import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Sensitivity
from audit.services import record as audit_record
from contorl import events, ratelimits
from contorl.errors import EditWindowClosed, Forbidden, NotFound, PayloadTooLarge, ValidationFailed, VersionConflict
from contorl.versioning import versioned_update
from notifications.services import notify

from .. import payloads, presence
from ..models import Message, MessageEditHistory, MessageType, Role, Room, RoomFile, RoomMember
from ..permissions import require_view, require_write

TEXT_MAX_BYTES = 10 * 1024
STRUCTURED_MAX_BYTES = 100 * 1024
CLIENT_ID_MAX = 64
MENTION_RE = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")
USER_TYPES = {MessageType.TEXT, MessageType.IMAGE_REF, MessageType.FILE_REF, MessageType.INCIDENT_DATA}


def edit_window() -> timedelta:
    return timedelta(seconds=settings.ROOM_EDIT_WINDOW_SECONDS)


def _json_size(value) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


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
        events.room_group(room.pk),
        "message",
        payloads.message_payload(message, reactions=[]),
        actor=actor or by,
        seq=seq,
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
    events.publish(
        events.room_group(room.pk), "message_edited", payloads.message_payload(message), actor=by, seq=message.seq
    )
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
    events.publish(events.room_group(room.pk), "message_deleted", data, actor=by, seq=message.seq)
    return message
