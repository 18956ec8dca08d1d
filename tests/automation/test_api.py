"""Trigger REST API: validation, versions, permissions (owner edits, members read, outsiders 404)."""

import pytest

from automation import services
from automation.models import Trigger, TriggerExecution

from .factories import status

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Escalate",
    "event": "status_changed",
    "conditions": [{"field": "priority", "op": "gt", "value": 2}],
    "actions": [{"type": "notify", "roles": ["owner"], "message": "look"}],
}


def url(project):
    return f"/api/projects/{project.pk}/triggers/"


def test_owner_creates_and_sees_secret(api_for, project, people):
    res = api_for(people["owner"]).post(url(project), VALID, format="json")
    assert res.status_code == 201, res.json()
    body = res.json()
    assert body["version"] == 1 and body["is_active"] is True and len(body["secret"]) == 64
    assert Trigger.objects.get().created_by == people["owner"]


def test_member_and_viewer_read_without_secret_but_cannot_write(api_for, project, people):
    trigger = services.trigger_create(project=project, by=people["owner"], **VALID)
    for who in ("member", "viewer"):
        client = api_for(people[who])
        listed = client.get(url(project))
        assert listed.status_code == 200
        assert [t["id"] for t in listed.json()] == [trigger.pk] and "secret" not in listed.json()[0]
        assert client.post(url(project), VALID, format="json").status_code == 403
        res = client.patch(f"/api/triggers/{trigger.pk}/", {"version": 1, "name": "x"}, format="json")
        assert res.status_code == 403
        assert client.delete(f"/api/triggers/{trigger.pk}/").status_code == 403
        assert client.get(f"/api/triggers/{trigger.pk}/executions/").status_code == 200


def test_outsider_gets_404_everywhere(api_for, project, people):
    trigger = services.trigger_create(project=project, by=people["owner"], **VALID)
    client = api_for(people["outsider"])
    assert client.get(url(project)).json()["error"]["code"] == "not_found"
    assert client.post(url(project), VALID, format="json").status_code == 404
    assert client.get(f"/api/triggers/{trigger.pk}/").status_code == 404
    assert client.get(f"/api/triggers/{trigger.pk}/executions/").status_code == 404
    assert client.patch(f"/api/triggers/{trigger.pk}/", {"version": 1}, format="json").status_code == 404
    assert client.get(f"/api/projects/{project.pk}/reports/weekly/").status_code == 404


def test_anonymous_is_401(anon_api, project):
    assert anon_api.get(url(project)).status_code == 401


def test_trigger_of_other_project_is_404_in_nested_path(api_for, project, people):
    from .factories import make_project

    other = make_project(people["owner"])
    trigger = services.trigger_create(project=other, by=people["owner"], **VALID)
    assert api_for(people["owner"]).get(f"{url(project)}{trigger.pk}/").status_code == 404


