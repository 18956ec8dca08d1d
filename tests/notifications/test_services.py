"""notify(): who gets what, never the actor, counts, email preference, only after commit."""

import pytest
from django.core import mail

from contorl.errors import ValidationFailed
from notifications import selectors, services
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(make_user):
    return make_user("carol")


def test_notify_creates_one_row_per_recipient_and_never_the_actor(user, carol, other_user):
    created = services.notify(
        recipients=[user, carol, carol, None, other_user],
        type="mention",
        title="carol mentioned you",
        body="@bob look",
        link="/rooms/3/",
        actor=other_user,
        data={"room": 3},
    )
    assert sorted(n.recipient.username for n in created) == ["bob", "carol"]
    assert Notification.objects.filter(recipient=other_user).count() == 0
    n = Notification.objects.get(recipient=user)
    assert (n.type, n.title, n.body, n.link, n.actor, n.data, n.read_at) == (
        "mention",
        "carol mentioned you",
        "@bob look",
        "/rooms/3/",
        other_user,
        {"room": 3},
        None,
    )


def test_only_the_actor_means_nothing_is_created(user):
    assert services.notify(recipients=[user], type="assignment", title="You assigned yourself", actor=user) == []
    assert Notification.objects.count() == 0


def test_inactive_users_are_skipped(user, make_user):
    gone = make_user("gone", is_active=False)
    assert [n.recipient for n in services.notify(recipients=[user, gone], type="due_soon", title="Due")] == [user]


def test_counts_and_marking_read(user):
    for i in range(3):
        services.notify(recipients=[user], type="due_soon", title=f"Due {i}")
    assert selectors.unread_count(user.pk) == 3
    first = Notification.objects.filter(recipient=user).last()
    services.notification_mark_read(notification_id=first.pk, user=user)
    services.notification_mark_read(notification_id=first.pk, user=user)  # idempotent
    assert selectors.unread_count(user.pk) == 2
    assert services.notification_mark_all_read(user=user) == 2
    assert selectors.unread_count(user.pk) == 0


@pytest.mark.parametrize("link", ["javascript:alert(1)", "//evil.example/x", "data:text/html,hi"])
def test_unsafe_links_are_refused(user, link):
    with pytest.raises(ValidationFailed):
        services.notify(recipients=[user], type="mention", title="x", link=link)


def test_bad_type_and_blank_title_are_refused(user):
    with pytest.raises(ValidationFailed):
        services.notify(recipients=[user], type="Not A Type", title="x")
    with pytest.raises(ValidationFailed):
        services.notify(recipients=[user], type="mention", title="   ")


@pytest.fixture
def memory_layer(settings):
    # This test drives the layer from sync code (a new event loop per call), which the
    # Redis layer does not allow; ordering, not transport, is what it checks.
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield channel_layers["default"]
    channel_layers.backends.clear()


def test_frames_go_out_only_after_commit(user, django_capture_on_commit_callbacks, memory_layer):
    import asyncio
    import json

    from asgiref.sync import async_to_sync

    layer = memory_layer
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"user.{user.pk}", channel)

    async def receive(timeout):
        try:
            return await asyncio.wait_for(layer.receive(channel), timeout)
        except TimeoutError:
            return None

    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[user], type="mention", title="hi")
        assert async_to_sync(receive)(0.1) is None  # not before the commit
    frame = json.loads(async_to_sync(receive)(2)["text"])
    assert frame["type"] == "notification" and frame["event_id"]
    assert frame["data"]["title"] == "hi" and frame["data"]["unread_count"] == 1


def test_email_follows_the_users_preference(make_user, django_capture_on_commit_callbacks):
    wants = make_user("wants", email_notifications=True)
    quiet = make_user("quiet", email_notifications=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[wants, quiet], type="assignment", title="You got a task", link="/projects/2/")
    assert [m.to for m in mail.outbox] == [["wants@example.com"]]
    assert "You got a task" in mail.outbox[0].subject and "/projects/2/" in mail.outbox[0].body
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[wants, quiet], type="audit_alert", title="Critical", email=True)
    assert sorted(m.to[0] for m in mail.outbox) == ["quiet@example.com", "wants@example.com"]


def test_rolled_back_notify_sends_nothing(user, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                services.notify(recipients=[user], type="mention", title="hi")
                raise RuntimeError
        except RuntimeError:
            pass
    assert callbacks == [] and Notification.objects.count() == 0
