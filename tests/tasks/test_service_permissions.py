"""The write services check `by=` themselves (tasks/permissions.py), whoever calls them: the API,
the Django admin, a script. Views only look up what the caller may see."""

import pytest

from contorl.errors import Forbidden, NotFound
from tasks import permissions, services
from tasks.models import Project, Task

pytestmark = pytest.mark.django_db


def fresh(user):
    permissions.forget_roles(user)
    return user


def test_task_writes_refuse_viewers_and_hide_from_outsiders(task, viewer, outsider, user):
    with pytest.raises(Forbidden):
        services.task_update(task=task, version=task.version, by=fresh(viewer), title="no")
    with pytest.raises(NotFound):
        services.task_update(task=task, version=task.version, by=fresh(outsider), title="no")
    with pytest.raises(Forbidden):
        services.task_create(project=task.project, by=fresh(viewer), title="no")
    with pytest.raises(Forbidden):
        services.comment_create(task=task, by=fresh(viewer), body="no")
    with pytest.raises(Forbidden):
        services.task_delete(task=task, by=fresh(viewer))
    assert Task.objects.get(pk=task.pk).title == task.title
    updated = services.task_update(task=task, version=task.version, by=fresh(user), title="yes")
    assert updated.title == "yes"


def test_project_writes_need_an_owner(project, user, owner):
    with pytest.raises(Forbidden):
        services.project_update(project=project, version=project.version, by=fresh(user), name="no")
    with pytest.raises(Forbidden):
        services.status_create(project=project, by=fresh(user), name="Review")
    renamed = services.project_update(project=project, version=project.version, by=fresh(owner), name="yes")
    assert renamed.name == "yes"


def test_the_system_acts_unchecked_and_archived_projects_stay_read_only(task, user):
    """by=None is automation acting on an owner's rule; an archived project refuses people."""
    Project.objects.filter(pk=task.project_id).update(archived=True)
    task = Task.objects.select_related("project").get(pk=task.pk)
    with pytest.raises(Forbidden):
        services.task_update(task=task, version=task.version, by=fresh(user), title="no")
    assert services.task_update(task=task, version=task.version, by=None, title="rule").title == "rule"


def test_admin_site_reports_a_refused_delete_instead_of_failing(admin_client, task):
    Project.objects.filter(pk=task.project_id).update(archived=True)
    r = admin_client.post(f"/admin/tasks/task/{task.pk}/delete/", {"post": "yes"}, follow=True)
    assert r.status_code == 200
    assert "archived" in r.content.decode()
    assert not Task.all_objects.get(pk=task.pk).is_deleted
