"""Every write of the automation app: triggers, replays, template copies, scheduled jobs."""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.services import Sensitivity
from contorl.errors import Conflict, Forbidden, ValidationFailed
from contorl.versioning import versioned_update
from notifications.services import notify
from tasks import permissions as perms
from tasks.models import Project, ProjectMember, ProjectTemplate, Status, Task

from . import conf, hooks, reports, rules
from .models import DueReminder, Trigger, TriggerExecution, WeeklyReport, new_secret

log = logging.getLogger("contorl.automation")

MAX_TRIGGERS_PER_PROJECT = 100


def _clean_name(name) -> str:
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
        raise ValidationFailed.field("name", _("A name of 1-200 characters."))
    return name.strip()


@transaction.atomic
def trigger_create(
    *, project, by, name: str, event: str, actions: list, conditions=None, is_active=True, webhooks_enabled=True
) -> Trigger:
    perms.require_owner(by, project)  # by=None: the system (template copies) acting
    name = _clean_name(name)
    conditions = [] if conditions is None else conditions
    rules.validate(project, event=event, conditions=conditions, actions=actions)
    if Trigger.objects.filter(project=project).count() >= MAX_TRIGGERS_PER_PROJECT:
        raise ValidationFailed(_("A project can have at most %(n)s triggers.") % {"n": MAX_TRIGGERS_PER_PROJECT})
    trigger = Trigger.objects.create(
        project=project,
        name=name,
        event=event,
        conditions=conditions,
        actions=actions,
        is_active=bool(is_active),
        webhooks_enabled=bool(webhooks_enabled),
        created_by=by,
    )
    audit.record("trigger.create", actor=by, obj=trigger, sensitivity=Sensitivity.MEDIUM, changes={"name": name})
    return trigger


@transaction.atomic
def trigger_update(*, trigger: Trigger, version: int, by, **fields) -> Trigger:
    perms.require_owner(by, trigger.project)
    allowed = {
        k: v
        for k, v in fields.items()
        if k in ("name", "event", "conditions", "actions", "is_active", "webhooks_enabled")
    }
    if "name" in allowed:
        allowed["name"] = _clean_name(allowed["name"])
    for flag in ("is_active", "webhooks_enabled"):
        if flag in allowed:
            allowed[flag] = bool(allowed[flag])
    enabling = allowed.get("webhooks_enabled") is True and not trigger.webhooks_enabled
    if enabling and by is None:
        # Enabling sends the project's task data to the URLs the trigger names.
        raise Forbidden(_("Only project owners can enable webhooks."))
    if {"event", "conditions", "actions"} & set(allowed):
        rules.validate(
            trigger.project,
            event=allowed.get("event", trigger.event),
            conditions=allowed.get("conditions", trigger.conditions),
            actions=allowed.get("actions", trigger.actions),
        )
    changes = {k: [getattr(trigger, k), v] for k, v in allowed.items() if getattr(trigger, k) != v}
    trigger = versioned_update(trigger, version=version, fields=allowed, by=by)
    audit.record("trigger.update", actor=by, obj=trigger, sensitivity=Sensitivity.MEDIUM, changes=changes)
    if "webhooks_enabled" in changes:
        audit.record(
            "trigger.webhooks_enable" if trigger.webhooks_enabled else "trigger.webhooks_disable",
            actor=by,
            obj=trigger,
            sensitivity=Sensitivity.HIGH,
            changes={"urls": trigger.webhook_urls},
        )
    return trigger


@transaction.atomic
def trigger_delete(*, trigger: Trigger, by) -> None:
    perms.require_owner(by, trigger.project)
    audit.record("trigger.delete", actor=by, obj=trigger, sensitivity=Sensitivity.MEDIUM)
    trigger.delete()


@transaction.atomic
def trigger_rotate_secret(*, trigger: Trigger, version: int, by) -> Trigger:
    perms.require_owner(by, trigger.project)
    trigger = versioned_update(trigger, version=version, fields={"secret": new_secret()}, by=by)
    audit.record("trigger.rotate_secret", actor=by, obj=trigger, sensitivity=Sensitivity.HIGH)
    return trigger


@transaction.atomic
def execution_replay(*, execution: TriggerExecution, by) -> TriggerExecution:
    """Run a permanently failed run again by hand: a new attempt with a fresh retry budget.

    It keeps the run id (so the webhook Idempotency-Key): actions that already took effect
    are not repeated, only what failed is tried again.
    """
    perms.require_owner(by, execution.trigger.project)
    latest = (
        TriggerExecution.objects.select_for_update()
        .filter(run_id=execution.run_id)
        .order_by("-attempt")
        .select_related("trigger")
        .first()
    )
    if latest.outcome != TriggerExecution.Outcome.FAILED:
        raise Conflict(_("Only a permanently failed run can be replayed."), details={"outcome": latest.outcome})
    attempt = latest.attempt + 1
    if attempt > 100:
        raise Conflict(_("This run was replayed too many times."))
    replay = TriggerExecution.objects.create(
        trigger=latest.trigger,
        run_id=latest.run_id,
        attempt=attempt,
        task_id=latest.task_id,
        event=latest.event,
        context=latest.context,
        depth=latest.depth,
        replay=True,
        replayed_by=by,
    )
    audit.record(
        "trigger.replay",
        actor=by,
        obj=latest.trigger,
        sensitivity=Sensitivity.MEDIUM,
        changes={"run_id": str(latest.run_id), "attempt": attempt},
    )
    run_id = str(latest.run_id)
    transaction.on_commit(lambda: hooks.enqueue(run_id, attempt))
    return replay


