"""Soft delete and restore: cascade, blockers, the 'deleted earlier' rule, admin actions."""

import datetime

import pytest
from django.utils import timezone

from tasks import services
from tasks.models import Task, TaskDependency

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree(make_task):
    """parent -> (child_a -> grandchild, child_b)"""
    parent = make_task(title="parent")
    child_a = make_task(title="child a", parent=parent)
    child_b = make_task(title="child b", parent=parent)
    grandchild = make_task(title="grandchild", parent=child_a)
    return parent, child_a, child_b, grandchild


def live(*tasks):
    return {t.pk for t in tasks if not Task.all_objects.get(pk=t.pk).is_deleted}


def test_delete_cascades_with_one_deleted_at(api, tree, user):
    parent, child_a, child_b, grandchild = tree
    assert api.get(f"/api/tasks/{parent.pk}/").json()["subtask_count"] == 2
    assert api.delete(f"/api/tasks/{parent.pk}/").status_code == 204
    rows = list(Task.all_objects.filter(pk__in=[t.pk for t in tree]))
    assert all(r.is_deleted and r.deleted_by_id == user.pk for r in rows)
    assert len({r.deleted_at for r in rows}) == 1
    # hidden from every default query
    assert not Task.objects.filter(pk__in=[t.pk for t in tree]).exists()
    assert api.get(f"/api/tasks/{parent.pk}/").status_code == 404
    assert parent.pk not in {t["id"] for t in api.get("/api/tasks/").json()["results"]}


def test_subtask_count_counts_live_only(api, tree, user):
    parent, child_a, child_b, _ = tree
    services.task_delete(task=Task.objects.get(pk=child_b.pk), by=user)
    assert api.get(f"/api/tasks/{parent.pk}/").json()["subtask_count"] == 1


def test_cascade_restore_skips_child_deleted_earlier(tree, user):
    parent, child_a, child_b, grandchild = tree
    services.task_delete(task=Task.objects.get(pk=child_b.pk), by=user)
    # make "earlier" unambiguous even on coarse clocks
    Task.all_objects.filter(pk=child_b.pk).update(deleted_at=timezone.now() - datetime.timedelta(hours=1))
    services.task_delete(task=Task.objects.get(pk=parent.pk), by=user)
    done = services.task_restore(task=Task.all_objects.get(pk=parent.pk), by=user, cascade=True)
    assert {t.pk for t in done} == {parent.pk, child_a.pk, grandchild.pk}
    assert live(*tree) == {parent.pk, child_a.pk, grandchild.pk}


