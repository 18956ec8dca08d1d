"""Board test data, created through the real services (so events and audit happen as in production)."""

import itertools

from tasks import services
from tasks.models import ProjectMember, Status

_keys = itertools.count(1)


def make_project(owner, *, members=(), name="Board project", department=None):
    """A project owned by `owner` with the default statuses; `members` = [(user, role), ...]."""
    project = services.project_create(by=owner, name=name, key=f"BP{next(_keys)}", department=department)
    for user, role in members:
        ProjectMember.objects.create(project=project, user=user, role=role)
    return project


def statuses(project) -> list[Status]:
    return list(Status.objects.filter(project=project).order_by("order", "id"))


def make_task(project, by, **fields):
    fields.setdefault("title", "A task")
    return services.task_create(project=project, by=by, **fields)
