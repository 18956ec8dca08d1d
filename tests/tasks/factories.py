"""Factories for the tasks app (plain functions over the services where rules matter)."""

import itertools

import factory

from tasks.models import Project, ProjectMember, Status, Task

_keys = itertools.count(1)


def next_key() -> str:
    return f"P{next(_keys):04d}"


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    key = factory.LazyFunction(next_key)


class StatusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Status

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Column {n}")
    order = factory.Sequence(lambda n: n % 1000)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    project = factory.SubFactory(ProjectFactory)
    status = factory.LazyAttribute(
        lambda o: o.project.statuses.order_by("order").first() or StatusFactory(project=o.project)
    )
    title = factory.Sequence(lambda n: f"Task {n}")
    position = factory.Sequence(lambda n: n)


def make_project(owner, *, members=(), department=None, statuses=("To do", "Doing", "Done")) -> Project:
    """A project owned by `owner` with the given statuses; `members` = [(user, role), ...]."""
    project = ProjectFactory(department=department or owner.department, created_by=owner)
    ProjectMember.objects.create(project=project, user=owner, role="owner")
    for user, role in members:
        ProjectMember.objects.create(project=project, user=user, role=role)
    for i, name in enumerate(statuses):
        Status.objects.create(project=project, name=name, order=i, is_done=(i == len(statuses) - 1))
    return project
