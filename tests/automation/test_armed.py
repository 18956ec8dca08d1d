"""automation.armed: "this project has no trigger" cached, never believed past a trigger change."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automation import armed, services
from automation.models import TriggerExecution
from tasks import services as task_services

from .factories import make_task

pytestmark = pytest.mark.django_db


def _trigger(project, owner, **kw):
    return services.trigger_create(
        project=project,
        by=owner,
        name=kw.pop("name", "raise priority"),
        event=kw.pop("event", "field_changed"),
        conditions=[],
        actions=[{"type": "set_field", "field": "priority", "value": 4}],
        **kw,
    )


def _trigger_reads(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return sum('"automation_trigger"' in q["sql"] and q["sql"].startswith("SELECT") for q in ctx.captured_queries)


def test_a_project_without_triggers_stops_asking_the_database(project, people):
    owner = people["owner"]
    task = make_task(project, owner)  # starts the project's generation
    for title in ("one", "two"):  # the first edit stores "none", the second believes it
        task = task_services.task_update(task=task, version=task.version, by=owner, title=title)
    assert _trigger_reads(lambda: task_services.task_update(task=task, version=task.version, by=owner, title="x")) == 0


def test_a_new_trigger_fires_on_the_next_write(eager, project, people, django_capture_on_commit_callbacks):
    owner = people["owner"]
    task = make_task(project, owner)
    for title in ("one", "two"):
        task = task_services.task_update(task=task, version=task.version, by=owner, title=title)
    assert armed.active_triggers(project.pk) == []  # "none" is cached
    trigger = _trigger(project, owner)
    # Same transaction, before any commit: the writer's own next write sees its trigger.
    assert armed.active_triggers(project.pk) == [trigger]
    with django_capture_on_commit_callbacks(execute=True):
        task_services.task_update(task=task, version=task.version, by=owner, title="three")
    assert TriggerExecution.objects.filter(trigger=trigger, depth=1).count() == 1  # fired by our write
    trigger.is_active = False
    trigger.save()  # any save, the admin's too
    assert armed.active_triggers(project.pk) == []


def test_none_stored_by_a_reader_that_raced_a_change_is_not_believed(project, people):
    gen_key, none_key = armed._keys(project.pk)
    armed.active_triggers(project.pk)  # starts the generation
    stale = cache.get(gen_key)
    trigger = _trigger(project, people["owner"])
    # A reader that read "none" from the database before the trigger committed stores it now.
    cache.set(none_key, stale, armed.NONE_TTL)
    assert armed.active_triggers(project.pk) == [trigger]


def test_the_commit_bumps_the_generation_again(project, people, django_capture_on_commit_callbacks):
    gen_key, none_key = armed._keys(project.pk)
    armed.active_triggers(project.pk)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _trigger(project, people["owner"])
    during = cache.get(gen_key)
    cache.set(none_key, during, armed.NONE_TTL)  # a racing reader after the first bump
    for callback in callbacks:
        callback()  # the commit
    assert cache.get(gen_key) > during
    assert len(armed.active_triggers(project.pk)) == 1


def test_a_failing_cache_means_the_query(project, people, monkeypatch):
    trigger = _trigger(project, people["owner"])

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get_many", down)
    assert armed.active_triggers(project.pk) == [trigger]
