"""Triggers fire after commit and run each action type (eager Celery, SQLite and PostgreSQL)."""

import hashlib
import hmac
import json

import pytest

from automation import services
from automation.models import Trigger, TriggerEffect, TriggerExecution
from tasks import services as task_services
from tasks.models import Task

from .factories import make_task, status

pytestmark = pytest.mark.django_db


def _trigger(project, owner, event="task_created", conditions=None, actions=None, **kw):
    return services.trigger_create(
        project=project,
        by=owner,
        name=kw.pop("name", f"t-{event}"),
        event=event,
        conditions=conditions or [],
        actions=actions or [{"type": "set_field", "field": "priority", "value": 4}],
        **kw,
    )


def _write(django_capture_on_commit_callbacks, fn):
    with django_capture_on_commit_callbacks(execute=True):
        return fn()


def test_created_trigger_sets_field_after_commit(eager, project, people, django_capture_on_commit_callbacks):
    owner = people["owner"]
    _trigger(project, owner, conditions=[{"field": "title", "op": "contains", "value": "urgent"}])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        task = make_task(project, owner, title="Fix URGENT leak")
        # Not run yet: the run is queued, the broker call waits for the commit.
        assert Task.objects.get(pk=task.pk).priority == 2
        assert TriggerExecution.objects.get().outcome == "queued"
    for cb in callbacks:
        cb()
    task.refresh_from_db()
    assert task.priority == 4
    assert task.version == 2
    row = TriggerExecution.objects.get()
    assert (row.attempt, row.outcome, row.depth) == (1, "success", 1)
    assert row.started_at and row.finished_at


def test_conditions_that_do_not_hold_queue_nothing(eager, project, people, django_capture_on_commit_callbacks):
    owner = people["owner"]
    _trigger(project, owner, conditions=[{"field": "title", "op": "contains", "value": "urgent"}])
    _write(django_capture_on_commit_callbacks, lambda: make_task(project, owner, title="calm"))
    assert not TriggerExecution.objects.exists()


def test_status_from_to(eager, project, people, django_capture_on_commit_callbacks):
    owner, member = people["owner"], people["member"]
    todo, doing, done = status(project, "To do"), status(project, "Doing"), status(project, "Done")
    _trigger(
        project,
        owner,
        event="status_changed",
        conditions=[
            {"field": "status", "op": "from", "value": doing.pk},
            {"field": "status", "op": "to", "value": done.pk},
        ],
        actions=[{"type": "assign", "user": member.pk}],
    )
    task = make_task(project, owner, title="x")
    _write(
        django_capture_on_commit_callbacks,
        lambda: task_services.task_update(task=task, version=1, by=owner, status=done),
    )
    task.refresh_from_db()
    assert task.assignee_id is None  # To do -> Done does not match from=Doing
    task.status = todo
    t2 = Task.objects.get(pk=task.pk)
    t2 = _write(
        django_capture_on_commit_callbacks,
        lambda: task_services.task_update(task=t2, version=2, by=owner, status=doing),
    )
    t2 = Task.objects.get(pk=task.pk)
    _write(
        django_capture_on_commit_callbacks, lambda: task_services.task_update(task=t2, version=3, by=owner, status=done)
    )
    task.refresh_from_db()
    assert task.assignee_id == member.pk
    assert TriggerExecution.objects.filter(outcome="success").count() == 1


def test_move_and_assigned_event(eager, project, people, django_capture_on_commit_callbacks):
    owner, member = people["owner"], people["member"]
    doing = status(project, "Doing")
    _trigger(
        project,
        owner,
        event="assigned",
        conditions=[{"field": "assignee", "op": "eq", "value": member.pk}],
        actions=[{"type": "move", "status": doing.pk}],
    )
    task = make_task(project, owner)
    _write(
        django_capture_on_commit_callbacks,
        lambda: task_services.task_update(task=Task.objects.get(pk=task.pk), version=1, by=owner, assignee=member),
    )
    task.refresh_from_db()
    assert task.status_id == doing.pk


def test_custom_field_condition_and_set(eager, project, people, django_capture_on_commit_callbacks):
    owner = people["owner"]
    task_services.custom_field_create(project=project, by=owner, key="severity", name="Severity", type="number")
    task_services.custom_field_create(project=project, by=owner, key="note", name="Note", type="text")
    _trigger(
        project,
        owner,
        event="field_changed",
        conditions=[
            {"field": "custom_fields.severity", "op": "changed"},
            {"field": "custom_fields.severity", "op": "gt", "value": 3},
        ],
        actions=[{"type": "set_field", "field": "custom_fields.note", "value": "escalated"}],
    )
    task = make_task(project, owner)
    _write(
        django_capture_on_commit_callbacks,
        lambda: task_services.task_update(
            task=Task.objects.get(pk=task.pk), version=1, by=owner, custom_fields={"severity": 2}
        ),
    )
    assert Task.objects.get(pk=task.pk).custom_fields.get("note") is None
    _write(
        django_capture_on_commit_callbacks,
        lambda: task_services.task_update(
            task=Task.objects.get(pk=task.pk), version=2, by=owner, custom_fields={"severity": 5}
        ),
    )
    task.refresh_from_db()
    assert task.custom_fields == {"severity": 5, "note": "escalated"}


