"""The one service other apps call to notify people, and marking notifications read.

Live delivery: after the creating transaction commits, each recipient's sockets (group
`events.user_group(id)`) get `{"type":"notification","data":{...,"unread_count":n}}`.
Marking read pushes `{"type":"unread_count","data":{"count":n,"read":[ids]|"all"}}` to
every open tab of that user. Counts are taken after commit, so they are never ahead of
what a reload would show.
"""

import logging
import re

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from contorl import events
from contorl.errors import NotFound, ValidationFailed

from . import selectors
from .models import Notification

log = logging.getLogger("contorl.notifications")

_TYPE = re.compile(r"^[a-z][a-z0-9_.]{0,39}$")


def _check_link(link: str) -> str:
    # Links end up in href attributes: only same-site paths or http(s) URLs, never
    # javascript: or protocol-relative ones.
    link = (link or "").strip()
    if not link:
        return ""
    if len(link) > 500:
        raise ValidationFailed.field("link", "Ensure this field has no more than 500 characters.")
    if (link.startswith("/") and not link.startswith("//")) or re.match(r"^https?://", link):
        return link
    raise ValidationFailed.field("link", "Links must be a site path (/...) or an http(s) URL.")


def notify(
    *,
    recipients,
    type: str,
    title: str,
    body: str = "",
    link: str = "",
    actor=None,
    data=None,
    email: bool | None = None,
) -> list[Notification]:
    """Notify each recipient once (never the actor). `email`: None = each user's preference,
    True = always (critical alerts), False = never. Returns the created notifications."""
    if not _TYPE.match(type or ""):
        raise ValidationFailed.field("type", "Use a short lowercase identifier such as 'mention'.")
    title = (title or "").strip()[:200]
    if not title:
        raise ValidationFailed.field("title", "This field may not be blank.")
    link = _check_link(link)
    actor_id = getattr(actor, "pk", None)
    seen: set[int] = set()
    people = []
    for user in recipients or []:
        if user is None or user.pk is None or user.pk == actor_id or user.pk in seen:
            continue
        if not getattr(user, "is_active", True):
            continue
        seen.add(user.pk)
        people.append(user)
    if not people:
        return []
    now = timezone.now()
    created = Notification.objects.bulk_create(
        [
            Notification(
                recipient=user,
                type=type,
                title=title,
                body=(body or "")[:2000],
                link=link,
                actor=actor if actor_id else None,
                data=data or {},
                created_at=now,
            )
            for user in people
        ]
    )
    ids = [n.pk for n in created]
    mail_ids = [
        n.pk
        for n, u in zip(created, people, strict=True)
        if u.email and (email is True or (email is None and u.email_notifications))
    ]
    transaction.on_commit(lambda: _deliver(ids), robust=True)
    if mail_ids:
        transaction.on_commit(lambda: _queue_emails(mail_ids), robust=True)
    log.info("notify %s to %d people", type, len(people), extra={"type": type, "recipients": [u.pk for u in people]})
    return created


def _deliver(ids: list[int]) -> None:
    notifications = list(Notification.objects.filter(pk__in=ids).select_related("actor"))
    counts = selectors.unread_counts({n.recipient_id for n in notifications})
    for n in notifications:
        payload = selectors.notification_payload(n)
        payload["unread_count"] = counts.get(n.recipient_id, 0)
        events.publish(events.user_group(n.recipient_id), "notification", payload, actor=n.actor)


def _queue_emails(ids: list[int]) -> None:
    """One Celery task per e-mail (notifications/tasks.py), so a slow or failing SMTP server
    never holds up the request or socket that notified, and one bad address retries alone."""
    from .tasks import send_email

    for notification_id in ids:
        try:
            send_email.delay(notification_id)
        except Exception:  # broker down, or (eager) retries used up: the notification is stored
            log.exception("notification email not queued", extra={"notification": notification_id})


def notification_email_send(*, notification_id: int) -> bool:
    """Send one notification by e-mail to its recipient (the Celery task calls this).
    Raises the backend's error so the task can retry; False when there is nothing to send."""
    n = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if n is None or not n.recipient.email or not n.recipient.is_active:
        return False
    base = settings.SITE_URL.rstrip("/")
    text = n.body or n.title
    if n.link:
        text += "\n\n" + (base + n.link if n.link.startswith("/") else n.link)
    message = EmailMessage(subject=f"[CONTORL] {n.title}", body=text, to=[n.recipient.email])
    get_connection(fail_silently=False).send_messages([message])
    return True


def _push_count(user_id: int, read) -> None:
    def send():
        events.publish(
            events.user_group(user_id), "unread_count", {"count": selectors.unread_count(user_id), "read": read}
        )

    transaction.on_commit(send, robust=True)


@transaction.atomic
def notification_mark_read(*, notification_id: int, user) -> Notification:
    """Mark one of the user's notifications read (idempotent); other users' ids are 404."""
    notification = Notification.objects.select_related("actor").filter(pk=notification_id, recipient=user).first()
    if notification is None:
        raise NotFound()
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
        _push_count(user.pk, [notification.pk])
    return notification


@transaction.atomic
def notification_mark_all_read(*, user) -> int:
    """Mark everything read; returns how many changed. Every open tab hears the new count."""
    changed = Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
    _push_count(user.pk, "all")
    return changed
