"""Failed sign-ins are rate limited (sensitive tier) and land in the real audit table."""

import pytest

from audit.models import AuditLog

from .conftest import fresh_rate_window

pytestmark = pytest.mark.django_db


def test_failed_browser_sign_ins_are_audited_then_rate_limited(client, user, settings):
    settings.RATELIMIT_SENSITIVE = "3/h"
    fresh_rate_window("ip:198.51.100.9", period=3600, room=30)

    codes = [
        client.post("/accounts/login/", {"username": user.username, "password": "nope"}, REMOTE_ADDR="198.51.100.9")
        for _ in range(4)
    ]

    assert [response.status_code for response in codes] == [200, 200, 200, 429]
    assert int(codes[-1]["Retry-After"]) >= 1
    failures = AuditLog.objects.filter(event_type="auth.login_failed").order_by("id")
    assert failures.count() == 3  # the refused 4th attempt never reached the password check
    entry = failures.first()
    assert entry.actor_id is None and entry.sensitivity == "medium"
    assert entry.changes == {"username": user.username, "ip": "198.51.100.9"}
    assert entry.ip == "198.51.100.9"


def test_failed_token_requests_are_audited_then_rate_limited(anon_api, user, settings):
    settings.RATELIMIT_SENSITIVE = "2/h"
    fresh_rate_window(period=3600, room=30)

    codes = [anon_api.post("/api/auth/token/", {"username": user.username, "password": "nope"}) for _ in range(3)]

    assert [response.status_code for response in codes] == [401, 401, 429]
    assert codes[-1].json()["error"]["code"] == "rate_limited"
    assert AuditLog.objects.filter(event_type="auth.login_failed", object_id=user.username).count() == 2


def test_the_django_admin_sign_in_is_audited_and_rate_limited_too(client, admin_user, settings):
    settings.RATELIMIT_SENSITIVE = "3/h"
    fresh_rate_window("ip:198.51.100.23", period=3600, room=30)
    form = {"username": admin_user.username, "password": "guess", "next": "/admin/"}

    codes = [client.post("/admin/login/", form, REMOTE_ADDR="198.51.100.23").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    failures = AuditLog.objects.filter(event_type="auth.login_failed", object_id=admin_user.username)
    assert failures.count() == 3 and {e.ip for e in failures} == {"198.51.100.23"}
    page = client.get("/admin/login/")
    assert page.status_code == 200 and b"id_password" in page.content  # reading the form is not limited


def test_the_audit_chain_still_verifies_after_sign_in_traffic(
    client, user, password, admin_api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # rows are sealed after commit
        client.post("/accounts/login/", {"username": user.username, "password": "nope"})
        client.post("/accounts/login/", {"username": user.username, "password": password})
        client.post("/accounts/sessions/sign-out-others/")

    verdict = admin_api.get("/api/audit-logs/verify/").json()
    assert verdict["ok"] is True and verdict["checked"] >= 1 and verdict["unsealed"]["count"] == 0
