"""Chat messages: send (the hot path), system notices, edit within the window, delete."""

import functools
import json
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Sensitivity
from audit.services import record as audit_record
from contorl import events, ratelimits
from contorl.accounts.tokens import SignedOut, signed_in_known
from contorl.errors import (
    DomainError,
    EditWindowClosed,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
    VersionConflict,
)
from contorl.prepared import PreparedLookup, numbered
from contorl.versioning import versioned_update
from notifications.services import notify

from .. import payloads, presence
from ..models import Message, MessageEditHistory, MessageType, Role, Room, RoomFile, RoomMember
from ..permissions import check_write, require_view, require_write, role_from, room_and_members

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
def allocate_seq(room_id: int, count: int = 1) -> int:
    """Next seq for the room (the last of `count` consecutive ones), taken in the caller's
    transaction.

    The UPDATE row-locks the room's counter until commit (PostgreSQL), and SQLite's
    IMMEDIATE transactions serialise writers, so two senders can never get the same
    number; a rollback undoes the increment, so no gap is left either.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE rooms_room SET last_seq = last_seq + %s WHERE id = %s RETURNING last_seq", [count, room_id]
        )
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


def _mentions(room: Room, content: str, members: list | None = None) -> list:
    """The room's members named with @username in `content`. A batch passes the member list
    it read for its first mention (`members`, filled here), so the rest read nothing."""
    names = {m.lower() for m in MENTION_RE.findall(content)}
    if not names:
        return []
    if members is None:
        members = []
    if not members:
        members.extend(m.user for m in RoomMember.objects.filter(room=room).select_related("user"))
    return [user for user in members if user.username.lower() in names]


@dataclass(frozen=True)
class ChatSend:
    """One chat send as the client wrote it, before any check."""

    by: object
    content: object = ""
    message_type: object = MessageType.TEXT
    metadata: object = None
    client_id: object = None
    # A socket's send re-checks that its sender is still signed in (contorl/consumers.py,
    # checks_sign_in), against its token's `iat` when it has one; a REST send was just
    # authenticated by its request.
    from_socket: bool = False
    issued_at: float | None = None


@dataclass
class _Accepted:
    index: int
    send: ChatSend
    content: str
    metadata: dict
    mentioned: list


def message_send(
    *, room: Room, by, content="", message_type: str = MessageType.TEXT, metadata=None, client_id=None
) -> tuple[Message, bool]:
    """Store one chat message; (message, created). A retried client_id returns the original."""
    outcome = message_send_batch(room.pk, [ChatSend(by, content, message_type, metadata, client_id)])[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def message_send_batch(room_id: int, sends: list[ChatSend]) -> list[tuple[Message, bool] | DomainError]:
    """Store the sends waiting for one room together (group commit, bench/PROFILE.md).

    Each send is checked on its own, as it would be alone: membership and room status on
    every send, client_id, rate limit, body. The accepted ones get consecutive seqs in list
    order from one statement in one transaction, and their frames leave after commit in one
    hand-off. The answer holds, per send, (message, created) or the error it would have
    raised alone: one bad send never fails the others.
    """
    outcomes: list = [None] * len(sends)
    # Fresh room status, memberships and accounts in one read: membership is checked on every send.
    room, members = room_and_members(room_id, [send.by for send in sends])
    if room is None:
        return [NotFound() for _send in sends]
    for index, still_in in enumerate(_still_signed_in(sends, members)):
        if not still_in:
            outcomes[index] = SignedOut()
    for index, send in enumerate(sends):
        if outcomes[index] is not None:
            continue
        try:
            _check_client_id(send.client_id)
            check_write(room, role_from(members, send.by))
        except DomainError as exc:
            outcomes[index] = exc
    allowed = [index for index, outcome in enumerate(outcomes) if outcome is None]
    stored = _stored_client_ids([sends[index] for index in allowed])  # only for those who may write
    first_in_batch: dict[tuple, int] = {}
    repeats: list[tuple[int, int]] = []  # (index, index of the first send with its client_id)
    counted: list[int] = []  # the sends that reach the rate limit
    for index in allowed:
        send = sends[index]
        key = (send.by.pk, send.client_id)
        if send.client_id and key in stored:  # a retry answers with the stored original
            outcomes[index] = (stored[key], False)
        elif send.client_id and key in first_in_batch:  # sent twice in one batch: shares the first's outcome
            repeats.append((index, first_in_batch[key]))
        else:
            if send.client_id:
                first_in_batch[key] = index
            counted.append(index)
    refusals = ratelimits.check_keys([f"user:{sends[i].by.pk}" for i in counted], ratelimits.CHAT)
    accepted: list[_Accepted] = []
    members: list = []  # read once, by the first send that mentions someone
    for index, refusal in zip(counted, refusals, strict=True):
        try:
            if refusal is not None:
                raise refusal
            accepted.append(_accept(room, index, sends[index], members))
        except DomainError as exc:
            outcomes[index] = exc
    for item, pair in zip(accepted, _store(room, accepted), strict=True):
        outcomes[item.index] = pair
    for index, first in repeats:
        outcomes[index] = outcomes[first] if isinstance(outcomes[first], Exception) else (outcomes[first][0], False)
    created = [item for item in accepted if outcomes[item.index][1]]
    if created:
        presence.typing_stop_many(
            room_id=room_id, users=list({item.send.by.pk: item.send.by for item in created}.values())
        )
    for item in created:
        if item.mentioned:
            _notify_mentions(room, outcomes[item.index][0], item.mentioned)
    return outcomes


def _still_signed_in(sends: list[ChatSend], members: dict) -> list[bool]:
    """For each send, is its sender still signed in (a REST send always is)? Members' accounts
    came with their memberships; anyone else (an admin acting as owner) costs one more read."""
    accounts = {pk: (member.user.is_active, member.user.tokens_valid_after) for pk, member in members.items()}
    checked = iter(signed_in_known([(s.by.pk, s.issued_at) for s in sends if s.from_socket], accounts))
    return [next(checked) if send.from_socket else True for send in sends]


def _check_client_id(client_id) -> None:
    if client_id is not None and (not isinstance(client_id, str) or not 0 < len(client_id) <= CLIENT_ID_MAX):
        raise ValidationFailed.field("client_id", _("A string of 1 to %(max)s characters.") % {"max": CLIENT_ID_MAX})


def _stored_client_ids(sends: list[ChatSend]) -> dict[tuple, Message]:
    """The messages already stored under the batch's (sender, client_id) pairs: retries."""
    pairs = {(s.by.pk, s.client_id) for s in sends if isinstance(s.client_id, str) and s.client_id}
    if not pairs:
        return {}
    senders = sorted({sender for sender, _cid in pairs})
    client_ids = sorted({cid for _sender, cid in pairs})
    found = _messages_by_client_id(len(senders), len(client_ids))(
        **numbered("sender", senders), **numbered("client_id", client_ids)
    )
    return {(m.sender_id, m.client_id): m for m in found if (m.sender_id, m.client_id) in pairs}


