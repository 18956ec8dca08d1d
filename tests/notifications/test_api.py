"""REST: list (?unread=), unread-count, read one, read-all; the notifications page."""

import pytest

from notifications.models import Notification
from tests.notifications.factories import NotificationFactory, read

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(user, other_user):
    items = [NotificationFactory(recipient=user, actor=other_user) for _ in range(4)]
    read(items[0])
    NotificationFactory(recipient=other_user, title="olga's")
    return items


def test_list_is_own_newest_first_with_unread_filter(api, inbox, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        body = api.get("/api/notifications/").json()
    assert body["count"] == 4 and [r["id"] for r in body["results"]] == [n.pk for n in reversed(inbox)]
    first = body["results"][0]
    assert set(first) >= {"id", "type", "title", "body", "link", "actor", "data", "read_at", "is_read", "created_at"}
    assert first["actor"]["username"] == "olga" and first["is_read"] is False
    unread = api.get("/api/notifications/", {"unread": "true"}).json()
    assert unread["count"] == 3 and all(not r["is_read"] for r in unread["results"])
    assert api.get("/api/notifications/", {"unread": "false"}).json()["count"] == 1
    assert api.get("/api/notifications/", {"unread": "maybe"}).status_code == 400


def test_unread_count_read_and_read_all(api, inbox):
    assert api.get("/api/notifications/unread-count/").json() == {"count": 3}
    response = api.post(f"/api/notifications/{inbox[1].pk}/read/")
    assert response.status_code == 200 and response.json()["is_read"] is True
    assert api.get("/api/notifications/unread-count/").json() == {"count": 2}
    assert api.post("/api/notifications/read-all/").json() == {"marked": 2, "count": 0}
    assert Notification.objects.filter(recipient__username="olga", read_at__isnull=True).count() == 1


def test_someone_elses_notification_is_404(api, other_user):
    theirs = NotificationFactory(recipient=other_user)
    response = api.post(f"/api/notifications/{theirs.pk}/read/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_anonymous_is_401(anon_api):
    assert anon_api.get("/api/notifications/").status_code == 401
    assert anon_api.get("/api/notifications/unread-count/").status_code == 401


def test_page_filters_and_open_marks_read_and_follows_the_link(client, user, inbox):
    client.force_login(user)
    html = client.get("/notifications/").content.decode()
    assert html.count('class="card notif-item') == 4 and 'id="notif-read-all"' in html
    unread_html = client.get("/notifications/", {"filter": "unread"}).content.decode()
    assert unread_html.count('class="card notif-item') == 3
    response = client.post(f"/notifications/{inbox[2].pk}/open/")
    assert response.status_code == 302 and response["Location"] == inbox[2].link
    assert Notification.objects.get(pk=inbox[2].pk).read_at is not None
    response = client.post("/notifications/read-all/")
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    assert "You are all caught up." in client.get("/notifications/?filter=unread").content.decode()


def test_page_needs_login(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_bell_script_is_served(client, user):
    client.force_login(user)
    html = client.get("/notifications/").content.decode()
    assert "/static/js/notifications.js" in html and 'id="bell-count"' in html


def test_page_in_traditional_chinese(client, user, inbox):
    client.force_login(user)
    client.cookies["django_language"] = "zh-hant"
    html = client.get("/notifications/").content.decode()
    assert "全部標為已讀" in html and "未讀（3）" in html


def test_users_choose_email_delivery_themselves(api, user):
    me = api.get("/api/users/me/").json()
    assert me["email_notifications"] is False
    r = api.patch("/api/users/me/", {"version": me["version"], "email_notifications": True}, format="json")
    assert r.status_code == 200 and r.json()["email_notifications"] is True
    stale = api.patch("/api/users/me/", {"version": me["version"], "email_notifications": False}, format="json")
    assert stale.status_code == 409
    assert api.patch("/api/users/me/", {"email_notifications": False}, format="json").status_code == 400
    bad = api.patch("/api/users/me/", {"version": r.json()["version"], "email_notifications": "yes please"})
    assert bad.status_code == 400 and "email_notifications" in bad.json()["error"]["details"]
    # Other fields are not yours to change here.
    r2 = api.patch("/api/users/me/", {"version": r.json()["version"], "email_notifications": True, "role": "manager"})
    user.refresh_from_db()
    assert r2.status_code == 200 and user.role != "manager" and user.email_notifications is True


def test_the_notifications_page_toggles_email_delivery(client, user):
    client.force_login(user)
    page = client.get("/notifications/").content.decode()
    assert 'id="notif-email"' in page and "checked" not in page.split('id="notif-email"')[1].split(">")[0]
    r = client.post("/notifications/preferences/", {"version": user.version, "email_notifications": "on"})
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.email_notifications is True
    r = client.post("/notifications/preferences/", {"version": 1})  # stale: nothing changes, a message says so
    user.refresh_from_db()
    assert user.email_notifications is True
    assert "changed elsewhere" in client.get("/notifications/").content.decode()