def test_notify_users_roles_and_assignee(eager, project, people, django_capture_on_commit_callbacks, monkeypatch):
    owner, member, viewer = people["owner"], people["member"], people["viewer"]
    sent = []
    import notifications.services as ns

    real = ns.notify

    def spy(**kw):
        sent.append(kw)
        return real(**kw)

    monkeypatch.setattr(ns, "notify", spy)
    _trigger(
        project,
        owner,
        actions=[{"type": "notify", "roles": ["viewer", "assignee"], "users": [owner.pk], "message": "hi"}],
    )
    _write(django_capture_on_commit_callbacks, lambda: make_task(project, owner, title="n", assignee=member))
    trig = [s for s in sent if s["type"] == "trigger"]
    assert len(trig) == 1
    assert {u.pk for u in trig[0]["recipients"]} == {owner.pk, member.pk, viewer.pk}
    assert trig[0]["body"] == "hi"


def test_webhook_signed_with_idempotency_key(eager, project, people, receiver, django_capture_on_commit_callbacks):
    owner = people["owner"]
    trigger = _trigger(project, owner, actions=[{"type": "webhook", "url": receiver.url}])
    task = _write(django_capture_on_commit_callbacks, lambda: make_task(project, owner, title="hook me"))
    assert len(receiver.requests) == 1
    req = receiver.requests[0]
    expected = "sha256=" + hmac.new(trigger.secret.encode(), req["body"], hashlib.sha256).hexdigest()
    assert req["headers"]["X-Contorl-Signature"] == expected
    row = TriggerExecution.objects.get()
    assert req["headers"]["Idempotency-Key"] == f"{row.run_id}:0"
    body = json.loads(req["body"])
    assert body["task"]["id"] == task.pk and body["event"] == "task_created"
    assert TriggerEffect.objects.filter(run_id=row.run_id).count() == 1


def test_webhook_retries_then_fails_and_notifies_owners(
    eager, project, people, receiver, django_capture_on_commit_callbacks, monkeypatch
):
    owner = people["owner"]
    sent = []
    import notifications.services as ns

    monkeypatch.setattr(ns, "notify", lambda **kw: sent.append(kw))
    receiver.script = [500, 502, 503, 500]
    _trigger(project, owner, actions=[{"type": "webhook", "url": receiver.url}])
    _write(django_capture_on_commit_callbacks, lambda: make_task(project, owner))
    rows = list(TriggerExecution.objects.order_by("attempt"))
    assert [r.attempt for r in rows] == [1, 2, 3, 4]
    assert [r.outcome for r in rows] == ["retrying", "retrying", "retrying", "failed"]
    assert "HTTP 500" in rows[-1].error
    failed = [s for s in sent if s["type"] == "trigger_failed"]
    assert len(failed) == 1 and [u.pk for u in failed[0]["recipients"]] == [owner.pk]


def test_webhook_4xx_is_permanent(eager, project, people, receiver, django_capture_on_commit_callbacks):
    receiver.script = [404]
    _trigger(project, people["owner"], actions=[{"type": "webhook", "url": receiver.url}])
    _write(django_capture_on_commit_callbacks, lambda: make_task(project, people["owner"]))
    row = TriggerExecution.objects.get()
    assert row.outcome == "failed" and "404" in row.error
    assert len(receiver.requests) == 1


def test_replay_failed_run_keeps_key_and_skips_done_actions(
    eager, project, people, receiver, django_capture_on_commit_callbacks
):
    owner = people["owner"]
    receiver.script = [500, 500, 500, 500]
    _trigger(
        project,
        owner,
        actions=[{"type": "set_field", "field": "priority", "value": 0}, {"type": "webhook", "url": receiver.url}],
    )
    task = _write(django_capture_on_commit_callbacks, lambda: make_task(project, owner))
    assert Task.objects.get(pk=task.pk).version == 2  # set_field once, not once per attempt
    failed = TriggerExecution.objects.get(attempt=4)
    assert failed.outcome == "failed"
    replay = _write(django_capture_on_commit_callbacks, lambda: services.execution_replay(execution=failed, by=owner))
    replay.refresh_from_db()
    assert (replay.attempt, replay.outcome, replay.replay) == (5, "success", True)
    keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
    assert keys == {f"{failed.run_id}:1"}
    assert receiver.effects == [f"{failed.run_id}:1"]
    assert Task.objects.get(pk=task.pk).version == 2


