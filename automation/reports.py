"""The weekly project report, rebuilt from task history so any past week can be asked for.

For ISO week W of a project (Monday 00:00 to the next Monday 00:00, in TIME_ZONE), using
each task's state at the end of the week (its last historical record before that moment):
- completed: live tasks that entered a done status during the week (created in a done
  column counts as entering it);
- created: live tasks created during the week;
- open: live tasks not in a done status at the end of the week;
- overdue: open tasks whose due date is before the end of the week;
- blocked: open tasks that depend on a task that is live and not done at the end of the week;
- by assignee (the assignee at the end of the week, unassigned last), with workload:
  open_hours = estimated hours of open tasks, completed_hours, capacity_hours from the
  user's weekly capacity, load = open_hours / capacity_hours.
Done-ness uses each status's current `is_done` flag. Constant number of queries.
"""

import csv
import datetime
import io
import re
from decimal import Decimal

from django.utils import timezone

from contorl.accounts.models import User
from contorl.errors import ValidationFailed
from contorl.payloads import user_brief
from tasks.models import Status, Task, TaskDependency

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
COUNTS = ("completed", "created", "open", "overdue", "blocked")


def parse_week(value: str | None) -> tuple[str, datetime.date]:
    """'2026-W47' -> ('2026-W47', Monday). Missing -> the previous ISO week."""
    if value in (None, ""):
        return previous_week()
    match = WEEK_RE.match(value) if isinstance(value, str) else None
    monday = None
    if match:
        year, week = int(match.group(1)), int(match.group(2))
        if 2000 <= year <= 2100:
            try:
                monday = datetime.date.fromisocalendar(year, week, 1)
            except ValueError:
                monday = None
    if monday is None:
        raise ValidationFailed.field("week", "Expected an ISO week like 2026-W47 (years 2000-2100).")
    return week_label(monday), monday


def week_label(monday: datetime.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def previous_week(today: datetime.date | None = None) -> tuple[str, datetime.date]:
    today = today or timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday() + 7)
    return week_label(monday), monday


