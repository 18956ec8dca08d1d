"""Reads that matter, with their joins and prefetches done."""

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from contorl.errors import NotFound, ValidationFailed

from .models import Message, MessageEditHistory, Reaction, Room, RoomFile, RoomMember
from .permissions import is_admin, require_view

PAGE_MAX = 200


def rooms_for(user, *, status: str = "", severity: str = "", q: str = "") -> QuerySet:
    qs = Room.objects.select_related("created_by").annotate(member_count=Count("memberships", distinct=True))
    my_role = RoomMember.objects.filter(room=OuterRef("pk"), user_id=user.pk).values("role")[:1]
    qs = qs.annotate(my_role=Subquery(my_role))
    if not is_admin(user):
        qs = qs.filter(pk__in=RoomMember.objects.filter(user_id=user.pk).values("room_id"))
    if status:
        qs = qs.filter(status__in=[s for s in status.split(",") if s][:5])
    if severity:
        qs = qs.filter(severity__in=[s for s in severity.split(",") if s][:5])
    if q:
        q = q.strip()[:200]
        qs = qs.filter(Q(title__icontains=q) | Q(location__icontains=q) | Q(description__icontains=q))
    return qs.order_by("-updated_at", "-id")


def room_for(user, room_id) -> tuple[Room, str]:
    """The room and the caller's role, or NotFound (also for rooms they may not see)."""
    try:
        room_id = int(room_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    room = Room.objects.select_related("created_by").filter(pk=room_id).first()
    if room is None:
        raise NotFound()
    return room, require_view(room, user)


def members_of(room: Room) -> QuerySet:
    return RoomMember.objects.filter(room=room).select_related("user").order_by("user__username")


def _messages(room: Room) -> QuerySet:
    return (
        Message.objects.filter(room=room)
        .select_related("sender")
        .prefetch_related(Prefetch("reactions", queryset=Reaction.objects.order_by("created_at", "id")))
    )


def _int_param(value, name: str, *, low: int, high: int, default: int | None = None) -> int | None:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed.field(name, _("A whole number is required.")) from None
    if not low <= number <= high:
        raise ValidationFailed.field(name, _("Between %(low)s and %(high)s.") % {"low": low, "high": high})
    return number


def message_page(room: Room, *, after_seq=None, before_seq=None, limit=None) -> list[Message]:
    """Live messages ordered by seq. `before_seq` pages backwards (infinite scroll)."""
    after = _int_param(after_seq, "after_seq", low=0, high=2**62)
    before = _int_param(before_seq, "before_seq", low=1, high=2**62)
    size = _int_param(limit, "limit", low=1, high=PAGE_MAX, default=50)
    qs = _messages(room).filter(deleted_at__isnull=True)
    if after is not None:
        qs = qs.filter(seq__gt=after)
    if before is not None:
        qs = qs.filter(seq__lt=before)
    if before is not None and after is None:
        return list(reversed(qs.order_by("-seq")[:size]))
    return list(qs.order_by("seq")[:size])


def messages_after(room_id: int, seq: int, *, limit: int = 500) -> list[Message]:
    """The resume replay: every message after `seq`, deleted ones as tombstones, in order."""
    return list(
        Message.objects.filter(room_id=room_id, seq__gt=seq)
        .select_related("sender")
        .prefetch_related("reactions")
        .order_by("seq")[:limit]
    )


def message_search(room: Room, q: str, *, limit: int = 50) -> list[Message]:
    return _search(_messages(room), q, limit=limit)


def message_search_all(user, q: str, *, limit: int = 50) -> list[Message]:
    """Search across the rooms the user is a member of (admins too: "my rooms", not all rooms)."""
    qs = (
        Message.objects.filter(room__in=RoomMember.objects.filter(user_id=user.pk).values("room_id"))
        .select_related("sender", "room")
        .prefetch_related(Prefetch("reactions", queryset=Reaction.objects.order_by("created_at", "id")))
    )
    return _search(qs, q, limit=limit, newest_first=("-created_at", "-id"))


def _search(qs: QuerySet, q: str, *, limit: int, newest_first=("-seq",)) -> list[Message]:
    q = (q or "").strip()
    if not q:
        raise ValidationFailed.field("q", _("A search term is required."))
    if len(q) > 200:
        raise ValidationFailed.field("q", _("At most 200 characters."))
    qs = qs.filter(deleted_at__isnull=True)
    if connection.vendor == "postgresql":
        # Words via the full-text index; CJK and fragments via the trigram index on UPPER(content).
        vector = SearchVector("content", config="simple")
        qs = qs.annotate(search=vector).filter(
            Q(search=SearchQuery(q, config="simple", search_type="plain")) | Q(content__icontains=q)
        )
    else:
        qs = qs.filter(content__icontains=q)
    return list(qs.order_by(*newest_first)[:limit])


def message_for(user, message_id) -> Message:
    try:
        message_id = int(message_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    message = Message.objects.select_related("room", "sender").filter(pk=message_id).first()
    if message is None:
        raise NotFound()
    require_view(message.room, user)
    return message


def message_history(message: Message) -> list[MessageEditHistory]:
    return list(MessageEditHistory.objects.filter(message=message).select_related("edited_by"))


def file_for(user, file_id) -> RoomFile:
    try:
        file_id = int(file_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    room_file = RoomFile.objects.select_related("room", "uploaded_by").filter(pk=file_id).first()
    if room_file is None:
        raise NotFound()
    require_view(room_file.room, user)
    return room_file
