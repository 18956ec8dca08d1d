"""Projects, members, statuses, templates and who sees what."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from audit.models import AuditLog
from tasks import services
from tasks.models import Attachment, Comment, CustomField, Project, ProjectMember, ProjectTemplate, Status, Task

from .factories import make_project

pytestmark = pytest.mark.django_db


def test_create_project_makes_owner_and_default_statuses(api, user):
    r = api.post("/api/projects/", {"name": "Line 4", "key": "LINE4"}, format="json")
    assert r.status_code == 201, r.content
    project = Project.objects.get(pk=r.json()["id"])
    assert r.json()["version"] == 1 and project.department_id == user.department_id
    assert ProjectMember.objects.get(project=project, user=user).role == "owner"
    assert [s["name"] for s in api.get(f"/api/projects/{project.pk}/statuses/").json()] == [
        "To do",
        "In progress",
        "Done",
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "key": "lower"},
        {"name": "x", "key": "TOOLONGKEY123"},
        {"name": "", "key": "OKAY"},
        {"name": "x" * 201, "key": "OKAY"},
        {"name": "x", "key": "OKAY", "description": "d" * 10_001},
    ],
)
def test_project_validation(api, body):
    assert api.post("/api/projects/", body, format="json").status_code == 400


def test_cannot_create_in_other_department(api, other_department):
    r = api.post("/api/projects/", {"name": "x", "key": "XDEPT", "department": other_department.pk}, format="json")
    assert r.status_code == 403


def test_project_update_versioned_owner_only(api, api_for, owner, project):
    assert api.patch(f"/api/projects/{project.pk}/", {"name": "n", "version": 1}, format="json").status_code == 403
    client = api_for(owner)
    assert client.patch(f"/api/projects/{project.pk}/", {"name": "n"}, format="json").status_code == 400
    r = client.patch(f"/api/projects/{project.pk}/", {"name": "n", "version": 1}, format="json")
    assert r.status_code == 200 and r.json()["version"] == 2
    r = client.patch(f"/api/projects/{project.pk}/", {"name": "m", "version": 1}, format="json")
    assert r.status_code == 409 and r.json()["error"]["details"]["current"]["name"] == "n"


def test_visibility_rules(api_for, make_user, owner, project, other_department, department, outsider, admin_user):
    manager = make_user("mgr", is_department_manager=True)
    other_manager = make_user("omgr", department=other_department, is_department_manager=True)
    carol = make_user("carol", department=other_department)
    ProjectMember.objects.create(project=project, user=carol, role="member")

    def visible(u):
        return {p["id"] for p in api_for(u).get("/api/projects/").json()["results"]}

    assert visible(carol) == {project.pk}  # member from another department
    assert visible(manager) == {project.pk}  # manager of the project's department
    assert visible(other_manager) == set()
    assert visible(outsider) == set()
    assert visible(admin_user) == {project.pk}
    # the department manager reads but cannot write unless a member
    assert api_for(manager).get(f"/api/projects/{project.pk}/board/").status_code == 200
    r = api_for(manager).post("/api/tasks/", {"project": project.pk, "title": "x"}, format="json")
    assert r.status_code == 403
    r = api_for(carol).post("/api/tasks/", {"project": project.pk, "title": "x"}, format="json")
    assert r.status_code == 201


def test_members_add_change_remove(api_for, owner, project, make_user, api, user):
    client = api_for(owner)
    newbie = make_user("newbie")
    assert (
        api.post(
            f"/api/projects/{project.pk}/members/", {"user": newbie.pk, "role": "member"}, format="json"
        ).status_code
        == 403
    )
    r = client.post(f"/api/projects/{project.pk}/members/", {"user": newbie.pk, "role": "viewer"}, format="json")
    assert r.status_code == 201, r.content
    assert (
        client.post(
            f"/api/projects/{project.pk}/members/", {"user": newbie.pk, "role": "viewer"}, format="json"
        ).status_code
        == 400
    )
    assert (
        client.post(
            f"/api/projects/{project.pk}/members/", {"user": newbie.pk, "role": "boss"}, format="json"
        ).status_code
        == 400
    )
    r = client.patch(
        f"/api/projects/{project.pk}/members/{newbie.pk}/", {"role": "member", "version": 1}, format="json"
    )
    assert r.status_code == 200 and r.json()["role"] == "member" and r.json()["version"] == 2
    assert {m["user"] for m in client.get(f"/api/projects/{project.pk}/members/").json()} >= {owner.pk, newbie.pk}
    assert client.delete(f"/api/projects/{project.pk}/members/{newbie.pk}/").status_code == 204
    assert api_for(newbie).get(f"/api/projects/{project.pk}/").status_code == 404
    # the last owner can neither leave nor be demoted
    assert client.delete(f"/api/projects/{project.pk}/members/{owner.pk}/").status_code == 409
    r = client.patch(f"/api/projects/{project.pk}/members/{owner.pk}/", {"role": "member", "version": 1}, format="json")
    assert r.status_code == 409


def test_statuses_crud(api_for, owner, project, task, api):
    client = api_for(owner)
    r = client.post(f"/api/projects/{project.pk}/statuses/", {"name": "Review", "color": "#ff0000"}, format="json")
    assert r.status_code == 201 and r.json()["order"] == 3
    sid = r.json()["id"]
    assert client.post(f"/api/projects/{project.pk}/statuses/", {"name": "review"}, format="json").status_code == 400
    assert (
        client.post(f"/api/projects/{project.pk}/statuses/", {"name": "X", "color": "red"}, format="json").status_code
        == 400
    )
    assert api.patch(f"/api/statuses/{sid}/", {"name": "R", "version": 1}, format="json").status_code == 403
    r = client.patch(f"/api/statuses/{sid}/", {"name": "QA", "version": 1, "is_done": True}, format="json")
    assert r.status_code == 200 and r.json()["version"] == 2
    assert client.delete(f"/api/statuses/{task.status_id}/").status_code == 409  # has tasks
    assert client.delete(f"/api/statuses/{sid}/").status_code == 204


def test_templates_and_save_as_template(api_for, owner, project, api, user):
    client = api_for(owner)
    CustomField.objects.create(project=project, key="rate", name="Rate", type="number")
    CustomField.objects.create(
        project=project, key="cost", name="Cost", type="formula", formula="{estimated_hours} * {rate}"
    )
    r = client.post(f"/api/projects/{project.pk}/save-as-template/", {"name": "Line template"}, format="json")
    assert r.status_code == 201, r.content
    template = ProjectTemplate.objects.get(pk=r.json()["id"])
    assert [s["name"] for s in template.data["statuses"]] == ["To do", "Doing", "Done"]
    assert "triggers" in template.data
    assert api.post(f"/api/projects/{project.pk}/save-as-template/", {"name": "x"}, format="json").status_code == 403
    r = api.post("/api/projects/", {"name": "From template", "key": "FROMT", "template": template.pk}, format="json")
    assert r.status_code == 201, r.content
    new = Project.objects.get(pk=r.json()["id"])
    assert list(Status.objects.filter(project=new).order_by("order").values_list("name", flat=True)) == [
        "To do",
        "Doing",
        "Done",
    ]
    assert set(CustomField.objects.filter(project=new).values_list("key", flat=True)) == {"rate", "cost"}
    # template CRUD: creator or admin edits; body validated
    assert api.get("/api/project-templates/").json()["count"] == 1
    assert (
        api.patch(f"/api/project-templates/{template.pk}/", {"name": "x", "version": 1}, format="json").status_code
        == 403
    )
    r = client.patch(f"/api/project-templates/{template.pk}/", {"name": "Renamed", "version": 1}, format="json")
    assert r.status_code == 200 and r.json()["version"] == 2
    bad = {
        "statuses": [{"name": "a"}],
        "custom_fields": [{"key": "x", "name": "X", "type": "formula", "formula": "{x}"}],
    }
    r = api.post("/api/project-templates/", {"name": "Bad", "data": bad}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "formula_cycle"
    r = api.post("/api/project-templates/", {"name": "Bad2", "data": {"statuses": "nope"}}, format="json")
    assert r.status_code == 400


@pytest.mark.parametrize(
    "field",
    [
        {"key": "line", "name": "Line", "type": "select", "options": "abc"},
        {"key": "note", "name": "Note", "type": "text", "formula": "{estimated_hours}"},
        {"key": "note", "name": "Note", "type": "text", "options": ["a"]},
        {"key": "cost", "name": "Cost", "type": "formula", "formula": "{label} + 1"},
        {"key": "cost", "name": "Cost", "type": "formula", "formula": "{ghost} * 2"},
    ],
)
def test_template_fields_get_the_same_checks_as_project_fields(api, field):
    label = {"key": "label", "name": "Label", "type": "text"}
    data = {"statuses": [{"name": "To do"}], "custom_fields": [label, field]}
    r = api.post("/api/project-templates/", {"name": "Checked", "data": data}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error", r.content
    assert r.json()["error"]["details"]["data"][0].startswith(f"{field['key']}: ")


def test_a_template_formula_may_use_the_templates_own_numbers(api):
    fields = [
        {"key": "rate", "name": "Rate", "type": "number"},
        {"key": "cost", "name": "Cost", "type": "formula", "formula": "{rate} * {estimated_hours}"},
    ]
    r = api.post("/api/project-templates/", {"name": "Ok", "data": {"custom_fields": fields}}, format="json")
    assert r.status_code == 201, r.content


def test_template_apply_hook(api, monkeypatch):
    from tasks.services import projects

    seen = []
    monkeypatch.setattr(projects, "TEMPLATE_APPLY_HOOKS", [lambda project, data, by: seen.append(data.get("triggers"))])
    template = ProjectTemplate.objects.create(name="T", data={"statuses": [{"name": "Only"}], "triggers": [{"x": 1}]})
    r = api.post("/api/projects/", {"name": "P", "key": "HOOK", "template": template.pk}, format="json")
    assert r.status_code == 201 and seen == [[{"x": 1}]]


def test_a_new_member_is_notified(api_for, owner, project, make_user):
    from notifications.models import Notification

    newcomer = make_user("newcomer")
    r = api_for(owner).post(
        f"/api/projects/{project.pk}/members/", {"user": newcomer.pk, "role": "viewer"}, HTTP_ACCEPT_LANGUAGE="zh-hant"
    )
    assert r.status_code == 201, r.content
    note = Notification.objects.get(recipient=newcomer, type="project_member")
    assert note.title == f"您已被加入專案「{project.name}」,角色:檢視者"
    assert note.link == f"/projects/{project.pk}/"
    assert (note.data["project"], note.data["role"]) == (project.pk, "viewer")
    # the reader sees it in their own language, not the inviter's
    with translation.override("en"):
        assert note.shown_title == f"You were added to the project “{project.name}” as Viewer"
    with translation.override("zh-hant"):
        assert note.shown_title == f"您已被加入專案「{project.name}」,角色:檢視者"


def test_delete_project_owner_only(api, api_for, owner, project):
    assert api.delete(f"/api/projects/{project.pk}/").status_code == 403
    assert api_for(owner).delete(f"/api/projects/{project.pk}/").status_code == 204
    assert not Project.objects.filter(pk=project.pk).exists()


def test_deleting_a_project_takes_its_work_and_files_along(
    api_for, owner, project, make_task, statuses, django_capture_on_commit_callbacks
):
    client = api_for(owner)
    parent = make_task(title="Parent", status=statuses[0])
    child = make_task(title="Child", status=statuses[1], parent=parent)
    services.task_delete(task=make_task(title="Binned", status=statuses[2]), by=owner)
    services.dependency_add(task=child, depends_on=make_task(title="Blocker", status=statuses[0]), by=owner)
    services.comment_create(task=parent, by=owner, body="Looks fine")
    upload = SimpleUploadedFile("note.txt", b"hello", content_type="text/plain")
    url = client.post(f"/api/tasks/{parent.pk}/attachments/", {"file": upload}, format="multipart")
    stored = Attachment.objects.get(task=parent).file
    assert url.status_code == 201 and stored.storage.exists(stored.name)

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/projects/{project.pk}/").status_code == 204

    assert not Task.all_objects.filter(project_id=project.pk).exists()
    assert not Status.objects.filter(project_id=project.pk).exists()
    assert not Comment.objects.filter(task_id=parent.pk).exists()
    assert not stored.storage.exists(stored.name)
    entry = AuditLog.objects.get(event_type="project.delete", object_id=str(project.pk))
    assert entry.changes["tasks"] == [4, 0] and entry.sensitivity == "high"


def test_other_projects_do_not_leak(api, owner, outsider):
    hidden = make_project(outsider)
    assert api.get(f"/api/projects/{hidden.pk}/statuses/").status_code == 404
    assert api.get(f"/api/projects/{hidden.pk}/members/").status_code == 404
    assert api.get(f"/api/statuses/{hidden.statuses.first().pk}/").status_code == 404
    assert api.get("/api/projects/abc/").status_code == 404


def test_admin_project_edit_is_version_checked(admin_client, project, api_for, owner):
    api_for(owner).patch(f"/api/projects/{project.pk}/", {"name": "API rename", "version": 1}, format="json")
    form = {"name": "Admin rename", "key": project.key, "description": "", "expected_version": 1}
    r = admin_client.post(f"/admin/tasks/project/{project.pk}/change/", form)
    assert r.status_code == 200 and "Someone else changed this" in r.content.decode()
    assert Project.objects.get(pk=project.pk).name == "API rename"
    r = admin_client.post(f"/admin/tasks/project/{project.pk}/change/", {**form, "expected_version": 2})
    assert r.status_code == 302
    fresh = Project.objects.get(pk=project.pk)
    assert fresh.name == "Admin rename" and fresh.version == 3


def test_archived_project_is_read_only_until_unarchived(api, api_for, owner, project, task):
    client = api_for(owner)
    assert (
        client.patch(f"/api/projects/{project.pk}/", {"archived": True, "version": 1}, format="json").status_code == 200
    )
    r = api.patch(f"/api/tasks/{task.pk}/", {"title": "x", "version": 1}, format="json")
    assert r.status_code == 403 and "archived" in r.json()["error"]["message"]
    assert api.get(f"/api/tasks/{task.pk}/").status_code == 200
    assert (
        client.patch(f"/api/projects/{project.pk}/", {"archived": False, "version": 2}, format="json").status_code
        == 200
    )
    assert api.patch(f"/api/tasks/{task.pk}/", {"title": "x", "version": 1}, format="json").status_code == 200


def test_role_cache_expires_for_long_lived_user_objects(project, user, monkeypatch):
    import time

    from tasks import permissions

    assert permissions.can_edit_project(user, project)
    ProjectMember.objects.filter(project=project, user=user).delete()
    assert permissions.can_edit_project(user, project)  # within the same moment: cached
    later = time.monotonic() + permissions.ROLE_CACHE_SECONDS + 1
    monkeypatch.setattr(permissions.time, "monotonic", lambda: later)
    assert not permissions.can_view_project(user, project)


def test_admin_member_changes_go_through_services(admin_client, project, owner):
    member = ProjectMember.objects.get(project=project, user=owner)
    r = admin_client.post(
        f"/admin/tasks/projectmember/{member.pk}/change/", {"role": "viewer", "expected_version": 1}, follow=True
    )
    assert r.status_code == 200
    assert "at least one owner" in r.content.decode()
    assert ProjectMember.objects.get(pk=member.pk).role == "owner"
