"""Factories for the automation tests: projects and tasks through the tasks services."""

import itertools

from tasks import services as task_services
from tasks.models import ProjectMember, Status

_keys = itertools.count(1)


def make_project(owner, *, members=(), statuses=(("To do", False), ("Doing", False), ("Done", True))):
    """A project owned by `owner`; `members` = [(user, role)]; statuses as (name, is_done)."""
    project = task_services.project_create(
        by=owner,
        name=f"Automation {next(_keys)}",
        key=f"AU{next(_keys):04d}",
        template=None,
    )
    Status.objects.filter(project=project).delete()
    for i, (name, done) in enumerate(statuses):
        Status.objects.create(project=project, name=name, order=i, is_done=done)
    for user, role in members:
        ProjectMember.objects.create(project=project, user=user, role=role)
    return project


def status(project, name):
    return Status.objects.get(project=project, name=name)


def make_task(project, by, **fields):
    fields.setdefault("title", "A task")
    return task_services.task_create(project=project, by=by, **fields)