def _at(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _hours(value) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def weekly_report(project, week: str | None) -> dict:
    label, monday = parse_week(week)
    end_day = monday + datetime.timedelta(days=7)
    start_dt, end_dt = _at(monday), _at(end_day)
    done = set(Status.objects.filter(project=project, is_done=True).values_list("pk", flat=True))

    history = (
        Task.history.model.objects.filter(project_id=project.pk, history_date__lt=end_dt)
        .order_by("id", "history_date", "history_id")
        .values_list(
            "id",
            "history_type",
            "history_date",
            "status_id",
            "assignee_id",
            "due_date",
            "estimated_hours",
            "is_deleted",
        )
    )
    state: dict[int, tuple] = {}
    completed: set[int] = set()
    prev_done: dict[int, bool] = {}
    for row in history.iterator(chunk_size=2000):
        task_id, kind, when, status_id, *_rest = row
        is_done = status_id in done and kind != "-"
        if start_dt <= when < end_dt and is_done and not prev_done.get(task_id, False):
            completed.add(task_id)
        prev_done[task_id] = is_done
        state[task_id] = row

    def live(row) -> bool:
        return row[1] != "-" and not row[7]

    live_ids = {t for t, row in state.items() if live(row)}
    open_ids = {t for t in live_ids if state[t][3] not in done}
    completed &= live_ids
    created = live_ids & set(
        Task.all_objects.filter(project=project, created_at__gte=start_dt, created_at__lt=end_dt).values_list(
            "pk", flat=True
        )
    )
    overdue = {t for t in open_ids if state[t][5] is not None and state[t][5] < end_day}
    blockers = TaskDependency.objects.filter(task_id__in=open_ids, created_at__lt=end_dt).values_list(
        "task_id", "depends_on_id"
    )
    blocked = {task for task, dep in blockers if dep in open_ids}

    users = {}
    assignee_ids = {state[t][4] for t in live_ids if state[t][4] is not None}
    if assignee_ids:
        users = {u.pk: u for u in User.objects.filter(pk__in=assignee_ids)}

    def empty_row():
        return {**{k: 0 for k in COUNTS}, "open_hours": Decimal(0), "completed_hours": Decimal(0)}

    rows: dict = {}
    sets = {"completed": completed, "created": created, "open": open_ids, "overdue": overdue, "blocked": blocked}
    for task_id in sorted(live_ids):
        row = state[task_id]
        # Deleting a user unassigns their tasks without a history row, so the history can
        # still name someone who is gone: count that work as unassigned.
        assignee = row[4] if row[4] in users else None
        bucket = rows.setdefault(assignee, empty_row())
        for name, ids in sets.items():
            if task_id in ids:
                bucket[name] += 1
        if task_id in open_ids:
            bucket["open_hours"] += _hours(row[6])
        if task_id in completed:
            bucket["completed_hours"] += _hours(row[6])

    by_assignee = []
    totals = empty_row()
    totals["capacity_hours"] = Decimal(0)
    ordered = sorted((k for k in rows if k is not None), key=lambda k: users[k].username) + (
        [None] if None in rows else []
    )
    for user_id in ordered:
        bucket = rows[user_id]
        if not any(bucket[k] for k in COUNTS):
            continue
        user = users.get(user_id)
        capacity = user.weekly_capacity_hours if user is not None else None
        for key in (*COUNTS, "open_hours", "completed_hours"):
            totals[key] += bucket[key]
        if capacity is not None:
            totals["capacity_hours"] += capacity
        by_assignee.append(
            {
                "user": user_brief(user) if user else None,
                **{k: bucket[k] for k in COUNTS},
                "open_hours": float(bucket["open_hours"]),
                "completed_hours": float(bucket["completed_hours"]),
                "capacity_hours": float(capacity) if capacity is not None else None,
                "load": round(float(bucket["open_hours"] / capacity), 2) if capacity else None,
            }
        )
    return {
        "project": {"id": project.pk, "key": project.key, "name": project.name},
        "week": label,
        "start": monday.isoformat(),
        "end": (end_day - datetime.timedelta(days=1)).isoformat(),
        "totals": {
            **{k: totals[k] for k in COUNTS},
            "open_hours": float(totals["open_hours"]),
            "completed_hours": float(totals["completed_hours"]),
            "capacity_hours": float(totals["capacity_hours"]),
        },
        "by_assignee": by_assignee,
        "tasks": {name: sorted(ids) for name, ids in sets.items() if name != "open"},
    }


CSV_COLUMNS = ("assignee", *COUNTS, "open_hours", "completed_hours", "capacity_hours", "load")


def report_csv(report: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["week", report["week"], "project", report["project"]["key"]])
    writer.writerow(CSV_COLUMNS)
    for row in report["by_assignee"]:
        name = row["user"]["username"] if row["user"] else "(unassigned)"
        writer.writerow([_safe(name), *[row[k] for k in CSV_COLUMNS[1:]]])
    totals = report["totals"]
    writer.writerow(["TOTAL", *[totals.get(k, "") for k in CSV_COLUMNS[1:-1]], ""])
    return out.getvalue()


def _safe(text: str) -> str:
    # Spreadsheet formula injection: a cell starting with = + - @ is shown as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def chart(report: dict) -> dict:
    """Bar geometry for the inline SVG chart on the report page (no scripts needed)."""
    rows = report["by_assignee"]
    peak = max([1] + [max(r["completed"], r["open"], r["overdue"]) for r in rows])
    bar_w, gap, group_w, height = 14, 4, 64, 160
    groups = []
    for i, r in enumerate(rows):
        x = 40 + i * group_w
        bars = []
        for j, (key, css) in enumerate((("completed", "bar-done"), ("open", "bar-open"), ("overdue", "bar-late"))):
            h = round(r[key] / peak * (height - 20))
            bars.append({"x": x + j * (bar_w + gap), "y": height - h, "h": h, "w": bar_w, "css": css, "value": r[key]})
        label = r["user"]["username"] if r["user"] else "-"
        groups.append({"bars": bars, "label": label[:10], "label_x": x + bar_w, "key": i})
    return {"groups": groups, "width": max(320, 60 + len(rows) * group_w), "height": height + 30, "base": height}