# --- templates ------------------------------------------------------------------------------


def _status_refs_out(value, names: dict):
    if isinstance(value, list):
        return [_status_refs_out(v, names) for v in value]
    return {"status_name": names.get(value)} if value in names else value


def _status_refs_in(value, ids: dict):
    if isinstance(value, list):
        return [_status_refs_in(v, ids) for v in value]
    if isinstance(value, dict) and "status_name" in value:
        if value["status_name"] not in ids:
            raise KeyError(value["status_name"])
        return ids[value["status_name"]]
    return value


def portable_triggers(project) -> list[dict]:
    """A project's triggers with status ids written as status names (for templates)."""
    names = dict(Status.objects.filter(project=project).values_list("pk", "name"))
    out = []
    for t in Trigger.objects.filter(project=project).order_by("name", "id"):
        conditions = [
            {**c, "value": _status_refs_out(c["value"], names)} if c.get("field") == "status" and "value" in c else c
            for c in t.conditions
        ]
        actions = [
            {**a, "status": _status_refs_out(a["status"], names)} if a.get("type") == "move" else a for a in t.actions
        ]
        out.append(
            {"name": t.name, "event": t.event, "conditions": conditions, "actions": actions, "is_active": t.is_active}
        )
    return out


def copy_triggers(src, dst_project, *, by=None) -> list[Trigger]:
    """Copy triggers from a project, a ProjectTemplate or template data into `dst_project`.

    Statuses are matched by name; users named by notify actions are kept only if they are
    members of the new project, and an assign action to a non-member is dropped. A trigger
    that cannot be expressed in the new project (unknown status, no action left, invalid)
    is skipped and logged. Every copy gets its own new webhook secret, and a copy with webhook
    actions has its webhooks off until a project owner enables them: whoever wrote the template
    chose where they send the new project's task data.
    """
    if isinstance(src, Project):
        items = portable_triggers(src)
    elif isinstance(src, ProjectTemplate):
        items = (src.data or {}).get("triggers") or []
    else:
        items = (src or {}).get("triggers") or []
    if not isinstance(items, list):
        return []
    status_ids = dict(Status.objects.filter(project=dst_project).values_list("name", "pk"))
    ctx = rules.project_context(dst_project)
    created = []
    for item in items[:MAX_TRIGGERS_PER_PROJECT]:
        try:
            conditions = [
                {**c, "value": _status_refs_in(c["value"], status_ids)} if isinstance(c, dict) and "value" in c else c
                for c in item.get("conditions") or []
            ]
            actions = []
            for a in item.get("actions") or []:
                if isinstance(a, dict) and a.get("type") == "move":
                    a = {**a, "status": _status_refs_in(a.get("status"), status_ids)}
                if isinstance(a, dict) and a.get("type") == "notify":
                    a = {**a, "users": [u for u in a.get("users") or [] if u in ctx["members"]]}
                    if not a["users"] and not a.get("roles"):
                        continue
                unassignable = a.get("user") is not None and ctx["members"].get(a["user"]) not in ("owner", "member")
                if isinstance(a, dict) and a.get("type") == "assign" and unassignable:
                    continue
                actions.append(a)
            name = _clean_name(item.get("name"))
            rules.validate(dst_project, event=item.get("event"), conditions=conditions, actions=actions, ctx=ctx)
        except (KeyError, TypeError, AttributeError, ValidationFailed) as exc:
            log.warning("trigger not copied into project %s: %r", dst_project.pk, exc)
            continue
        trigger = Trigger.objects.create(
            project=dst_project,
            name=name,
            event=item["event"],
            conditions=conditions,
            actions=actions,
            is_active=bool(item.get("is_active", True)),
            webhooks_enabled=not any(a.get("type") == "webhook" for a in actions),
            created_by=by,
        )
        created.append(trigger)
    if created:
        audit.record(
            "trigger.copy",
            actor=by,
            obj=dst_project,
            sensitivity=Sensitivity.LOW,
            changes={
                "triggers": [t.pk for t in created],
                "webhooks_off": [t.pk for t in created if not t.webhooks_enabled],
            },
        )
    return created


def template_snapshot_hook(project):
    return "triggers", portable_triggers(project)


