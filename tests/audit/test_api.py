"""GET /api/audit-logs/ (filters, CSV), /verify/, the /audit/ page and the read-only admin."""

import csv
import io

import pytest
from django.contrib.admin.sites import site
from django.utils import timezone

from audit import services as audit
from audit.models import AuditLog, Sensitivity
from tests.audit.factories import make_entries
from tests.audit.helpers import raw, triggers_off

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(user, admin_user):
    make_entries(3, actor=user, event_type="task.update", object_type="tasks.task", object_id=7)
    audit.record("task.delete", actor=admin_user, sensitivity=Sensitivity.HIGH, object_type="tasks.task", object_id=8)
    audit.record("user.admin_change", actor=admin_user, obj=user, sensitivity=Sensitivity.CRITICAL)
    audit.seal_pending()
    return AuditLog.objects.order_by("id")


def test_non_admins_are_refused(api, anon_api, trail):
    assert api.get("/api/audit-logs/").status_code == 403
    assert api.get("/api/audit-logs/verify/").status_code == 403
    assert anon_api.get("/api/audit-logs/").status_code == 401


def test_list_and_filters(admin_api, trail, user, admin_user, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        body = admin_api.get("/api/audit-logs/").json()
    assert body["count"] == 5 and body["results"][0]["event_type"] == "user.admin_change"
    assert body["results"][0]["actor"]["username"] == admin_user.username
    assert {"seq", "hash", "prev_hash", "changes", "request_id", "ip", "created_at"} <= set(body["results"][0])
    assert body["results"][0]["seq"] == 5 and len(body["results"][0]["hash"]) == 64

    def ids(**params):
        return {r["id"] for r in admin_api.get("/api/audit-logs/", params).json()["results"]}

    assert len(ids(event_type="task.update")) == 3
    assert len(ids(event_type="task.")) == 4
    assert len(ids(sensitivity="high,critical")) == 2
    assert len(ids(actor=user.pk)) == 3
    assert len(ids(object_type="tasks.task", object_id="8")) == 1
    today = timezone.localdate().isoformat()
    assert len(ids(created_after=today, created_before=today)) == 5
    assert ids(created_before="2000-01-01") == set()
    bad = admin_api.get("/api/audit-logs/", {"sensitivity": "urgent"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"


def test_csv_export_streams_every_matching_row(admin_api, trail):
    response = admin_api.get("/api/audit-logs/", {"format": "csv", "event_type": "task."})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4 and {r["event_type"] for r in rows} == {"task.update", "task.delete"}
    assert all(len(r["hash"]) == 64 for r in rows)


def test_csv_export_is_heavy_tier(admin_api, trail, settings):
    settings.RATELIMIT_HEAVY = "2/m"
    codes = [admin_api.get("/api/audit-logs/", {"format": "csv"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_verify_endpoint(admin_api, trail, user):
    audit.record("task.update", actor=user)  # not sealed yet
    body = admin_api.get("/api/audit-logs/verify/").json()
    assert body["ok"] is True and body["checked"] == 5 and body["triggers"] == "ok"
    assert body["unsealed"]["count"] == 1 and body["anchor"]["status"] == "missing"
    victim = trail[1]
    with triggers_off():
        raw("UPDATE audit_auditlog SET object_id = %s WHERE id = %s", ["999", victim.pk])
    body = admin_api.get("/api/audit-logs/verify/").json()
    assert body["ok"] is False and body["checked"] == 1 and body["broken"]["id"] == victim.pk


def test_audit_page_is_for_admins_only(client, user, admin_user, trail, password):
    client.force_login(user)
    assert client.get("/audit/").status_code == 403
    client.force_login(admin_user)
    page = client.get("/audit/", {"event_type": "task.delete"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<code>task.delete</code>" in html and "<code>task.update</code>" not in html
    assert 'id="audit-verify"' in html and "format=csv" in html


def test_admin_offers_no_add_change_or_delete(client, make_user, trail):
    superuser = make_user("super", is_superuser=True, is_staff=True)
    client.force_login(superuser)
    model_admin = site._registry[AuditLog]
    request = type("R", (), {"user": superuser})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, trail[0])
    assert not model_admin.has_delete_permission(request, trail[0])
    changelist = client.get("/admin/audit/auditlog/")
    assert changelist.status_code == 200
    html = changelist.content.decode()
    assert "/admin/audit/auditlog/add/" not in html and "delete_selected" not in html
    assert client.get("/admin/audit/auditlog/add/").status_code == 403
    entry = trail[0]
    view = client.get(f"/admin/audit/auditlog/{entry.pk}/change/")
    assert view.status_code == 200 and 'name="_save"' not in view.content.decode()
    assert client.post(f"/admin/audit/auditlog/{entry.pk}/change/", {"event_type": "x"}).status_code == 403
    assert client.post(f"/admin/audit/auditlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditLog.objects.filter(pk=entry.pk, event_type=entry.event_type).exists()
    # the per-object timeline filter other admins link to
    timeline = client.get("/admin/audit/auditlog/", {"object_type": "tasks.task", "object_id": "8"})
    assert timeline.status_code == 200 and "task.delete" in timeline.content.decode()


def test_audit_page_in_traditional_chinese(client, admin_user, trail):
    client.force_login(admin_user)
    client.cookies["django_language"] = "zh-hant"
    html = client.get("/audit/").content.decode()
    assert "稽核軌跡" in html and "驗證完整性" in html and "重大" in html
