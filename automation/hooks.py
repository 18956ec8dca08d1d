"""From a task write to queued trigger runs: the side of automation that task writes call into.

Two receivers, both inside the write's transaction:
- `on_task_history` (django-simple-history's post_create_historical_record): the historical
  record gives the task's state before and after the write. Only when the project has active
  triggers is that snapshot kept, on the task instance, for the receiver below.
- `on_task_event` (tasks.signals.task_event, sent by every task service): the service names
  the write (task_created, task_status_changed, task_assigned, task_updated); automation
  maps that name to trigger events (TRIGGER_EVENTS), matches the project's active triggers
  against the snapshot and queues a run for each match.

The run row is written in the same transaction as the write; the Celery message goes out
only after commit (`transaction.on_commit`), so a rolled-back write fires nothing.

Loop guard: while a run executes its actions, runner.current_depth() holds the run's depth;
writes it causes queue runs at depth + 1, and nothing is queued beyond MAX_DEPTH.
"""

import logging
import uuid

from django.db import transaction

from . import armed, rules
from .models import MAX_DEPTH, Trigger, TriggerExecution
from .runner import current_depth, run_trigger

log = logging.getLogger("contorl.automation")

# The service's event type -> the trigger event it fires. Stored triggers keep the names they
# were saved with (status_changed, assigned): this table is where the two vocabularies meet.
# task_updated fires no event of its own; field_changed below covers every edit.
# task_deleted and task_restored fire nothing (a restore is not an edit).
TRIGGER_EVENTS = {
    "task_created": Trigger.Event.TASK_CREATED,
    "task_status_changed": Trigger.Event.STATUS_CHANGED,
    "task_assigned": Trigger.Event.ASSIGNED,
    "task_updated": None,
}

_PENDING = "_automation_change"  # attribute of the Task instance between the two receivers


def trigger_events(event_type: str, before: dict | None, after: dict, changed: list[str]) -> list[str]:
    """The trigger events one task write fires, in order, given the event the service chose.

    A write fires the event the service named, plus the broader ones it implies: `assigned`
    also when the status changed in the same write (the service names only the status
    change), never for an unassignment; `field_changed` for every edit that changed a field.
    """
    if event_type not in TRIGGER_EVENTS:
        return []
    named = TRIGGER_EVENTS[event_type]
    # `assigned` is added below for every write that assigns someone.
    events = [named] if named in (Trigger.Event.TASK_CREATED, Trigger.Event.STATUS_CHANGED) else []
    assigned = "assignee" in changed or event_type == "task_created"
    if assigned and after.get("assignee") is not None:
        events.append(Trigger.Event.ASSIGNED)
    if changed:
        events.append(Trigger.Event.FIELD_CHANGED)
    return [str(e) for e in events]


def on_task_history(sender, instance, history_instance, **kwargs) -> None:
    """post_create_historical_record receiver for tasks: keep the write's snapshot."""
    instance.__dict__.pop(_PENDING, None)
    if history_instance.history_type == "-" or getattr(history_instance, "is_deleted", False):
        return
    triggers = armed.active_triggers(instance.project_id)
    if not triggers:
        return  # the common case: a cached "none", no query
    before = None
    if history_instance.history_type != "+":
        prev = (
            sender.objects.filter(id=instance.pk, history_id__lt=history_instance.history_id)
            .order_by("-history_id")
            .first()
        )
        if prev is None or prev.is_deleted:
            return  # a restore is not an edit
        before = rules.snapshot(prev)
    after = rules.snapshot(history_instance)
    setattr(
        instance,
        _PENDING,
        {
            "triggers": triggers,
            "before": before,
            "after": after,
            "changed": [] if before is None else rules.changed_fields(before, after),
            "task_version": history_instance.version,
            "actor": getattr(history_instance, "history_user_id", None),
        },
    )


def on_task_event(sender, task, event_type: str, **kwargs) -> None:
    """tasks.signals.task_event receiver: queue the runs of the triggers this write fires."""
    change = task.__dict__.pop(_PENDING, None)
    if change is None:
        return  # no history record for this event (a dependency edit), or no active trigger
    before, after, changed = change["before"], change["after"], change["changed"]
    events = trigger_events(event_type, before, after, changed)
    if not events:
        return
    depth = current_depth() + 1
    if depth > MAX_DEPTH:
        log.info(
            "trigger loop guard",
            extra={"event": "trigger_depth_limit", "task_id": task.pk, "depth": depth},
        )
        return
    for event in events:
        context = {
            "event": event,
            "task": task.pk,
            "project": task.project_id,
            "task_version": change["task_version"],
            "before": before,
            "after": after,
            "changed": changed,
            "actor": change["actor"],
        }
        for trigger in change["triggers"]:
            if trigger.event == event and rules.matches(trigger.conditions, context):
                queue_run(trigger, task_id=task.pk, context=context, depth=depth)


def queue_run(trigger: Trigger, *, task_id: int | None, context: dict, depth: int) -> TriggerExecution:
    """Record a queued run (attempt 1) now; send it to the broker after commit."""
    # The actions are snapshotted: a retry or replay does exactly what the first attempt
    # was asked to do, even if the trigger is edited meanwhile.
    context = {**context, "trigger_version": trigger.version, "actions": trigger.actions}
    execution = TriggerExecution.objects.create(
        trigger=trigger,
        run_id=uuid.uuid4(),
        attempt=1,
        task_id=task_id,
        event=context["event"],
        context=context,
        depth=depth,
    )
    run_id, attempt = str(execution.run_id), execution.attempt
    transaction.on_commit(lambda: enqueue(run_id, attempt))
    return execution


def enqueue(run_id: str, first_attempt: int) -> None:
    try:
        run_trigger.apply_async(args=[run_id, first_attempt])
    except Exception:  # the write committed; the run stays 'queued' and visible in the log
        log.exception("could not enqueue trigger run %s", run_id)
