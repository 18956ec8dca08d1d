import io

import pytest

pytestmark = pytest.mark.django_db


def test_login_page_in_traditional_chinese(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-Hant")
    assert response.status_code == 200
    html = response.content.decode()
    assert "登入 CONTORL" in html and "使用者名稱" in html
    assert 'lang="zh-hant"' in html


def test_language_switcher_persists_the_choice(client, user):
    client.force_login(user)
    response = client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert "儀表板" in html and "專案" in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Dashboard" in client.get("/").content.decode()


def test_dashboard_shell_has_the_menu_and_an_empty_state(client, user):
    client.force_login(user)
    html = client.get("/").content.decode()
    assert 'id="nav-toggle"' in html and 'aria-controls="sidebar"' in html
    assert 'id="bell-count"' in html
    assert "Nothing here yet" in html or "card" in html


def test_anonymous_dashboard_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_pages_send_security_headers(client):
    response = client.get("/accounts/login/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Request-ID"]


def test_request_id_is_echoed_when_safe(client):
    assert client.get("/health/live", HTTP_X_REQUEST_ID="abc-123").headers["X-Request-ID"] == "abc-123"
    assert client.get("/health/live", HTTP_X_REQUEST_ID="<script>").headers["X-Request-ID"] != "<script>"


def test_seed_demo_is_idempotent():
    from django.core.management import call_command

    from contorl.accounts.models import Department, User

    call_command("seed_demo", stdout=io.StringIO())
    counts = (User.objects.count(), Department.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (User.objects.count(), Department.objects.count()) == counts
    assert User.objects.get(username="admin").is_admin
    assert User.objects.get(username="alice").check_password("contorl-demo")
