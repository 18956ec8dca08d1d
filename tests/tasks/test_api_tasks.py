"""Task CRUD through the API: representation, versioning, validation, permissions."""

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db

FIELDS = {
    "id",
    "project",
    "title",
    "description",
    "status",
    "assignee",
    "priority",
    "start_date",
    "due_date",
    "estimated_hours",
    "parent",
    "subtask_count",
    "position",
    "custom_fields",
    "version",
    "is_deleted",
    "deleted_at",
    "deleted_by",
    "created_at",
    "updated_at",
}


def err(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code, body
    return body["error"]


def test_create_returns_contract_fields(api, project, statuses, user):
    r = api.post(
        "/api/tasks/",
        {"project": project.pk, "title": "Replace belt", "assignee": user.pk, "estimated_hours": 2.5, "priority": 3},
        format="json",
    )
    assert r.status_code == 201, r.content
    data = r.json()
    assert set(data) >= FIELDS
    assert data["version"] == 1 and data["status"] == statuses[0].pk
    assert data["estimated_hours"] == 2.5 and data["subtask_count"] == 0 and data["is_deleted"] is False


def test_patch_requires_version_and_increments(api, task):
    err(api.patch(f"/api/tasks/{task.pk}/", {"title": "x"}, format="json"), 400, "validation_error")
    r = api.patch(f"/api/tasks/{task.pk}/", {"title": "New", "version": 1}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["version"] == 2 and r.json()["title"] == "New"


def test_stale_version_409_with_current(api, task):
    assert api.patch(f"/api/tasks/{task.pk}/", {"title": "A", "version": 1}, format="json").status_code == 200
    e = err(api.patch(f"/api/tasks/{task.pk}/", {"title": "B", "version": 1}, format="json"), 409, "version_conflict")
    assert e["details"]["your_version"] == 1 and e["details"]["current_version"] == 2
    assert e["details"]["current"]["title"] == "A" and e["details"]["current"]["version"] == 2
    task.refresh_from_db()
    assert task.title == "A"


def test_viewer_cannot_write(api_for, viewer, task, project):
    client = api_for(viewer)
    assert client.get(f"/api/tasks/{task.pk}/").status_code == 200
    err(client.patch(f"/api/tasks/{task.pk}/", {"title": "x", "version": 1}, format="json"), 403, "permission_denied")
    err(client.post("/api/tasks/", {"project": project.pk, "title": "x"}, format="json"), 403, "permission_denied")
    err(client.delete(f"/api/tasks/{task.pk}/"), 403, "permission_denied")
    err(client.post(f"/api/tasks/{task.pk}/comments/", {"body": "hi"}, format="json"), 403, "permission_denied")
    task.refresh_from_db()
    assert task.version == 1 and not task.is_deleted


def test_outsider_gets_404(api_for, outsider, task, project):
    client = api_for(outsider)
    err(client.get(f"/api/tasks/{task.pk}/"), 404, "not_found")
    err(client.get(f"/api/projects/{project.pk}/"), 404, "not_found")
    err(client.get(f"/api/projects/{project.pk}/board/"), 404, "not_found")
    err(client.patch(f"/api/tasks/{task.pk}/", {"title": "x", "version": 1}, format="json"), 404, "not_found")
    err(client.get(f"/api/tasks/{task.pk}/history/"), 404, "not_found")
    assert client.get("/api/tasks/").json()["count"] == 0
    # Creating in an invisible project looks exactly like a missing project.
    r1 = client.post("/api/tasks/", {"project": project.pk, "title": "x"}, format="json")
    r2 = client.post("/api/tasks/", {"project": 999999, "title": "x"}, format="json")
    assert r1.status_code == r2.status_code == 400


def test_cross_project_references_rejected(api, project, task, owner, user):
    from .factories import make_project

    other = make_project(owner, members=[(user, "member")])
    foreign_status = other.statuses.first()
    foreign_task = Task.objects.create(project=other, status=foreign_status, title="elsewhere")
    e = err(
        api.patch(f"/api/tasks/{task.pk}/", {"status": foreign_status.pk, "version": 1}, format="json"),
        400,
        "validation_error",
    )
    assert "status" in e["details"]
    e = err(
        api.patch(f"/api/tasks/{task.pk}/", {"parent": foreign_task.pk, "version": 1}, format="json"),
        400,
        "validation_error",
    )
    assert "parent" in e["details"]
    e = err(
        api.post(f"/api/tasks/{task.pk}/dependencies/", {"depends_on": foreign_task.pk}, format="json"),
        400,
        "validation_error",
    )


def test_assignee_must_be_member(api, task, outsider, viewer):
    for who in (outsider, viewer):
        e = err(
            api.patch(f"/api/tasks/{task.pk}/", {"assignee": who.pk, "version": 1}, format="json"),
            400,
            "validation_error",
        )
        assert "assignee" in e["details"]


@pytest.mark.parametrize(
    "payload",
    [
        {"priority": 9},
        {"priority": "high"},
        {"estimated_hours": -1},
        {"estimated_hours": 100000},
        {"position": -1},
        {"title": "x" * 301},
        {"title": ""},
        {"start_date": "2026-05-10", "due_date": "2026-05-01"},
        {"due_date": "1899-01-01"},
        {"due_date": "not a date"},
        {"custom_fields": "nope"},
        {"custom_fields": {"no_such_field": 1}},
        {"version": "abc"},
        {"parent": "x"},
    ],
)
def test_invalid_payloads_rejected(api, task, payload):
    body = {"version": 1, **payload}
    err(api.patch(f"/api/tasks/{task.pk}/", body, format="json"), 400, "validation_error")
    task.refresh_from_db()
    assert task.version == 1


def test_malformed_json_and_wrong_body_type(api, task):
    r = api.generic("PATCH", f"/api/tasks/{task.pk}/", "{not json", content_type="application/json")
    err(r, 400, "validation_error")
    r = api.generic("PATCH", f"/api/tasks/{task.pk}/", "[1, 2]", content_type="application/json")
    err(r, 400, "validation_error")


def test_huge_payload_rejected(api, task):
    body = '{"version": 1, "description": "' + "x" * (3 * 1024 * 1024) + '"}'
    r = api.generic("PATCH", f"/api/tasks/{task.pk}/", body, content_type="application/json")
    assert r.status_code in (400, 413)
    task.refresh_from_db()
    assert task.version == 1


def test_list_filters_and_include_deleted_admin_only(api, admin_api, make_task, statuses, user, project):
    a = make_task(status=statuses[0], assignee=user)
    b = make_task(status=statuses[1])
    Task.all_objects.filter(pk=b.pk).update(is_deleted=True)
    ids = lambda r: {t["id"] for t in r.json()["results"]}  # noqa: E731
    assert ids(api.get(f"/api/tasks/?project={project.pk}")) == {a.pk}
    assert ids(api.get(f"/api/tasks/?assignee={user.pk}")) == {a.pk}
    assert ids(api.get(f"/api/tasks/?status={statuses[1].pk}")) == set()
    err(api.get("/api/tasks/?include_deleted=true"), 403, "permission_denied")
    assert ids(admin_api.get(f"/api/tasks/?project={project.pk}&include_deleted=true")) == {a.pk, b.pk}
    err(api.get("/api/tasks/?project=abc"), 400, "validation_error")


def test_anonymous_401(anon_api, task):
    err(anon_api.get("/api/tasks/"), 401, "not_authenticated")
    err(anon_api.get(f"/api/projects/{task.project_id}/board/"), 401, "not_authenticated")


def test_status_change_without_position_goes_to_bottom(api, make_task, statuses):
    make_task(status=statuses[1], position=7)
    task = make_task(status=statuses[0], position=0)
    r = api.patch(f"/api/tasks/{task.pk}/", {"status": statuses[1].pk, "version": 1}, format="json")
    assert r.status_code == 200 and r.json()["position"] == 8
    r = api.patch(f"/api/tasks/{task.pk}/", {"status": statuses[2].pk, "position": 3, "version": 2}, format="json")
    assert r.json()["position"] == 3 and r.json()["status"] == statuses[2].pk


def test_parent_cannot_be_own_descendant(api, make_task):
    top = make_task(title="top")
    mid = make_task(title="mid", parent=top)
    leaf = make_task(title="leaf", parent=mid)
    for parent in (top, mid, leaf):
        r = api.patch(f"/api/tasks/{top.pk}/", {"parent": parent.pk, "version": 1}, format="json")
        assert r.status_code == 400 and "parent" in r.json()["error"]["details"]
    r = api.post("/api/tasks/", {"project": top.project_id, "title": "sub", "parent": leaf.pk}, format="json")
    assert r.status_code == 201 and r.json()["parent"] == leaf.pk
    assert api.get(f"/api/tasks/{leaf.pk}/").json()["subtask_count"] == 1


def test_put_also_needs_version(api, task):
    assert api.put(f"/api/tasks/{task.pk}/", {"title": "x"}, format="json").status_code == 400
    r = api.put(f"/api/tasks/{task.pk}/", {"title": "x", "version": 1}, format="json")
    assert r.status_code == 200 and r.json()["version"] == 2


def test_unknown_and_non_numeric_ids_are_404(api):
    assert api.get("/api/tasks/abc/").status_code == 404
    assert api.get("/api/tasks/99999999999999999999999/").status_code == 404
    assert api.get("/api/tasks/424242/").status_code == 404
