"""Demo notifications (idempotent): a welcome note for everyone, a couple of unread items.

Their text is stored as the English source string with data["i18n"] set, so each reader sees
it in their own language (selectors.notification_payload translates it when rendering)."""

from django.utils.translation import gettext_noop as _

from .models import Notification
from .services import notify


def seed(users: dict, stdout) -> None:
    admin = users.get("admin")
    alice = users.get("alice")
    everyone = [u for u in users.values() if u is not None]
    if Notification.objects.filter(data__seed="welcome").exists():
        stdout.write("notifications: demo notifications already present")
        return
    notify(
        recipients=everyone,
        type="welcome",
        title=_("Welcome to CONTORL"),
        body=_("Your projects, incident rooms and alerts arrive here and on the bell."),
        link="/projects/",
        actor=admin,
        data={"seed": "welcome", "i18n": True},
        email=False,
    )
    others = [u for u in (users.get("bob"), users.get("carol"), users.get("dave")) if u is not None]
    notify(
        recipients=others,
        type="room_invite",
        title=_("You were added to an incident room"),
        body=_("Line 3 packaging stoppage"),
        link="/rooms/",
        actor=alice,
        data={"seed": "room_invite", "i18n": True},
        email=False,
    )
    stdout.write(f"notifications: {Notification.objects.filter(data__has_key='seed').count()} demo notifications")
