"""Due-soon reminders: once per task and due date, assignee notified, due_soon triggers fired."""

import datetime

import pytest

from automation import services
from automation.models import DueReminder, TriggerExecution
from notifications.models import Notification
from tasks.models import Task

from .factories import make_task, status

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)


def test_due_soon_once_per_task(eager, project, people, settings, django_capture_on_commit_callbacks):
    settings.DUE_SOON_HOURS = 24
    owner, member = people["owner"], people["member"]
    d = datetime.date
    soon = make_task(project, owner, title="due today", assignee=member, due_date=d(2026, 11, 23))
    make_task(project, owner, title="due in two days", assignee=member, due_date=d(2026, 11, 25))
    make_task(project, owner, title="already late", assignee=member, due_date=d(2026, 11, 22))
    make_task(project, owner, title="done", assignee=member, due_date=d(2026, 11, 23), status=status(project, "Done"))
    nobody = make_task(project, owner, title="nobody's", due_date=d(2026, 11, 23))
    services.trigger_create(
        project=project,
        by=owner,
        name="due",
        event="due_soon",
        conditions=[{"field": "assignee", "op": "eq", "value": None}],
        actions=[{"type": "set_field", "field": "priority", "value": 4}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.due_soon_sweep(now=NOW) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert services.due_soon_sweep(now=NOW + datetime.timedelta(minutes=15)) == 0
    notes = list(Notification.objects.filter(type="due_soon"))
    assert [(n.recipient_id, n.data["task"]) for n in notes] == [(member.pk, soon.pk)]
    assert set(DueReminder.objects.values_list("task_id", flat=True)) == {soon.pk, nobody.pk}
    # The due_soon trigger matched only the unassigned task, and ran once.
    assert list(TriggerExecution.objects.values_list("task_id", "outcome")) == [(nobody.pk, "success")]
    assert Task.objects.get(pk=nobody.pk).priority == 4
    # A new due date is announced again, once.
    Task.objects.filter(pk=soon.pk).update(due_date=d(2026, 11, 24))
    later = NOW + datetime.timedelta(days=1)
    assert services.due_soon_sweep(now=later) == 1
    assert services.due_soon_sweep(now=later) == 0
    assert Notification.objects.filter(type="due_soon").count() == 2


def test_due_soon_window_is_configurable(project, people, settings):
    owner, member = people["owner"], people["member"]
    make_task(project, owner, title="due in two days", assignee=member, due_date=datetime.date(2026, 11, 25))
    settings.DUE_SOON_HOURS = 24
    assert services.due_soon_sweep(now=NOW) == 0
    settings.DUE_SOON_HOURS = 72
    assert services.due_soon_sweep(now=NOW) == 1


def test_beat_schedule_names_real_tasks():
    from contorl.celery import app

    schedule = app.conf.beat_schedule
    names = {entry["task"] for entry in schedule.values()}
    assert names == {
        "automation.tasks.due_soon_reminders",
        "automation.tasks.weekly_reports",
        "automation.tasks.requeue_stale_runs",
        "contorl.sweep_orphan_files",
        "audit.seal_and_anchor",
        "accounts.flush_expired_tokens",
    }
    app.loader.import_default_modules()
    assert names <= set(app.tasks)
    weekly = schedule["automation-weekly-reports"]["schedule"]
    assert weekly.day_of_week == {1} and weekly.hour == {6} and weekly.minute == {0}
    flush = schedule["accounts-flush-expired-tokens"]["schedule"]  # once a day, every day
    assert flush.hour == {3} and flush.minute == {15} and len(flush.day_of_week) == 7


def test_stale_queued_runs_are_sent_again(eager, project, people):
    from django.utils import timezone

    from automation import runner

    owner = people["owner"]
    trigger = services.trigger_create(
        project=project, by=owner, name="t", event="task_created", actions=[{"type": "notify", "roles": ["owner"]}]
    )
    task = make_task(project, owner)  # not run: on_commit callbacks are not executed here
    row = TriggerExecution.objects.get(trigger=trigger)
    assert row.outcome == "queued"
    assert services.requeue_stale_runs() == 0  # recent: its message may still be on its way
    TriggerExecution.objects.filter(pk=row.pk).update(queued_at=timezone.now() - datetime.timedelta(minutes=11))
    assert services.requeue_stale_runs() == 1
    row.refresh_from_db()
    assert row.outcome == "success" and row.task_id == task.pk
    assert runner.run_attempt(run_id=str(row.run_id), attempt=1, final=False) == "success"  # duplicate: ignored
