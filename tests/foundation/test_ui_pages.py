"""Issue #15 server side (also on PostgreSQL): the 405 page, the favicon, docs served from our
static files, the weekly report's first week, audit changes as lines. The browser side is
tests/browser/test_ui_polish.py."""

import datetime

import pytest
from django.utils import timezone, translation

from audit.templatetags.audit_display import change_lines
from tasks import services
from tests.tasks.factories import make_project

pytestmark = pytest.mark.django_db


def test_a_refused_method_gets_the_apps_error_page(client, user):
    client.force_login(user)
    response = client.get("/accounts/logout/")  # POST only
    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"
    html = response.content.decode()
    assert 'id="sidebar"' in html and "<h1>405</h1>" in html


def test_a_refused_method_on_the_api_keeps_the_envelope(client, user):
    client.force_login(user)
    response = client.get("/api/auth/token/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_favicon(client):
    html = client.get("/accounts/login/").content.decode()
    assert 'rel="icon" type="image/svg+xml"' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("/favicon.svg")


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_load_nothing_from_other_hosts(client, user, path):
    client.force_login(user)
    html = client.get(path).content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "https://" not in html


def test_weekly_report_opens_on_the_latest_week_with_activity(client, user):
    project = make_project(user)
    services.task_create(project=project, by=user, title="This week")
    client.force_login(user)
    response = client.get(f"/projects/{project.pk}/reports/weekly/")
    assert response.status_code == 200
    year, week, _ = timezone.localdate().isocalendar()
    assert response.context["report"]["week"] == f"{year}-W{week:02d}"
    assert response.context["report"]["totals"]["created"] == 1
    html = response.content.decode()
    assert 'type="week"' in html and 'id="latest-week"' not in html
    earlier = client.get(f"/projects/{project.pk}/reports/weekly/", {"week": "2026-W01"}).content.decode()
    assert 'id="latest-week"' in earlier


def test_weekly_report_of_a_project_without_tasks_opens_on_the_previous_week(client, user):
    project = make_project(user)
    client.force_login(user)
    response = client.get(f"/projects/{project.pk}/reports/weekly/")
    monday = timezone.localdate() - datetime.timedelta(days=timezone.localdate().weekday() + 7)
    year, week, _ = monday.isocalendar()
    assert response.context["report"]["week"] == f"{year}-W{week:02d}"


def test_audit_changes_read_as_lines():
    with translation.override("en"):
        assert change_lines({"status": [1, 2], "count": 3, "is_admin": [False, True]}) == [
            "Status: 1 → 2",
            "Count: 3",
            "Is admin: No → Yes",  # an unknown key, humanised
        ]
        assert change_lines({"depends_on": [None, 7]}) == ["Depends on: — → 7"]
        assert change_lines(None) == []
    with translation.override("zh-hant"):
        assert change_lines({"enabled": [False, True], "cascade": True}) == ["Enabled: 否 → 是", "連同子任務: 是"]