def template_apply_hook(project, data: dict, by) -> None:
    copy_triggers(data, project, by=by)


# --- scheduled jobs --------------------------------------------------------------------------


def _due_end(due: datetime.date) -> datetime.datetime:
    # A task is due by the end of its due date (local time), like "overdue" in the report.
    return timezone.make_aware(datetime.datetime.combine(due + datetime.timedelta(days=1), datetime.time.min))


def due_soon_sweep(*, now: datetime.datetime | None = None) -> int:
    """Remind assignees of tasks due within DUE_SOON_HOURS, once per task and due date, and
    fire the project's due_soon triggers for them. Returns how many tasks were announced."""
    now = now or timezone.now()
    horizon = now + datetime.timedelta(hours=conf.due_soon_hours())
    first_day = timezone.localtime(now).date()
    last_day = timezone.localtime(horizon).date()
    reminded = DueReminder.objects.filter(task_id=OuterRef("pk"), due_date=OuterRef("due_date"))
    candidates = (
        Task.objects.filter(due_date__gte=first_day, due_date__lte=last_day, status__is_done=False)
        .filter(project__archived=False)
        .exclude(Exists(reminded))
        .select_related("assignee", "project")
        .order_by("due_date", "id")
    )
    count = 0
    for task in candidates.iterator(chunk_size=500):
        if not now < _due_end(task.due_date) <= horizon:
            continue
        if _announce_due(task):
            count += 1
    return count


@transaction.atomic
def _announce_due(task) -> bool:
    try:
        with transaction.atomic():
            DueReminder.objects.create(task=task, due_date=task.due_date, notified_user=task.assignee)
    except IntegrityError:
        return False  # another sweep got there first
    if task.assignee_id:
        notify(
            recipients=[task.assignee],
            type="due_soon",
            title=(_("Due %(date)s: %(title)s") % {"date": task.due_date.isoformat(), "title": task.title})[:200],
            link=f"/projects/{task.project_id}/tasks/{task.pk}/",
            data={"task": task.pk, "project": task.project_id, "due_date": task.due_date.isoformat()},
        )
    after = rules.snapshot(task)
    context = {
        "event": Trigger.Event.DUE_SOON,
        "task": task.pk,
        "project": task.project_id,
        "task_version": task.version,
        "before": None,
        "after": after,
        "changed": [],
        "actor": None,
    }
    for trigger in Trigger.objects.filter(project_id=task.project_id, is_active=True, event=Trigger.Event.DUE_SOON):
        if rules.matches(trigger.conditions, context):
            hooks.queue_run(trigger, task_id=task.pk, context=context, depth=1)
    return True


def weekly_reports_deliver(*, today: datetime.date | None = None) -> int:
    """Store and announce last ISO week's report for every active project, once each."""
    label, _monday = reports.previous_week(today)
    done = WeeklyReport.objects.filter(project_id=OuterRef("pk"), week=label)
    count = 0
    for project in Project.objects.filter(archived=False).exclude(Exists(done)).order_by("id"):
        try:
            data = reports.weekly_report(project, label)
        except Exception:
            # One project's broken data must not cost every later project its report.
            log.exception("weekly report failed", extra={"event": "weekly_report_failed", "project_id": project.pk})
            continue
        try:
            with transaction.atomic():
                WeeklyReport.objects.create(project=project, week=label, data=data)
                owners = [
                    m.user
                    for m in ProjectMember.objects.filter(
                        project=project, role=ProjectMember.Role.OWNER
                    ).select_related("user")
                ]
                t = data["totals"]
                notify(
                    recipients=owners,
                    type="weekly_report",
                    title=(_("Weekly report %(key)s %(week)s") % {"key": project.key, "week": label})[:200],
                    body=_("Completed %(completed)s, created %(created)s, overdue %(overdue)s, blocked %(blocked)s.")
                    % {
                        "completed": t["completed"],
                        "created": t["created"],
                        "overdue": t["overdue"],
                        "blocked": t["blocked"],
                    },
                    link=f"/projects/{project.pk}/reports/weekly/?week={label}",
                    data={"project": project.pk, "week": label, "totals": t},
                )
        except IntegrityError:
            continue
        count += 1
    return count


def requeue_stale_runs(*, older_than_minutes: int = 10) -> int:
    """Send again the runs whose broker message never left (Redis was down at commit time).

    A run still 'queued' long after it was recorded was never picked up. Sending it twice is
    harmless: a duplicate delivery of a finished attempt is ignored and effects are deduped.
    """
    cutoff = timezone.now() - datetime.timedelta(minutes=older_than_minutes)
    stale = list(
        TriggerExecution.objects.filter(outcome=TriggerExecution.Outcome.QUEUED, queued_at__lt=cutoff)
        .order_by("queued_at")
        .values_list("run_id", "attempt")[:500]
    )
    for run_id, attempt in stale:
        hooks.enqueue(str(run_id), attempt)
    return len(stale)