@functools.cache
def _messages_by_client_id(senders: int, client_ids: int) -> PreparedLookup:
    """_stored_client_ids' read for that many senders and client_ids: compiled once per shape
    (contorl.prepared), as every chat send makes it."""
    sender_names = tuple(numbered("sender", range(senders)))
    client_id_names = tuple(numbered("client_id", range(client_ids)))

    def build(**values):
        return Message.objects.filter(
            sender_id__in=[values[name] for name in sender_names],
            client_id__in=[values[name] for name in client_id_names],
        ).order_by()  # a lookup: unordered, which spares Django matching ORDER BY against every column

    return PreparedLookup(build, names=sender_names + client_id_names, text=client_id_names)


def _accept(room: Room, index: int, send: ChatSend, members: list) -> _Accepted:
    clean, metadata = _validate_body(
        room=room, content=send.content, message_type=send.message_type, metadata=send.metadata
    )
    mentioned = _mentions(room, clean, members)
    if mentioned:
        metadata["mentions"] = [{"id": u.pk, "username": u.username} for u in mentioned]
    return _Accepted(index, send, clean, metadata, mentioned)


def _store(room: Room, accepted: list[_Accepted]) -> list[tuple[Message, bool]]:
    """Insert the accepted sends in one transaction: (message, created) per send. A unique
    violation (the same client_id sent at once through another process) rolls the batch
    back; each send is then stored alone, and the one that lost answers with the winner."""
    if not accepted:
        return []
    rows = [
        _Row(
            by=a.send.by,
            content=a.content,
            message_type=a.send.message_type,
            metadata=a.metadata,
            client_id=a.send.client_id,
        )
        for a in accepted
    ]
    try:
        return [(message, True) for message in _insert(room=room, rows=rows)]
    except IntegrityError:
        if len(rows) > 1:
            return [pair for item in accepted for pair in _store(room, [item])]
        row = rows[0]
        existing = Message.objects.filter(sender=row.by, client_id=row.client_id).first() if row.client_id else None
        if existing is None:
            raise
        return [(existing, False)]


