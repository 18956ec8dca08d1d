"""contorl.prepared_writes: the versioned UPDATE and the history and audit INSERTs, built once,
store what Django's own statements store."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Upper
from django.db.models.sql.compiler import SQLInsertCompiler, SQLUpdateCompiler

from audit.models import AuditLog
from contorl.api_fields import GivenFieldsOnly
from contorl.prepared_writes import PreparedInsert, compare_and_set
from tasks.api.serializers import TaskPatchSerializer, TaskSerializer
from tasks.models import Task
from tests.tasks.factories import TaskFactory, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(user):
    return TaskFactory(project=make_project(user), title="Calibrate line 3", priority=2)


@pytest.fixture
def compiled(monkeypatch):
    """The insert and update compilers Django ran (a prepared write runs none once warm)."""
    seen = []
    for compiler in (SQLInsertCompiler, SQLUpdateCompiler):
        original = compiler.as_sql
        monkeypatch.setattr(
            compiler,
            "as_sql",
            lambda self, *a, _o=original, **kw: seen.append(type(self).__name__) or _o(self, *a, **kw),
        )
    return seen


def _stored(model, pk) -> dict:
    return model.objects.filter(pk=pk).values().get()


def test_an_audit_row_is_stored_as_django_would_store_it(user, compiled):
    assert issubclass(AuditLog, PreparedInsert)
    at = datetime.datetime(2026, 12, 1, 8, 30, tzinfo=datetime.UTC)
    values = {"event_type": "task.update", "sensitivity": "low", "actor": user, "object_type": "tasks.task"}
    first = AuditLog.objects.create(**values, object_id="1", changes={"title": ["a", "b"]}, created_at=at)
    second = AuditLog.objects.create(**values, object_id="2", changes={"when": at, "hours": Decimal("1.50")})
    assert compiled == []  # the statement is written from the model's columns, never compiled
    assert first.pk and second.pk == first.pk + 1 and not second._state.adding
    row = _stored(AuditLog, second.pk)
    assert row["actor_id"] == user.pk and row["object_id"] == "2" and row["seq"] is None
    # JSON through the model's own encoder (DjangoJSONEncoder), as Django's statement does
    assert row["changes"] == {"when": "2026-12-01T08:30:00Z", "hours": "1.50"}
    assert _stored(AuditLog, first.pk)["created_at"] == at
    assert row["created_at"] > at  # the field's default, applied before the insert


def test_a_history_row_is_a_prepared_insert(task, user, compiled):
    historical = type(task.history.model())
    assert issubclass(historical, PreparedInsert)
    task.title = "warm"
    task.save()
    compiled.clear()
    task.title = "second"
    task.save()
    assert compiled == ["SQLUpdateCompiler"]  # save() of the task itself; its history row compiled nothing
    latest = task.history.order_by("-history_id").first()
    assert (latest.title, latest.history_type, latest.id) == ("second", "~", task.pk)


def test_an_expression_takes_djangos_path(user):
    entry = AuditLog.objects.create(event_type=Upper(Value("task.create")), sensitivity="low", actor=user)
    assert _stored(AuditLog, entry.pk)["event_type"] == "TASK.CREATE"


def test_a_refused_insert_leaves_the_transaction_usable(user):
    AuditLog.objects.create(event_type="task.create", sensitivity="low")
    with transaction.atomic():
        with pytest.raises(IntegrityError), transaction.atomic():
            AuditLog.objects.create(event_type="", sensitivity="low")  # auditlog_event_type_not_empty
        AuditLog.objects.create(event_type="task.update", sensitivity="low")
    assert list(AuditLog.objects.order_by("id").values_list("event_type", flat=True)) == ["task.create", "task.update"]


def test_compare_and_set_matches_the_stored_version_only(task, make_user, compiled):
    other = make_user("carol")
    compiled.clear()
    fields = {"title": "one", "assignee": other, "due_date": datetime.date(2027, 1, 2)}
    assert compare_and_set(Task, pk=task.pk, version=task.version, values=fields, using="default") == 1
    assert compiled == []  # written by hand, never compiled
    row = _stored(Task, task.pk)
    assert (row["title"], row["assignee_id"], row["due_date"], row["version"]) == (
        "one",
        other.pk,
        datetime.date(2027, 1, 2),
        task.version + 1,
    )
    stale = {"title": "two", "assignee": None, "due_date": None}
    assert compare_and_set(Task, pk=task.pk, version=task.version, values=stale, using="default") == 0
    assert _stored(Task, task.pk)["title"] == "one"
    assert compare_and_set(Task, pk=str(task.pk), version=task.version + 1, values=stale, using="default") == 1
    row = _stored(Task, task.pk)
    assert (row["title"], row["assignee_id"], row["due_date"], row["version"]) == ("two", None, None, task.version + 2)


def test_compare_and_set_takes_djangos_path_for_an_expression(task, compiled):
    matched = compare_and_set(
        Task, pk=task.pk, version=task.version, values={"priority": F("priority") + 1}, using="default"
    )
    assert matched == 1 and compiled == ["SQLUpdateCompiler"]
    assert _stored(Task, task.pk)["priority"] == task.priority + 1


def test_compare_and_set_refuses_an_instance_for_a_plain_field(task, user):
    with pytest.raises(TypeError):
        compare_and_set(Task, pk=task.pk, version=task.version, values={"title": user}, using="default")


def test_a_patch_serializer_binds_only_the_fields_given():
    assert issubclass(TaskPatchSerializer, GivenFieldsOnly)
    given = TaskPatchSerializer(data={"title": "x", "priority": 9, "nonsense": 1}, partial=True)
    assert set(given.fields) == {"title", "priority"}
    assert not given.is_valid() and set(given.errors) == {"priority"}
    assert set(TaskPatchSerializer(data="not a dict", partial=True).fields) == set(TaskPatchSerializer().fields)
    full = TaskSerializer(data={"title": "x"})
    assert "project" in full.fields and not full.is_valid()
