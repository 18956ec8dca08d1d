"""Running one attempt of a trigger run: its actions, its webhooks, its outcome.

`run_trigger` (the Celery task, registered under its historical name
automation.tasks.run_trigger) runs attempt N of a run; automation/hooks.py queues runs.

Retry policy (exact, no jitter): attempt 1, then retries after 1 s, 2 s and 4 s
(`countdown = 2 ** retries`), so a run has at most 4 attempts. acks_late +
reject_on_worker_lost: a worker killed mid-attempt leaves the message unacknowledged and
the broker redelivers it.

Effect once: local actions (notify, set_field, assign, move) write a TriggerEffect row in
the same transaction as their effect, so a redelivered or retried attempt skips them;
webhooks carry `Idempotency-Key: <run_id>:<action index>` (and the receiver dedupes) and
get their TriggerEffect row once accepted. Webhooks leave through egress.py only.

Loop guard: while a run executes its actions, `_depth` holds the run's depth; the task
writes those actions make are queued by hooks.py at depth + 1.
"""

import contextvars
import datetime
import hashlib
import hmac
import json
import logging
import os
from decimal import Decimal

import httpx
from celery import shared_task
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contorl import metrics
from contorl.accounts.models import User
from contorl.errors import DomainError, VersionConflict
from notifications import services as notifications
from tasks import services as task_services
from tasks.models import ProjectMember, Status, Task
from tasks.selectors import task_fresh, task_payload

from . import conf, egress, rules
from .models import Trigger, TriggerEffect, TriggerExecution

log = logging.getLogger("contorl.automation")

_depth: contextvars.ContextVar[int] = contextvars.ContextVar("contorl_trigger_depth", default=0)

Outcome = TriggerExecution.Outcome


class TransientFailure(Exception):
    """Worth retrying: network error, timeout, 5xx, or a lost version race."""


class PermanentFailure(Exception):
    """Retrying cannot help (4xx from the webhook, the action is no longer valid)."""


WEBHOOKS_HELD_MESSAGE = "Webhook not sent: this trigger's webhooks are off until a project owner enables them."


def current_depth() -> int:
    return _depth.get()