def test_parent_only_restore(api, tree):
    parent, child_a, child_b, grandchild = tree
    api.delete(f"/api/tasks/{parent.pk}/")
    r = api.post(f"/api/tasks/{parent.pk}/restore/", {"cascade": False}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["restored"] == [parent.pk]
    assert live(*tree) == {parent.pk}
    # the children can still be restored later, one by one
    r = api.post(f"/api/tasks/{child_a.pk}/restore/", {}, format="json")
    assert r.status_code == 200
    assert live(*tree) == {parent.pk, child_a.pk, grandchild.pk}


def test_restore_child_of_deleted_parent_refused(api, tree):
    parent, child_a, *_ = tree
    api.delete(f"/api/tasks/{parent.pk}/")
    r = api.post(f"/api/tasks/{child_a.pk}/restore/", {}, format="json")
    assert r.status_code == 409
    assert "parent" in r.json()["error"]["message"].lower()
    assert live(*tree) == set()


def test_restore_bumps_version_and_cascade_default_true(api, tree):
    parent, *_ = tree
    api.delete(f"/api/tasks/{parent.pk}/")
    r = api.post(f"/api/tasks/{parent.pk}/restore/", format="json")
    assert r.status_code == 200
    assert len(r.json()["restored"]) == 4
    assert r.json()["task"]["version"] == 3 and r.json()["task"]["is_deleted"] is False


def test_has_blockers_unless_forced(api, make_task, tree):
    parent, child_a, *_ = tree
    waiting = make_task(title="waits for grandchild")
    TaskDependency.objects.create(task=waiting, depends_on=tree[3])
    r = api.delete(f"/api/tasks/{parent.pk}/")
    assert r.status_code == 409
    body = r.json()["error"]
    assert body["code"] == "has_blockers"
    assert [b["id"] for b in body["details"]["blocked_tasks"]] == [waiting.pk]
    assert live(*tree) == {t.pk for t in tree}
    assert api.delete(f"/api/tasks/{parent.pk}/?force=true").status_code == 204
    assert live(*tree) == set()


def test_dependents_that_are_deleted_do_not_block(api, make_task, user):
    a = make_task(title="a")
    b = make_task(title="b")
    TaskDependency.objects.create(task=b, depends_on=a)
    services.task_delete(task=b, by=user)
    assert api.delete(f"/api/tasks/{a.pk}/").status_code == 204


def test_deleted_task_cannot_be_edited(api, task, user, admin_api):
    services.task_delete(task=task, by=user)
    assert api.patch(f"/api/tasks/{task.pk}/", {"title": "x", "version": 2}, format="json").status_code == 404
    r = admin_api.patch(f"/api/tasks/{task.pk}/", {"title": "x", "version": 2}, format="json")
    assert r.status_code == 409


def test_viewer_cannot_restore(api_for, viewer, task, user):
    services.task_delete(task=task, by=user)
    assert api_for(viewer).post(f"/api/tasks/{task.pk}/restore/", {}, format="json").status_code == 403
    assert Task.all_objects.get(pk=task.pk).is_deleted


# --- admin actions ------------------------------------------------------------------------


def _act(admin_client, action, tasks):
    return admin_client.post(
        "/admin/tasks/deletedtask/",
        {"action": action, "_selected_action": [t.pk for t in tasks]},
        follow=True,
    )


def test_admin_deleted_list_and_filters(admin_client, tree, user, make_task):
    keep = make_task(title="still live")
    services.task_delete(task=Task.objects.get(pk=tree[0].pk), by=user)
    r = admin_client.get("/admin/tasks/deletedtask/")
    assert r.status_code == 200
    content = r.content.decode()
    assert "grandchild" in content and "still live" not in content
    r = admin_client.get(
        f"/admin/tasks/deletedtask/?deleted_by__id__exact={user.pk}&project__id__exact={keep.project_id}"
    )
    assert r.status_code == 200 and "grandchild" in r.content.decode()


def test_admin_links_a_task_to_its_audit_timeline(admin_client, tree, user):
    from audit.admin import timeline_url

    task = Task.objects.get(pk=tree[0].pk)
    services.task_update(task=task, version=task.version, by=user, title="Renamed root")
    page = admin_client.get(f"/admin/tasks/task/{task.pk}/change/").content.decode()
    url = timeline_url(task)
    assert url.replace("&", "&amp;") in page
    timeline = admin_client.get(url)
    assert timeline.status_code == 200 and "task.update" in timeline.content.decode()
    services.task_delete(task=Task.objects.get(pk=task.pk), by=user)
    deleted_list = admin_client.get("/admin/tasks/deletedtask/").content.decode()
    assert url.replace("&", "&amp;") in deleted_list  # the proxy links to the task's own entries


def test_admin_restore_with_subtasks(admin_client, tree, user):
    parent = tree[0]
    services.task_delete(task=Task.objects.get(pk=parent.pk), by=user)
    r = _act(admin_client, "restore_with_subtasks", [parent])
    assert r.status_code == 200
    assert live(*tree) == {t.pk for t in tree}
    # through the service: versioned and history-recorded
    assert Task.objects.get(pk=parent.pk).version == 3
    assert Task.objects.get(pk=parent.pk).history.count() == 3


def test_admin_restore_this_task_only(admin_client, tree, user):
    parent = tree[0]
    services.task_delete(task=Task.objects.get(pk=parent.pk), by=user)
    _act(admin_client, "restore_only", [parent])
    assert live(*tree) == {parent.pk}


def test_admin_restore_child_alone_is_refused_with_message(admin_client, tree, user):
    parent, child_a, *_ = tree
    services.task_delete(task=Task.objects.get(pk=parent.pk), by=user)
    r = _act(admin_client, "restore_only", [child_a])
    assert live(*tree) == set()
    assert "parent task is still deleted" in r.content.decode()


def test_admin_restore_child_and_parent_selected_together(admin_client, tree, user):
    parent, child_a, *_ = tree
    services.task_delete(task=Task.objects.get(pk=parent.pk), by=user)
    _act(admin_client, "restore_only", [child_a, parent])
    assert live(*tree) == {parent.pk, child_a.pk}


def test_admin_task_edit_checks_version(admin_client, task, user):
    services.task_update(task=task, version=1, by=user, title="changed meanwhile")
    r = admin_client.post(
        f"/admin/tasks/task/{task.pk}/change/",
        {
            "project": task.project_id,
            "title": "admin edit",
            "description": "",
            "status": task.status_id,
            "priority": 2,
            "position": 0,
            "custom_fields": "{}",
            "expected_version": 1,
        },
    )
    assert r.status_code == 200  # form re-rendered with the error
    assert "Someone else changed this" in r.content.decode()
    assert Task.objects.get(pk=task.pk).title == "changed meanwhile"
    r = admin_client.post(
        f"/admin/tasks/task/{task.pk}/change/",
        {
            "project": task.project_id,
            "title": "admin edit",
            "description": "",
            "status": task.status_id,
            "priority": 2,
            "position": 0,
            "custom_fields": "{}",
            "expected_version": 2,
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    fresh = Task.objects.get(pk=task.pk)
    assert fresh.title == "admin edit" and fresh.version == 3
