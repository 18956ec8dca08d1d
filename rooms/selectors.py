"""Reads that matter, with their joins and prefetches done."""

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from contorl.errors import ValidationFailed
from contorl.lookups import visible_or_404
from tasks.permissions import visible_tasks

from .models import Message, MessageEditHistory, Reaction, Room, RoomFile, RoomMember, RoomTemplate
from .permissions import can_view, is_admin, require_view

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
    room = visible_or_404(Room.objects.select_related("created_by"), room_id)
    return room, require_view(room, user)


def members_of(room: Room) -> QuerySet:
    return RoomMember.objects.filter(room=room).select_related("user").order_by("user__username")


def member_of(room: Room, member_id) -> RoomMember:
    return visible_or_404(RoomMember.objects.select_related("user", "room").filter(room=room), member_id)


def files_of(room: Room, *, limit: int = 100) -> list[RoomFile]:
    return list(room.files.select_related("uploaded_by")[:limit])


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
    """A message in a room the user may see, deleted ones included (edit and delete decide)."""
    qs = Message.objects.select_related("room", "sender")
    return visible_or_404(qs, message_id, may_see=lambda m: can_view(m.room_id, user))


def live_message_for(user, message_id) -> Message:
    """Like message_for, but a deleted message is NotFound too."""
    qs = Message.objects.select_related("room", "sender").filter(deleted_at__isnull=True)
    return visible_or_404(qs, message_id, may_see=lambda m: can_view(m.room_id, user))


def message_history(message: Message) -> list[MessageEditHistory]:
    return list(MessageEditHistory.objects.filter(message=message).select_related("edited_by"))


def file_for(user, file_id) -> RoomFile:
    qs = RoomFile.objects.select_related("room", "uploaded_by")
    return visible_or_404(qs, file_id, may_see=lambda f: can_view(f.room_id, user))


def templates() -> QuerySet:
    return RoomTemplate.objects.order_by("name")


def template_for(template_id) -> RoomTemplate:
    """Any signed-in user may read and open every template; only writes are restricted."""
    return visible_or_404(RoomTemplate.objects.all(), template_id)


def template_or_none(template_id) -> RoomTemplate | None:
    """For a form or body field: an unknown or malformed id is the caller's input error."""
    if not str(template_id).isdigit():
        return None
    return RoomTemplate.objects.filter(pk=template_id).first()


def active_user(*, user_id=None, username: str = ""):
    """The active user with this id, else this username; None when there is none."""
    lookup = {"pk": user_id} if user_id is not None else {"username": username}
    return get_user_model().objects.filter(is_active=True, **lookup).first()


def visible_task(user, task_id):
    """The task to link a room to, if the caller may see it; None otherwise."""
    return visible_tasks(user).filter(pk=task_id).first()