def test_two_webhook_actions_of_one_run_are_two_deliveries(
    eager, project, people, receiver, django_capture_on_commit_callbacks
):
    owner = people["owner"]
    hook = {"type": "webhook", "url": receiver.url}
    _trigger(project, owner, actions=[hook, dict(hook)])
    _write(django_capture_on_commit_callbacks, lambda: make_task(project, owner, title="two hooks"))
    run_id = TriggerExecution.objects.get().run_id
    assert [r["headers"]["X-Contorl-Action-Index"] for r in receiver.requests] == ["0", "1"]
    assert receiver.effects == [f"{run_id}:0", f"{run_id}:1"]  # a deduplicating receiver applies both


def test_redelivered_attempt_does_not_repeat_local_effects(eager, project, people, django_capture_on_commit_callbacks):
    from automation import runner

    owner = people["owner"]
    _trigger(project, owner, actions=[{"type": "set_field", "field": "title", "value": "renamed"}])
    task = _write(django_capture_on_commit_callbacks, lambda: make_task(project, owner, title="orig"))
    row = TriggerExecution.objects.get()
    # Simulate a redelivery of attempt 1 after a crash (row still running).
    TriggerExecution.objects.filter(pk=row.pk).update(outcome="running")
    Task.objects.filter(pk=task.pk).update(title="changed by a person")
    runner.run_attempt(run_id=str(row.run_id), attempt=1, final=False)
    task.refresh_from_db()
    assert task.title == "changed by a person"
    row.refresh_from_db()
    assert row.deliveries == 2 and row.outcome == "success"


def test_loop_guard_limits_depth(eager, project, people, django_capture_on_commit_callbacks):
    owner = people["owner"]
    # Each run bumps the priority, which is itself a field change that matches again.
    _trigger(
        project,
        owner,
        event="field_changed",
        conditions=[{"field": "priority", "op": "changed"}],
        actions=[
            {"type": "set_field", "field": "estimated_hours", "value": None},
            {"type": "notify", "roles": ["owner"]},
        ],
    )
    _trigger(
        project,
        owner,
        name="ping",
        event="field_changed",
        conditions=[{"field": "estimated_hours", "op": "changed"}],
        actions=[{"type": "set_field", "field": "priority", "value": 0}],
    )
    _trigger(
        project,
        owner,
        name="pong",
        event="field_changed",
        conditions=[{"field": "priority", "op": "eq", "value": 0}],
        actions=[{"type": "set_field", "field": "estimated_hours", "value": 3}],
    )
    task = make_task(project, owner, estimated_hours=1)
    _write(
        django_capture_on_commit_callbacks,
        lambda: task_services.task_update(task=Task.objects.get(pk=task.pk), version=1, by=owner, priority=3),
    )
    depths = sorted(TriggerExecution.objects.values_list("depth", flat=True))
    assert depths and max(depths) == 3
    assert TriggerExecution.objects.count() < 20


def test_inactive_trigger_does_not_fire(eager, project, people, django_capture_on_commit_callbacks):
    _trigger(project, people["owner"], is_active=False)
    _write(django_capture_on_commit_callbacks, lambda: make_task(project, people["owner"]))
    assert not TriggerExecution.objects.exists()
    assert Trigger.objects.count() == 1


def test_each_attempt_counts_in_the_trigger_metric(eager, project, people, django_capture_on_commit_callbacks):
    from contorl.metrics import TRIGGER_ATTEMPTS

    before = TRIGGER_ATTEMPTS.labels("success")._value.get()
    _trigger(project, people["owner"])
    _write(django_capture_on_commit_callbacks, lambda: make_task(project, people["owner"], title="m"))
    assert TRIGGER_ATTEMPTS.labels("success")._value.get() == before + 1


def test_stored_trigger_events_follow_the_service_event(eager, project, people, django_capture_on_commit_callbacks):
    """A trigger stored as status_changed runs on the write the service publishes as
    task_status_changed; an event published without a task write (a dependency edit,
    task_updated) runs nothing, even right after a write that did fire."""
    from tasks.signals import task_event

    owner = people["owner"]
    done = status(project, "Done")
    _trigger(project, owner, event="status_changed", actions=[{"type": "set_field", "field": "priority", "value": 4}])
    _trigger(project, owner, event="field_changed", actions=[{"type": "set_field", "field": "priority", "value": 4}])
    task = make_task(project, owner, title="x")
    other = make_task(project, owner, title="y")
    seen = []

    def listen(sender, task, event_type, **kwargs):
        seen.append(event_type)

    task_event.connect(listen, sender=Task, dispatch_uid="test.listen")
    try:
        moved = _write(
            django_capture_on_commit_callbacks,
            lambda: task_services.task_update(task=task, version=1, by=owner, status=done),
        )
        assert seen[0] == "task_status_changed"
        runs = TriggerExecution.objects.filter(task_id=task.pk, depth=1).order_by("event")
        assert [r.event for r in runs] == ["field_changed", "status_changed"]
        before = TriggerExecution.objects.count()
        _write(
            django_capture_on_commit_callbacks,
            lambda: task_services.dependency_add(task=moved, depends_on=other, by=owner),
        )
        assert "task_updated" in seen
        assert TriggerExecution.objects.count() == before
    finally:
        task_event.disconnect(sender=Task, dispatch_uid="test.listen")