def test_patch_requires_version_and_detects_conflicts(api_for, project, people):
    client = api_for(people["owner"])
    trigger = services.trigger_create(project=project, by=people["owner"], **VALID)
    missing = client.patch(f"/api/triggers/{trigger.pk}/", {"name": "No version"}, format="json")
    assert missing.status_code == 400 and "version" in missing.json()["error"]["details"]
    ok = client.patch(
        f"/api/triggers/{trigger.pk}/", {"version": 1, "name": "Renamed", "is_active": False}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["version"] == 2 and ok.json()["is_active"] is False
    stale = client.patch(f"{url(project)}{trigger.pk}/", {"version": 1, "name": "Late"}, format="json")
    assert stale.status_code == 409
    details = stale.json()["error"]["details"]
    assert details["your_version"] == 1 and details["current_version"] == 2
    assert details["current"]["name"] == "Renamed"
    trigger.refresh_from_db()
    assert trigger.name == "Renamed"


def test_delete(api_for, project, people):
    trigger = services.trigger_create(project=project, by=people["owner"], **VALID)
    assert api_for(people["owner"]).delete(f"/api/triggers/{trigger.pk}/").status_code == 204
    assert not Trigger.objects.exists()


@pytest.mark.parametrize(
    ("patch", "where"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"event": "task_exploded"}, "event"),
        ({"actions": []}, "actions"),
        ({"actions": [{"type": "launch"}]}, "actions[0]"),
        ({"actions": [{"type": "webhook", "url": "ftp://example.com/x"}]}, "actions[0]"),
        ({"actions": [{"type": "webhook", "url": "javascript:alert(1)"}]}, "actions[0]"),
        ({"actions": [{"type": "webhook", "url": "https://u:p@example.com/"}]}, "actions[0]"),
        ({"actions": [{"type": "webhook", "url": "https://e.com/" + "a" * 500}]}, "actions[0]"),
        ({"actions": [{"type": "webhook", "url": "http://127.0.0.1:8000/"}]}, "actions[0]"),
        ({"actions": [{"type": "webhook", "url": "http://[::ffff:127.0.0.1]/"}]}, "actions[0]"),
        ({"actions": [{"type": "webhook", "url": "http://169.254.169.254/latest/meta-data/"}]}, "actions[0]"),
        ({"actions": [{"type": "webhook", "url": "http://[fd00::1]/"}]}, "actions[0]"),
        ({"actions": [{"type": "set_field", "field": "secret", "value": 1}]}, "actions[0]"),
        ({"actions": [{"type": "set_field", "field": "priority", "value": 9}]}, "actions[0]"),
        ({"actions": [{"type": "set_field", "field": "due_date", "value": "tomorrow"}]}, "actions[0]"),
        ({"actions": [{"type": "set_field", "field": "custom_fields.nope", "value": 1}]}, "actions[0]"),
        ({"actions": [{"type": "move", "status": 999999}]}, "actions[0]"),
        ({"actions": [{"type": "assign", "user": 999999}]}, "actions[0]"),
        ({"actions": [{"type": "notify"}]}, "actions[0]"),
        ({"actions": [{"type": "notify", "roles": ["king"]}]}, "actions[0]"),
        ({"actions": [{"type": "notify", "roles": ["owner"], "message": "m" * 501}]}, "actions[0]"),
        ({"actions": [{"type": "notify", "roles": ["owner"]}] * 11}, "actions"),
        ({"conditions": [{"field": "colour", "op": "eq", "value": 1}]}, "conditions[0]"),
        ({"conditions": [{"field": "priority", "op": "like", "value": 1}]}, "conditions[0]"),
        ({"conditions": [{"field": "title", "op": "gt", "value": "a"}]}, "conditions[0]"),
        ({"conditions": [{"field": "priority", "op": "in", "value": []}]}, "conditions[0]"),
        ({"conditions": [{"field": "priority", "op": "eq"}]}, "conditions[0]"),
        ({"conditions": [{"field": "priority", "op": "changed", "value": 1}]}, "conditions[0]"),
        ({"conditions": [{"field": "status", "op": "to", "value": 999999}]}, "conditions[0]"),
        ({"conditions": [{"field": "priority", "op": "eq", "value": 1}] * 21}, "conditions"),
        ({"conditions": "priority > 2"}, "conditions"),
    ],
)
def test_validation(api_for, project, people, patch, where):
    res = api_for(people["owner"]).post(url(project), {**VALID, **patch}, format="json")
    assert res.status_code == 400, res.json()
    error = res.json()["error"]
    assert error["code"] == "validation_error"
    assert where in error["details"], error


def test_valid_conditions_and_actions_of_every_kind(api_for, project, people):
    owner, member = people["owner"], people["member"]
    from tasks import services as task_services

    task_services.custom_field_create(
        project=project, by=owner, key="sev", name="Severity", type="select", options=["low", "high"]
    )
    body = {
        "name": "All kinds",
        "event": "field_changed",
        "conditions": [
            {"field": "status", "op": "to", "value": status(project, "Done").pk},
            {"field": "status", "op": "from", "value": status(project, "Doing").pk},
            {"field": "priority", "op": "in", "value": [3, 4]},
            {"field": "due_date", "op": "lt", "value": "2026-12-01"},
            {"field": "title", "op": "contains", "value": "db"},
            {"field": "custom_fields.sev", "op": "eq", "value": "high"},
            {"field": "assignee", "op": "ne", "value": None},
            {"field": "estimated_hours", "op": "changed"},
        ],
        "actions": [
            {"type": "notify", "users": [member.pk], "roles": ["assignee"], "message": "hi"},
            {"type": "set_field", "field": "custom_fields.sev", "value": "low"},
            {"type": "set_field", "field": "due_date", "value": None},
            {"type": "assign", "user": member.pk},
            {"type": "assign", "user": None},
            {"type": "move", "status": status(project, "Done").pk},
            {"type": "webhook", "url": "https://hooks.example.com/contorl?x=1"},
        ],
    }
    res = api_for(owner).post(url(project), body, format="json")
    assert res.status_code == 201, res.json()