@shared_task(
    bind=True,
    name="automation.tasks.run_trigger",
    max_retries=3,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def run_trigger(self, run_id: str, first_attempt: int = 1):
    retries = self.request.retries
    try:
        return run_attempt(run_id=run_id, attempt=first_attempt + retries, final=retries >= self.max_retries)
    except TransientFailure as exc:
        if self.request.is_eager:
            # Eager (embedded) mode: hand the Retry back instead of raising it, so Celery's
            # apply() runs the next attempt at once (no broker, hence no backoff delay).
            return self.retry(exc=exc, countdown=2**retries, throw=False)
        raise self.retry(exc=exc, countdown=2**retries) from exc


# --- running one attempt --------------------------------------------------------------------


def run_attempt(*, run_id: str, attempt: int, final: bool) -> str:
    """Run attempt `attempt` of run `run_id`. Returns the outcome; raises TransientFailure
    when the attempt failed and a retry should follow (unless `final`)."""
    first = TriggerExecution.objects.filter(run_id=run_id).order_by("attempt").select_related("trigger").first()
    if first is None:
        log.warning("trigger run %s vanished", run_id)
        return Outcome.SKIPPED
    row, _ = TriggerExecution.objects.get_or_create(
        run_id=run_id,
        attempt=attempt,
        defaults={
            "trigger": first.trigger,
            "task_id": first.task_id,
            "event": first.event,
            "context": first.context,
            "depth": first.depth,
        },
    )
    if row.outcome in (Outcome.SUCCESS, Outcome.FAILED, Outcome.SKIPPED):
        return row.outcome  # a duplicate delivery of an attempt that already finished
    if row.outcome == Outcome.RETRYING:
        # Redelivered after the worker died between logging the failure and scheduling the
        # retry: schedule it (a duplicate next attempt is harmless, effects are deduped).
        raise TransientFailure(row.error)
    row.outcome, row.started_at, row.finished_at, row.error = Outcome.RUNNING, timezone.now(), None, ""
    row.deliveries += 1
    row.save(update_fields=["outcome", "started_at", "finished_at", "error", "deliveries"])

    trigger = first.trigger
    task = Task.all_objects.select_related("project").filter(pk=row.task_id).first()
    if task is None or task.is_deleted:
        return _finish(row, Outcome.SKIPPED, "The task no longer exists.")
    token = _depth.set(row.depth)
    actions = row.context.get("actions") or []
    held = 0  # webhook actions not sent because the trigger's webhooks are not enabled
    try:
        for index, action in enumerate(actions):
            if action.get("type") == "webhook" and not trigger.webhooks_enabled:
                held += 1
                continue
            run_action(trigger=trigger, task_id=task.pk, action=action, index=index, row=row)
    except TransientFailure as exc:
        if final:
            _finish(row, Outcome.FAILED, str(exc))
            notify_failure(row, str(exc))
            return Outcome.FAILED
        _finish(row, Outcome.RETRYING, str(exc))
        raise
    except (PermanentFailure, DomainError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        _finish(row, Outcome.FAILED, message)
        notify_failure(row, message)
        return Outcome.FAILED
    except Exception as exc:
        # Unexpected (a database hiccup, a bug): log it, never leave the row "running";
        # it is retried like a transient failure and ends as failed with owners told.
        log.exception("trigger run %s attempt %s crashed", run_id, attempt)
        message = f"Internal error: {exc.__class__.__name__}"
        if final:
            _finish(row, Outcome.FAILED, message)
            notify_failure(row, message)
            return Outcome.FAILED
        _finish(row, Outcome.RETRYING, message)
        raise TransientFailure(message) from exc
    finally:
        _depth.reset(token)
    if held:
        return _finish(row, Outcome.SKIPPED if held == len(actions) else Outcome.SUCCESS, WEBHOOKS_HELD_MESSAGE)
    return _finish(row, Outcome.SUCCESS, "")


_METRIC_OUTCOME = {Outcome.SUCCESS: "success", Outcome.FAILED: "failure", Outcome.RETRYING: "retry"}


def _finish(row: TriggerExecution, outcome: str, error: str) -> str:
    row.outcome, row.error, row.finished_at = outcome, (error or "")[:2000], timezone.now()
    row.save(update_fields=["outcome", "error", "finished_at"])
    if outcome in _METRIC_OUTCOME:  # every attempt ends here exactly once
        metrics.trigger_attempt(_METRIC_OUTCOME[outcome])
    return outcome


def notify_failure(row: TriggerExecution, error: str) -> None:
    trigger = row.trigger
    owners = [
        m.user
        for m in ProjectMember.objects.filter(project_id=trigger.project_id, role=ProjectMember.Role.OWNER)
        .select_related("user")
        .order_by("user_id")
    ]
    notifications.notify(
        recipients=owners,
        type="trigger_failed",
        title=(_("Trigger failed: %(name)s") % {"name": trigger.name})[:200],
        body=f"Attempt {row.attempt} failed: {error}"[:1000],
        link=f"/projects/{trigger.project_id}/triggers/#trigger-{trigger.pk}",
        data={"trigger": trigger.pk, "run_id": str(row.run_id), "task": row.task_id, "project": trigger.project_id},
    )


def run_action(*, trigger: Trigger, task_id: int, action: dict, index: int, row: TriggerExecution) -> None:
    if action.get("type") == "webhook":
        if TriggerEffect.objects.filter(run_id=row.run_id, action_index=index).exists():
            return
        call_webhook(trigger=trigger, task_id=task_id, url=action["url"], row=row, index=index)
        try:
            TriggerEffect.objects.create(run_id=row.run_id, action_index=index)
        except IntegrityError:
            pass
        return
    with transaction.atomic():
        try:
            with transaction.atomic():
                TriggerEffect.objects.create(run_id=row.run_id, action_index=index)
        except IntegrityError:
            return  # this action already took effect in an earlier delivery or attempt
        _local_action(trigger=trigger, task_id=task_id, action=action, row=row)


def _local_action(*, trigger: Trigger, task_id: int, action: dict, row: TriggerExecution) -> None:
    # Lock the row so the version read here is the one the compare-and-set checks.
    task = Task.objects.select_for_update(of=("self",)).select_related("project", "assignee").filter(pk=task_id).first()
    if task is None:
        raise PermanentFailure("The task no longer exists.")
    kind = action["type"]
    fields: dict = {}
    if kind == "notify":
        _notify(trigger=trigger, task=task, action=action, row=row)
        return
    if kind == "set_field":
        field, value = action["field"], action.get("value")
        if field.startswith(rules.CUSTOM_PREFIX):
            key = field[len(rules.CUSTOM_PREFIX) :]
            if (task.custom_fields or {}).get(key) != value:
                fields["custom_fields"] = {key: value}
        elif rules.json_value(getattr(task, field)) != value:
            fields[field] = _model_value(field, value)
    elif kind == "assign":
        user_id = action.get("user")
        if task.assignee_id != user_id:
            role = ProjectMember.objects.filter(project_id=task.project_id, user_id=user_id).values_list(
                "role", flat=True
            )
            if user_id is not None and not role:
                raise PermanentFailure("The user to assign is no longer a member of the project.")
            fields["assignee"] = User.objects.get(pk=user_id) if user_id is not None else None
    elif kind == "move" and task.status_id != action["status"]:
        status = Status.objects.filter(pk=action["status"], project_id=task.project_id).first()
        if status is None:
            raise PermanentFailure("The target status no longer exists.")
        fields["status"] = status
    if not fields:
        return  # already as asked: writing again would only bump the version and re-fire
    try:
        task_services.task_update(task=task, version=task.version, by=None, **fields)
    except VersionConflict as exc:
        # Someone wrote between our read and our compare-and-set: try again later.
        raise TransientFailure(f"Version conflict on task {task.pk}; will retry.") from exc


def _model_value(field: str, value):
    if value is None:
        return None
    if rules.FIELD_TYPES[field] == "date":
        return datetime.date.fromisoformat(value)
    if field == "estimated_hours":
        return Decimal(str(value))
    if field == "priority":
        return int(value)
    return value


def _notify(*, trigger: Trigger, task, action: dict, row: TriggerExecution) -> None:
    roles = set(action.get("roles") or [])
    member_roles = roles - {"assignee"}
    users = list(action.get("users") or [])
    recipients = {}
    members = ProjectMember.objects.filter(project_id=task.project_id).select_related("user")
    for m in members:
        if m.user_id in users or m.role in member_roles:
            recipients[m.user_id] = m.user
    if "assignee" in roles and task.assignee_id:
        recipients[task.assignee_id] = task.assignee
    message = action.get("message") or ""
    notifications.notify(
        recipients=[u for u in recipients.values() if u.is_active],
        type="trigger",
        title=f"{trigger.name}: {task.title}"[:200],
        body=message,
        link=f"/projects/{task.project_id}/tasks/{task.pk}/",
        data={"trigger": trigger.pk, "task": task.pk, "project": task.project_id, "run_id": str(row.run_id)},
    )


def webhook_body(*, trigger: Trigger, task_id: int, row: TriggerExecution, index: int) -> bytes:
    try:
        task = task_payload(task_fresh(task_id))
    except Task.DoesNotExist:
        task = None
    body = {
        "id": str(row.run_id),
        "attempt": row.attempt,
        "action_index": index,
        "event": row.event,
        "trigger": {"id": trigger.pk, "name": trigger.name, "project": trigger.project_id},
        "changed": row.context.get("changed") or [],
        "before": row.context.get("before"),
        "task": task,
    }
    return json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True).encode()


_client: httpx.Client | None = None
_client_pid: int | None = None


def _http() -> httpx.Client:
    # One client per process: building one per call (TLS context, pool) costs ~0.1 s, which
    # would blur the exact retry timing. Recreated after a fork (prefork pool children).
    # It connects only to addresses the egress policy allows, and follows no redirect.
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        _client = egress.client()
        _client_pid = os.getpid()
    return _client


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def call_webhook(*, trigger: Trigger, task_id: int, url: str, row: TriggerExecution, index: int) -> None:
    body = webhook_body(trigger=trigger, task_id=task_id, row=row, index=index)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "CONTORL-webhook/1",
        "X-Contorl-Signature": sign(trigger.secret, body),
        # One key per webhook action of a run: every attempt, redelivery and replay of the run
        # sends the same one, and two webhook actions of one trigger are not mistaken for one.
        "Idempotency-Key": f"{row.run_id}:{index}",
        "X-Contorl-Action-Index": str(index),
        "X-Contorl-Attempt": str(row.attempt),
    }
    try:
        response = _http().post(url, content=body, headers=headers, timeout=conf.webhook_timeout())
    except egress.TargetNotAllowed as exc:
        # The reason and host go to the server log; the execution log, which project members
        # read, must not tell what lives at an internal address.
        log.warning(
            "webhook target refused",
            extra={"event": "webhook_refused", "trigger_id": trigger.pk, "host": exc.host, "reason": exc.reason},
        )
        raise PermanentFailure(egress.REFUSED_MESSAGE) from exc
    except httpx.TimeoutException as exc:
        raise TransientFailure(f"Webhook timed out: {exc.__class__.__name__}") from exc
    except httpx.HTTPError as exc:
        # The class only: the error text can describe the receiving host's network.
        raise TransientFailure(f"Webhook network error: {exc.__class__.__name__}") from exc
    except httpx.InvalidURL as exc:
        raise PermanentFailure("Webhook URL is not valid.") from exc
    status = response.status_code
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        raise PermanentFailure(f"Webhook answered HTTP {status}; redirects are not followed.")
    if status >= 500 or status in (408, 429):
        raise TransientFailure(f"Webhook answered HTTP {status}.")
    raise PermanentFailure(f"Webhook answered HTTP {status}.")
