"""Workload heatmap: per user and ISO week, assigned estimated hours against weekly capacity.

Load model: every live task that is not in a done column, has an assignee, estimated hours
and a due date contributes its hours spread evenly over the weeks from its start week to its
due week (only the due week when it has no start date). Tasks without a due date are not
scheduled, so they do not count. Sources in LOAD_SOURCES add more (planning: each working day
of a resource assignment of a worker who is a user adds its hours_per_day).

Caching: results live in the Django cache under a *generation* key. Any write that can change
a load (task create/update/move/assign/delete/restore, a status's is_done, a user's capacity
or department) bumps the generation, so every cached heatmap is invalid at once without
having to know which keys exist. The bump happens after commit (a reader between the write
and its commit would otherwise cache the pre-write rows under the new generation) and also
immediately (so the writer's own next read inside its request is not stale).

Other code that changes loads outside the models watched here sends `workload_changed`.
"""

import datetime
import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models.functions import Coalesce
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from contorl.accounts.permissions import is_admin
from contorl.errors import Forbidden, ValidationFailed
from contorl.transactions import on_commit_once

from .models import Status, Task

workload_changed = Signal()  # send(sender=...) after any write that changes assigned hours
# Other apps add load here (planning: resource assignments): fn(user_ids, start, end) yields
# (user_id, day, hours); each hour lands in the week of its day. Their writes send workload_changed.
LOAD_SOURCES: list = []

GENERATION_KEY = "workload:generation"
CACHE_SECONDS = 300
MAX_WEEKS = 26
DEFAULT_WEEKS = 8


# --- invalidation ---------------------------------------------------------------------------


def generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        # Start from the clock, not 1: if the key was evicted, restarting at 1 could revive
        # entries cached under an old generation 1.
        value = time.time_ns()
        cache.add(GENERATION_KEY, value, None)
        value = cache.get(GENERATION_KEY, value)
    return value


def invalidate() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no key yet: nothing can be cached under a missing generation
        pass
    except Exception:  # noqa: S110 (cache down: nothing is being cached either; the write must not fail)
        pass


def _invalidate_now_and_after_commit(**kwargs) -> None:
    invalidate()
    on_commit_once(invalidate)  # once per transaction, not once per row written


# What compute() reads of a task (Task.objects also hides deleted ones): a write of none of
# these (a title, a description, a position) leaves every heatmap as it was.
TASK_FIELDS_READ = frozenset(
    {"assignee", "assignee_id", "status", "status_id", "estimated_hours", "start_date", "due_date", "is_deleted"}
)


@receiver(post_save, sender=Task, dispatch_uid="workload-task-saved")
def _task_saved(sender, created=False, update_fields=None, **kwargs):
    if created or update_fields is None or TASK_FIELDS_READ & set(update_fields):
        _invalidate_now_and_after_commit()


@receiver(post_delete, sender=Task, dispatch_uid="workload-task-deleted")
def _task_deleted(sender, **kwargs):
    _invalidate_now_and_after_commit()


@receiver(post_save, sender=Status, dispatch_uid="workload-status-saved")
def _status_saved(sender, update_fields=None, created=False, **kwargs):
    if created or update_fields is None or "is_done" in update_fields:
        _invalidate_now_and_after_commit()


@receiver(post_save, sender=get_user_model(), dispatch_uid="workload-user-saved")
def _user_saved(sender, update_fields=None, **kwargs):
    watched = {"weekly_capacity_hours", "department", "department_id", "is_active"}
    if update_fields is None or watched & set(update_fields):
        _invalidate_now_and_after_commit()


@receiver(workload_changed, dispatch_uid="workload-changed")
def _workload_changed(sender, **kwargs):
    _invalidate_now_and_after_commit()


# --- parameters and visibility -----------------------------------------------------------------


def monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def week_label(day: datetime.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_params(query) -> dict:
    """Validate ?department=&start=YYYY-MM-DD&weeks=N into {department, start (a Monday), weeks}."""
    errors = {}
    weeks = DEFAULT_WEEKS
    raw_weeks = query.get("weeks")
    if raw_weeks not in (None, ""):
        try:
            weeks = int(raw_weeks)
        except (TypeError, ValueError):
            weeks = None
        if weeks is None or not 1 <= weeks <= MAX_WEEKS:
            errors["weeks"] = [f"A whole number from 1 to {MAX_WEEKS}."]
    start = monday(datetime.date.today())
    raw_start = query.get("start")
    if raw_start not in (None, ""):
        try:
            start = monday(datetime.date.fromisoformat(str(raw_start)[:10]))
        except ValueError:
            errors["start"] = ["A date as YYYY-MM-DD."]
        else:
            if not 2000 <= start.year <= 2100:  # the same range task dates accept
                errors["start"] = ["A date from 2000 to 2100."]
    department = None
    raw_department = query.get("department")
    if raw_department not in (None, ""):
        try:
            department = int(raw_department)
        except (TypeError, ValueError):
            errors["department"] = ["A department id."]
        else:
            if not 1 <= department <= 2**62:
                errors["department"] = ["A department id."]
    if errors:
        raise ValidationFailed("Invalid workload query.", details=errors)
    return {"department": department, "start": start, "weeks": weeks}


def visible_users(viewer, department: int | None):
    """Self; a department manager: their department; admin: everyone (optionally one department)."""
    users = get_user_model().objects.filter(is_active=True)
    if is_admin(viewer):
        return users.filter(department_id=department) if department else users
    if viewer.is_department_manager and viewer.department_id:
        if department and department != viewer.department_id:
            raise Forbidden("You can only see your own department's workload.")
        return users.filter(department_id=viewer.department_id)
    if department and department != viewer.department_id:
        raise Forbidden("You can only see your own workload.")
    return users.filter(pk=viewer.pk)


def scope_key(viewer, department: int | None) -> str:
    if is_admin(viewer):
        return f"all:{department or '-'}"
    if viewer.is_department_manager and viewer.department_id:
        return f"dept:{viewer.department_id}"
    return f"self:{viewer.pk}"


# --- the computation -----------------------------------------------------------------------------


def compute(users_qs, *, start: datetime.date, weeks: int) -> dict:
    """The heatmap for `users_qs` over `weeks` weeks from the Monday `start`: 2 queries."""
    end = start + datetime.timedelta(weeks=weeks) - datetime.timedelta(days=1)
    users = list(users_qs.select_related("department").order_by("department__name", "username"))
    labels = [week_label(start + datetime.timedelta(weeks=i)) for i in range(weeks)]
    hours: dict[int, list[Decimal]] = {u.pk: [Decimal(0)] * weeks for u in users}
    tasks = (
        Task.objects.filter(
            assignee_id__in=[u.pk for u in users],
            status__is_done=False,
            estimated_hours__isnull=False,
            due_date__isnull=False,
            due_date__gte=start,
        )
        .annotate(first_day=Coalesce("start_date", "due_date"))
        .filter(first_day__lte=end)
        .values_list("assignee_id", "first_day", "due_date", "estimated_hours")
    )
    for assignee_id, first_day, due_date, estimate in tasks:
        first_week, last_week = monday(first_day), monday(due_date)
        span = (last_week - first_week).days // 7 + 1
        share = Decimal(estimate) / span
        for i in range(span):
            index = (first_week - start).days // 7 + i
            if 0 <= index < weeks:
                hours[assignee_id][index] += share
    for source in LOAD_SOURCES:
        for user_id, day, extra in source(list(hours), start, end):
            index = (monday(day) - start).days // 7
            if user_id in hours and 0 <= index < weeks:
                hours[user_id][index] += Decimal(extra)
    rows = []
    for u in users:
        capacity = float(u.weekly_capacity_hours or 0)
        cells = []
        for i, label in enumerate(labels):
            h = round(float(hours[u.pk][i]), 2)
            load = round(h / capacity, 3) if capacity > 0 else (0.0 if h == 0 else None)
            cells.append({"week": label, "hours": h, "capacity": capacity, "load": load})
        rows.append(
            {
                "user": {
                    "id": u.pk,
                    "username": u.username,
                    "display_name": u.display_name,
                    "department": u.department_id,
                    "department_name": u.department.name if u.department_id else None,
                },
                "cells": cells,
            }
        )
    week_starts = [(start + datetime.timedelta(weeks=i)).isoformat() for i in range(weeks)]
    return {"start": start.isoformat(), "weeks": labels, "week_starts": week_starts, "rows": rows}


def workload_for(viewer, *, department: int | None, start: datetime.date, weeks: int) -> dict:
    """The heatmap `viewer` may see, from the cache when nothing changed since it was computed."""
    users_qs = visible_users(viewer, department)
    try:
        key = f"workload:{generation()}:{scope_key(viewer, department)}:{start.isoformat()}:{weeks}"
        cached = cache.get(key)
    except Exception:  # a cache outage degrades to computing every time, never to an error
        key, cached = None, None
    if cached is not None:
        return cached
    result = compute(users_qs, start=start, weeks=weeks)
    result["department"] = department
    if key is not None:
        try:
            cache.set(key, result, CACHE_SECONDS)
        except Exception:  # noqa: S110 (see above)
            pass
    return result


def department_choices(viewer) -> list[dict]:
    """Departments the viewer may filter by (for the page's select)."""
    from contorl.accounts.models import Department

    if is_admin(viewer):
        qs = Department.objects.all()
    elif viewer.is_department_manager and viewer.department_id:
        qs = Department.objects.filter(pk=viewer.department_id)
    else:
        return []
    return [{"id": d.pk, "name": d.name} for d in qs.order_by("name")]