def test_assign_to_viewer_is_refused(api_for, project, people):
    body = {**VALID, "actions": [{"type": "assign", "user": people["viewer"].pk}]}
    assert api_for(people["owner"]).post(url(project), body, format="json").status_code == 400


def test_executions_list_and_replay_permissions(
    api_for, project, people, eager, django_capture_on_commit_callbacks, receiver, django_assert_max_num_queries
):
    from .factories import make_task

    owner = people["owner"]
    receiver.script = [404]
    trigger = services.trigger_create(
        project=project, by=owner, name="h", event="task_created", actions=[{"type": "webhook", "url": receiver.url}]
    )
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            make_task(project, owner)
        receiver.script = [404]
    client = api_for(people["member"])
    with django_assert_max_num_queries(8):
        res = client.get(f"/api/triggers/{trigger.pk}/executions/")
    assert res.status_code == 200
    rows = res.json()["results"]
    assert len(rows) == 3 and {r["outcome"] for r in rows} == {"failed"}
    assert {"attempt", "started_at", "finished_at", "error", "run_id"} <= set(rows[0])
    replay_url = f"/api/triggers/{trigger.pk}/executions/{rows[0]['id']}/replay/"
    receiver.script = []
    assert client.post(replay_url).status_code == 403
    assert api_for(people["outsider"]).post(replay_url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        res = api_for(owner).post(replay_url)
    assert res.status_code == 202, res.json()
    assert res.json()["attempt"] == 2 and res.json()["replay"] is True
    assert TriggerExecution.objects.get(run_id=rows[0]["run_id"], attempt=2).outcome == "success"
    again = api_for(owner).post(replay_url)
    assert again.status_code == 409  # only a failed run can be replayed


def test_rotate_secret(api_for, project, people):
    trigger = services.trigger_create(project=project, by=people["owner"], **VALID)
    res = api_for(people["owner"]).post(f"/api/triggers/{trigger.pk}/rotate-secret/", {"version": 1}, format="json")
    assert res.status_code == 200 and res.json()["secret"] != trigger.secret and res.json()["version"] == 2


def test_pages_render(client, project, people):
    services.trigger_create(project=project, by=people["owner"], **VALID)
    client.force_login(people["member"])
    page = client.get(f"/projects/{project.pk}/triggers/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Escalate" in html and "automation/triggers.js" in html and 'id="trigger-new"' not in html
    client.force_login(people["owner"])
    assert 'id="trigger-new"' in client.get(f"/projects/{project.pk}/triggers/").content.decode()
    client.force_login(people["outsider"])
    assert client.get(f"/projects/{project.pk}/triggers/").status_code == 404
    assert client.get(f"/projects/{project.pk}/reports/weekly/").status_code == 404


def test_pages_in_traditional_chinese(client, project, people):
    client.force_login(people["owner"])
    client.cookies["django_language"] = "zh-hant"
    html = client.get(f"/projects/{project.pk}/triggers/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert "新增觸發器" in html and "執行紀錄" in html
    html = client.get(f"/projects/{project.pk}/reports/weekly/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert "依負責人" in html or "本週沒有任務" in html


def test_trigger_list_query_count_is_flat(api_for, project, people, django_assert_max_num_queries):
    for i in range(15):
        services.trigger_create(project=project, by=people["owner"], **{**VALID, "name": f"t{i}"})
    with django_assert_max_num_queries(6):
        res = api_for(people["member"]).get(url(project))
    assert len(res.json()) == 15


def test_the_services_themselves_refuse_non_owners(project, people):
    """The right is checked in the service (not only in the view): admin, seed and jobs call it too."""
    from contorl.errors import Forbidden

    trigger = services.trigger_create(project=project, by=people["owner"], **VALID)
    member = people["member"]
    refused = [
        lambda: services.trigger_create(project=project, by=member, **VALID),
        lambda: services.trigger_update(trigger=trigger, version=1, by=member, name="x"),
        lambda: services.trigger_rotate_secret(trigger=trigger, version=1, by=member),
        lambda: services.trigger_delete(trigger=trigger, by=member),
    ]
    for call in refused:
        with pytest.raises(Forbidden):
            call()
    trigger.refresh_from_db()
    assert trigger.version == 1 and trigger.name == VALID["name"] and Trigger.objects.count() == 1