def _notify_mentions(room: Room, message: Message, mentioned: list) -> None:
    by = message.sender
    notify(
        recipients=mentioned,
        type="mention",
        title=_("%(user)s mentioned you in “%(room)s”") % {"user": by.display_name, "room": room.title},
        body=message.content[:200],
        link=f"/rooms/{room.pk}/#seq-{message.seq}",
        actor=by,
        data={"room": room.pk, "message": message.pk, "seq": message.seq},
    )


class _Row(NamedTuple):
    by: object  # the sender; None for system messages
    content: str
    message_type: str
    metadata: dict
    client_id: str | None


# The room's counter row stays locked from this statement to COMMIT, so every sender to a
# room waits for the one before it. One statement (one round trip, no ORM in between) for a
# whole batch keeps that window as short as it can be (bench/PROFILE.md, message writes):
# the counter moves by the batch's size and row k takes the k-th of its new seqs.
_INSERT_WITH_NEXT_SEQS = """
WITH counter AS (
    UPDATE rooms_room SET last_seq = last_seq + %s WHERE id = %s RETURNING last_seq
)
INSERT INTO rooms_message (version, room_id, sender_id, content, message_type, metadata, seq, client_id, created_at)
SELECT 1, %s, v.sender_id, v.content, v.message_type, v.metadata::jsonb, counter.last_seq - %s + v.ord, v.client_id, %s
FROM counter, unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[])
    WITH ORDINALITY AS v(sender_id, content, message_type, metadata, client_id, ord)
RETURNING id, seq
"""


def _insert_rows(room: Room, rows: list[_Row]) -> list[Message]:
    """The rows stored with the room's next seqs, in order."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        # SQLite's BEGIN IMMEDIATE already serialises writers; two statements cost nothing extra.
        first = allocate_seq(room.pk, len(rows)) - len(rows) + 1
        messages = [_message(room, row, seq=first + k, created_at=now) for k, row in enumerate(rows)]
        return Message.objects.bulk_create(messages)
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_WITH_NEXT_SEQS,
            [
                len(rows),
                room.pk,
                room.pk,
                len(rows),
                now,
                [row.by.pk if row.by is not None else None for row in rows],
                [row.content for row in rows],
                [row.message_type for row in rows],
                [json.dumps(row.metadata) for row in rows],
                [row.client_id for row in rows],
            ],
        )
        stored = sorted(cursor.fetchall(), key=lambda id_seq: id_seq[1])
    if not stored:
        raise NotFound()
    messages = []
    for row, (pk, seq) in zip(rows, stored, strict=True):
        message = _message(room, row, seq=seq, created_at=now, id=pk)
        message._state.adding = False
        message._state.db = connection.alias
        messages.append(message)
    return messages


def _message(room: Room, row: _Row, **fields) -> Message:
    return Message(
        room=room,
        sender=row.by,
        content=row.content,
        message_type=row.message_type,
        metadata=row.metadata,
        client_id=row.client_id,
        **fields,
    )


# Frames of one room leave a process in seq order (clients then rarely hold a message back
# waiting for a gap to fill): a send takes its room's lock from before its seq is allocated
# until its frames are handed to the layer on commit. The socket path already stores one
# batch per room at a time (rooms.consumers.ROOM_OUTBOX); this also lines up REST sends and
# system notices with it. Striped, not one lock per room: rooms sharing a stripe wait for
# each other only for one short transaction. Taken only outside a caller's transaction: there
# the frames leave at the caller's commit, and waiting here while holding its row locks could
# deadlock with a sender that holds this lock and waits for those rows.
_SEQ_ORDER = [threading.Lock() for _ in range(256)]


@contextmanager
def _in_seq_order(room_id: int):
    if connection.in_atomic_block:
        yield
        return
    with _SEQ_ORDER[room_id % len(_SEQ_ORDER)]:
        yield


def _insert(*, room: Room, rows: list[_Row], actor=None) -> list[Message]:
    """Store messages with the room's next seqs and announce them, in seq order. `actor` is
    who caused a system message (its sender is None)."""
    with _in_seq_order(room.pk):
        return _insert_and_publish(room=room, rows=rows, actor=actor)


@transaction.atomic
def _insert_and_publish(*, room: Room, rows: list[_Row], actor=None) -> list[Message]:
    # Counter and rows in one transaction: either all happen or none does.
    with events.batched():
        messages = _insert_rows(room, rows)
        for message in messages:
            events.publish(
                events.room_group(room.pk),
                "message",
                payloads.message_payload(message, reactions=[]),
                actor=actor or message.sender,
                seq=message.seq,
            )
    return messages


def message_post_system(*, room: Room, content: str, by=None, metadata: dict | None = None) -> Message:
    row = _Row(by=None, content=content, message_type=MessageType.SYSTEM, metadata=metadata or {}, client_id=None)
    return _insert(room=room, rows=[row], actor=by)[0]


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
