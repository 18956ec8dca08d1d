"""Notification e-mail leaves through a Celery task after commit, and retries a flaky server."""

import pytest
from django.core import mail

from notifications import services, tasks
from tests.notifications.mail_backends import FlakyBackend, RefusingBackend

pytestmark = pytest.mark.django_db

FLAKY = "tests.notifications.mail_backends.FlakyBackend"


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = FLAKY
    FlakyBackend.attempts, FlakyBackend.failures = 0, 0
    return FlakyBackend


@pytest.fixture
def wants(make_user):
    return make_user("wants", email_notifications=True)


def test_the_request_thread_only_queues_the_email(wants, django_capture_on_commit_callbacks, _eager_celery):
    """Not eager, as with a broker: committing enqueues one task per e-mail and sends nothing."""
    queued = []
    _eager_celery.conf.task_always_eager = False
    original = tasks.send_email.apply_async
    tasks.send_email.apply_async = lambda args=None, kwargs=None, **options: queued.append(args)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            [n] = services.notify(recipients=[wants], type="mention", title="@wants look")
            assert queued == []  # nothing before the commit
    finally:
        tasks.send_email.apply_async = original
    assert queued == [(n.pk,)]
    assert mail.outbox == []
    # A worker then runs it:
    assert tasks.send_email.apply(args=(n.pk,)).get() is True
    assert [m.to for m in mail.outbox] == [["wants@example.com"]]
    assert mail.outbox[0].subject == "[CONTORL] @wants look"


def test_eager_delivery_sends_after_commit(wants, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[wants], type="mention", title="hello", body="Line 3 is down", link="/rooms/4/")
        assert mail.outbox == []
    assert len(mail.outbox) == 1
    assert mail.outbox[0].body.startswith("Line 3 is down") and "/rooms/4/" in mail.outbox[0].body


def test_a_failing_server_is_retried_until_it_delivers(flaky, wants, django_capture_on_commit_callbacks):
    flaky.failures = 3
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[wants], type="audit_alert", title="Critical", email=True)
    assert flaky.attempts == 4
    assert [m.subject for m in mail.outbox] == ["[CONTORL] Critical"]


def test_retries_end_and_the_notification_stays(flaky, wants, django_capture_on_commit_callbacks):
    from notifications.models import Notification

    flaky.failures = 100
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[wants], type="audit_alert", title="Critical", email=True)
    assert flaky.attempts == tasks.MAX_RETRIES + 1
    assert mail.outbox == []
    assert Notification.objects.filter(recipient=wants, title="Critical").exists()


def test_a_refused_address_is_not_retried(settings, wants, make_user, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.notifications.mail_backends.RefusingBackend"
    RefusingBackend.attempts = 0
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[wants], type="mention", title="hi")
    assert RefusingBackend.attempts == 1


def test_one_failing_address_does_not_hold_up_the_others(flaky, make_user, django_capture_on_commit_callbacks):
    people = [make_user(f"p{i}", email_notifications=True) for i in range(3)]
    flaky.failures = 1  # the first send fails once, then all go
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=people, type="mention", title="all hands")
    assert sorted(m.to[0] for m in mail.outbox) == ["p0@example.com", "p1@example.com", "p2@example.com"]


def test_backoff_grows_and_is_capped():
    from celery.utils.time import get_exponential_backoff_interval

    steps = [
        get_exponential_backoff_interval(
            factor=tasks.BACKOFF_FACTOR, retries=r, maximum=tasks.BACKOFF_MAX, full_jitter=False
        )
        for r in range(tasks.MAX_RETRIES + 4)
    ]
    assert steps[:4] == [5, 10, 20, 40] and max(steps) == tasks.BACKOFF_MAX
