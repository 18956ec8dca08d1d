"""Reads of notifications (always scoped to one recipient)."""

from django.db.models import Count, QuerySet

from contorl.payloads import user_brief

from .models import Notification

REPLAY_LIMIT = 20  # unread items sent on connect; the count covers the rest


def notifications_for(user, *, unread: bool | None = None) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=user).select_related("actor")
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    return qs.order_by("-created_at", "-id")


def unread_count(user_id: int) -> int:
    return Notification.objects.filter(recipient_id=user_id, read_at__isnull=True).count()


def unread_counts(user_ids) -> dict[int, int]:
    rows = (
        Notification.objects.filter(recipient_id__in=list(user_ids), read_at__isnull=True)
        .values("recipient_id")
        .annotate(n=Count("id"))
    )
    counts = {uid: 0 for uid in user_ids}
    counts.update({row["recipient_id"]: row["n"] for row in rows})
    return counts


def unread_snapshot(user_id: int) -> dict:
    """What a socket gets on connect: the count and the newest unread items."""
    items = list(
        Notification.objects.filter(recipient_id=user_id, read_at__isnull=True)
        .select_related("actor")
        .order_by("-created_at", "-id")[:REPLAY_LIMIT]
    )
    return {"count": unread_count(user_id), "items": [notification_payload(n) for n in items]}


def notification_payload(n: Notification) -> dict:
    """The one representation of a notification (REST, WebSocket, templates)."""
    actor = n.actor
    return {
        "id": n.pk,
        "type": n.type,
        "title": n.shown_title,  # in the reader's language where the text allows (Notification._shown)
        "body": n.shown_body,
        "link": n.link,
        "data": n.data,
        "actor": user_brief(actor),
        "read_at": n.read_at,
        "is_read": n.read_at is not None,
        "created_at": n.created_at,
    }
