"""contorl.prepared.PreparedLookup: compiled once, the same instances as its queryset."""

import pytest
from django.db.models.sql.compiler import SQLCompiler

from contorl.errors import NotFound
from contorl.lookups import visible_or_404
from contorl.prepared import PreparedLookup
from tasks import selectors
from tasks.models import Task, TaskDependency
from tests.tasks.factories import TaskFactory, make_project

pytestmark = pytest.mark.django_db

FIELDS = [f.attname for f in Task._meta.concrete_fields]


@pytest.fixture
def tasks(user, make_user):
    """Two tasks in a project where `user` is a member, one with an assignee, a subtask and
    two dependencies (one on a deleted task, which the payload leaves out)."""
    lead = make_user("lead")
    project = make_project(lead, members=[(user, "member")])
    first = TaskFactory(project=project, assignee=lead, custom_fields={"line": 3})
    second = TaskFactory(project=project)
    TaskFactory(project=project, parent=first)
    gone = TaskFactory(project=project, is_deleted=True)
    TaskDependency.objects.create(task=first, depends_on=second)
    TaskDependency.objects.create(task=first, depends_on=gone)
    return first, second


def _as_seen(task: Task) -> dict:
    return {
        "fields": {name: getattr(task, name) for name in FIELDS},
        "project": (task.project.pk, task.project.name),
        "assignee": task.assignee and (task.assignee.pk, task.assignee.username),
        "member_role": task.member_role,
        "subtasks": task.live_subtask_count,
        "depends_on": sorted(d.depends_on_id for d in task.live_dependencies),
    }


def _the_queryset(pk, user_id):
    """What TASK_FOR_REQUEST[True, True] stands for, as a plain queryset with its prefetch."""
    lookup = selectors.with_member_role(selectors.task_lookup(), user_id)
    return selectors.tasks_with_payload_data(lookup).filter(pk=pk)


def test_a_prepared_lookup_gives_what_its_queryset_gives(tasks, user, make_user):
    outsider = make_user("outsider")
    lookup = selectors.TASK_FOR_REQUEST[True, True]
    seen = []
    for task in tasks:
        for who in (user, outsider):
            prepared = lookup(pk=task.pk, user_id=who.pk)
            plain = list(_the_queryset(task.pk, who.pk))
            assert len(prepared) == len(plain) == 1
            assert _as_seen(prepared[0]) == _as_seen(plain[0])
            seen.append(_as_seen(prepared[0]))
    # The values did change from call to call: roles, assignees, counts, dependencies.
    assert [s["member_role"] for s in seen] == ["member", None, "member", None]
    assert seen[0]["subtasks"] == 1 and seen[2]["subtasks"] == 0
    assert seen[0]["depends_on"] == [tasks[1].pk] and seen[2]["depends_on"] == []
    assert seen[0]["fields"]["custom_fields"] == {"line": 3}
    assert lookup(pk=tasks[1].pk + 10_000, user_id=user.pk) == []


def test_a_second_call_compiles_nothing(tasks, user, monkeypatch, django_assert_num_queries):
    lookup = selectors.TASK_FOR_REQUEST[True, True]
    lookup(pk=tasks[1].pk, user_id=user.pk)
    compiled = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **kw: compiled.append(self) or original(self, *a, **kw))
    # the task, then its dependencies (attached): through Django's cursor, so counted and timed
    with django_assert_num_queries(2):
        found = lookup(pk=tasks[0].pk, user_id=user.pk)
    assert [t.pk for t in found] == [tasks[0].pk]
    assert [d.depends_on_id for d in found[0].live_dependencies] == [tasks[1].pk]
    assert compiled == []
    list(_the_queryset(tasks[0].pk, user.pk))  # the queryset itself compiles every time
    assert len(compiled) >= 2


def test_a_builder_must_use_each_argument_as_a_parameter(tasks):
    shaped = PreparedLookup(lambda pk, limit: Task.objects.filter(pk=pk)[: max(limit, 1)])
    with pytest.raises(ValueError, match="limit"):
        shaped(pk=tasks[0].pk, limit=5)
    lookup = PreparedLookup(lambda pk: Task.objects.filter(pk=pk).order_by())
    with pytest.raises(TypeError):
        lookup(pk=tasks[0].pk, user_id=1)
    with pytest.raises(ValueError, match="order by"):
        PreparedLookup(lambda pk: Task.objects.filter(pk=pk).order_by("project__name").distinct())(pk=1)


def test_visible_or_404_takes_a_prepared_lookup(tasks, user):
    lookup = selectors.TASK_FOR_REQUEST[False, False]
    assert visible_or_404(lookup, str(tasks[0].pk), user_id=user.pk) == tasks[0]
    for pk in ("abc", "1.5", "-1", "9" * 30, None, "", " 1"):
        with pytest.raises(NotFound):
            visible_or_404(lookup, pk, user_id=user.pk)
    with pytest.raises(NotFound):
        visible_or_404(lookup, tasks[0].pk, user_id=user.pk, may_see=lambda task: False)
