"""Role and admin changes: event types, sensitivities, and the critical alert reaching admins live."""

import time

import pytest
from channels.db import database_sync_to_async
from django.core import mail

from audit.models import AuditLog
from notifications.models import Notification
from tests.notifications.helpers import connect, next_of


@pytest.fixture(autouse=True)
def _eager_celery():
    """The admins' alert e-mail goes out through a Celery task: run it in-process (the
    PostgreSQL pass sets REDIS_URL, which would queue it for a worker these tests do not run)."""
    from contorl.celery import app

    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = old


@pytest.mark.django_db
def test_role_patch_is_a_high_user_role_change(admin_api, user, admin_user):
    response = admin_api.patch(f"/api/users/{user.pk}/", {"role": "manager", "version": user.version})
    assert response.status_code == 200
    entry = AuditLog.objects.get(event_type="user.role_change")
    assert entry.sensitivity == "high" and entry.actor_id == admin_user.pk
    assert (entry.object_type, entry.object_id) == ("accounts.user", str(user.pk))
    assert entry.changes == {"role": ["engineer", "manager"]}
    assert Notification.objects.filter(type="audit_alert").count() == 0  # high is not critical


@pytest.mark.django_db
def test_admin_change_in_django_admin_goes_through_the_service(client, admin_user, user, make_user):
    superuser = make_user("super", is_superuser=True, is_staff=True)
    client.force_login(superuser)
    form = client.get(f"/admin/accounts/user/{user.pk}/change/").context["adminform"].form
    data = {
        k: v for k, v in form.initial.items() if v is not None and k not in ("password", "groups", "user_permissions")
    }
    data.update(
        {
            "department": user.department_id,
            "role": "supervisor",
            "is_system_admin": "on",
            "is_active": "on",
            "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
            "weekly_capacity_hours": "40",
        }
    )
    data.pop("last_login", None)
    data.pop("is_staff", None)
    data.pop("is_superuser", None)
    data.pop("is_department_manager", None)
    data.pop("email_notifications", None)
    data.pop("date_joined", None)
    response = client.post(f"/admin/accounts/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    user.refresh_from_db()
    assert user.role == "supervisor" and user.is_system_admin and user.is_staff
    events = dict(AuditLog.objects.values_list("event_type", "sensitivity"))
    assert events["user.role_change"] == "high" and events["user.admin_change"] == "critical"
    assert AuditLog.objects.get(event_type="user.admin_change").changes == {"is_system_admin": [False, True]}


@pytest.mark.django_db(transaction=True)
async def test_critical_admin_change_reaches_every_admin_socket_within_a_second(api_for, make_user):
    actor = await database_sync_to_async(make_user)("root", is_system_admin=True, is_staff=True)
    ada = await database_sync_to_async(make_user)("ada", is_system_admin=True, email="ada@example.com")
    sam = await database_sync_to_async(make_user)("sam", is_superuser=True, email="sam@example.com")
    bob = await database_sync_to_async(make_user)("bob")
    sockets = {u.username: await connect(u) for u in (ada, sam, bob)}
    for comm in sockets.values():
        assert (await next_of(comm, "unread"))["data"]["count"] == 0

    started = time.monotonic()
    response = await database_sync_to_async(api_for(actor).patch)(
        f"/api/users/{bob.pk}/admin/", {"is_system_admin": True, "version": bob.version}
    )
    assert response.status_code == 200
    for name in ("ada", "sam"):
        frame = await next_of(sockets[name], "notification", timeout=1.0)
        assert time.monotonic() - started < 1.5  # the PATCH itself plus delivery
        assert frame["data"]["type"] == "audit_alert" and frame["data"]["unread_count"] == 1
        assert frame["data"]["data"]["event_type"] == "user.admin_change"
        assert frame["data"]["actor"]["username"] == "root"
    entry = await database_sync_to_async(AuditLog.objects.get)(event_type="user.admin_change")
    assert entry.sensitivity == "critical" and entry.object_id == str(bob.pk)
    # bob was made an admin by this very change, so he is told as well; root (the actor) is not.
    assert await database_sync_to_async(Notification.objects.filter(recipient__username="root").count)() == 0
    assert {m.to[0] for m in mail.outbox} >= {"ada@example.com", "sam@example.com"}
    for comm in sockets.values():
        await comm.disconnect()


@pytest.mark.django_db
def test_revoking_admin_is_critical_and_emails_admins_after_commit(
    admin_api, make_user, django_capture_on_commit_callbacks
):
    other = make_user("ada", is_system_admin=True, email="ada@example.com")
    victim = make_user("eve", is_system_admin=True, is_staff=True)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_api.patch(
            f"/api/users/{victim.pk}/admin/", {"is_system_admin": False, "version": victim.version}
        )
        assert mail.outbox == []  # nothing leaves before the commit
    assert response.status_code == 200 and callbacks
    victim.refresh_from_db()
    assert not victim.is_system_admin and not victim.is_staff
    entry = AuditLog.objects.get(event_type="user.admin_change")
    assert entry.sensitivity == "critical" and entry.changes == {"is_system_admin": [True, False]}
    assert Notification.objects.filter(recipient=other, type="audit_alert").count() == 1
    assert "ada@example.com" in {m.to[0] for m in mail.outbox}
    assert "user.admin_change" in mail.outbox[0].subject
