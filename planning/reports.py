"""Capacity (per worker per day) and plan vs actual (per week), computed in Python over a few
queries. Calendar rules, the same everywhere:

- Working days are Monday to Friday. Assignments and capacity count on working days only.
- Daily capacity = weekly capacity / 5, minus the `hours_off` of live calendar exceptions
  covering the day (never below 0).
- A worker is over-allocated on a day when the hours of their live assignments (all
  projects) exceed that day's capacity.
- Planned hours of an assignment = hours_per_day x its working days; planned cost prices
  each day with the rate of the worker's type valid that day (like actuals). Hours on a
  day without a rate are reported as `unpriced_*_hours` and left out of the cost.
"""

import datetime
from collections import defaultdict
from decimal import Decimal
from itertools import accumulate

from django.utils.translation import gettext as _

from contorl.errors import ValidationFailed

from .models import Actual, Rate, ResourceAssignment, WorkerException

ZERO = Decimal(0)
MAX_CAPACITY_DAYS = 92
MAX_REPORT_WEEKS = 157


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def week_label(day: datetime.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def days(start: datetime.date, end: datetime.date):
    day = start
    while day <= end:
        yield day
        day += datetime.timedelta(days=1)


def is_working_day(day: datetime.date) -> bool:
    return day.weekday() < 5


def parse_date(query, name: str, default=None):
    raw = query.get(name)
    if raw in (None, ""):
        return default
    try:
        day = datetime.date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationFailed.field(name, _("A date as YYYY-MM-DD.")) from None
    if not 2000 <= day.year <= 2100:
        raise ValidationFailed.field(name, _("A date from 2000 to 2100."))
    return day


# --- rates -------------------------------------------------------------------------------


class RateBook:
    """All live rates of some worker types, looked up by day without further queries."""

    def __init__(self, worker_type_ids):
        self._rates: dict[int, list[Rate]] = defaultdict(list)
        for rate in Rate.objects.filter(worker_type_id__in=set(worker_type_ids)).order_by("valid_from"):
            self._rates[rate.worker_type_id].append(rate)

    def on(self, worker_type_id: int, day: datetime.date) -> Decimal | None:
        for rate in self._rates.get(worker_type_id, ()):
            if rate.valid_from <= day and (rate.valid_to is None or day <= rate.valid_to):
                return rate.cost_per_hour
        return None


# --- capacity ----------------------------------------------------------------------------


def _spread(rows, start: datetime.date, working: list[bool]) -> dict[int, list[int]]:
    """(worker id, from, to, hours) rows -> {worker id: per day of the range (index 0 is
    `start`), hundredths of an hour on working days, 0 on the others}. Hours carry two
    decimals, so whole hundredths are exact; each row adds at its first day and takes away
    after its last, and one running sum per worker gives every day (rows x days of
    additions was most of the calendar's time)."""
    n = len(working)
    steps: dict[int, list[int]] = {}
    for worker_id, first, last, hours in rows:
        a, b = max((first - start).days, 0), min((last - start).days, n - 1)
        if a > b:
            continue
        mine = steps.get(worker_id)
        if mine is None:
            mine = steps[worker_id] = [0] * (n + 1)
        cents = int(hours * 100)
        mine[a] += cents
        mine[b + 1] -= cents
    return {
        worker_id: [total if work else 0 for total, work in zip(accumulate(mine[:n]), working, strict=True)]
        for worker_id, mine in steps.items()
    }


def _hours_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"  # money() of cents / 100, for cents >= 0


CAPACITY_WORKER_FIELDS = ("id", "name", "user_id", "department_id", "worker_type_id", "weekly_capacity_hours")


def capacity(workers, start: datetime.date, end: datetime.date, *, compact: bool = False) -> list[dict]:
    """Rows for `workers` (a list): per day capacity, leave, assigned and over_allocated.

    One query for the assignments and one for the leave of all of them; the rest is
    arithmetic over the days of the range (200 workers x 84 days is ~17,000 cells, so the
    days and their ISO strings are worked out once, and the few distinct cells of a worker
    (working or not, leave, load) once each, not per day).

    `compact`: a row carries its distinct cells once (`cells`) and, per day of the range, the
    index of that day's cell (`day_cells`) instead of a dated cell per day (`days`). The
    calendar asks for this: a worker has a handful of distinct cells over 84 days, and the
    per-day form made 200 workers' answer 414 KB of JSON.
    """
    ids = [w.pk for w in workers]
    span = list(days(start, end))
    isos = [day.isoformat() for day in span]
    working = [is_working_day(day) for day in span]
    assigned = _spread(
        ResourceAssignment.objects.filter(worker_id__in=ids, start__lte=end, end__gte=start).values_list(
            "worker_id", "start", "end", "hours_per_day"
        ),
        start,
        working,
    )
    leave = _spread(
        WorkerException.objects.filter(worker_id__in=ids, start__lte=end, end__gte=start).values_list(
            "worker_id", "start", "end", "hours_off"
        ),
        start,
        working,
    )
    rows, nothing = [], [0] * len(span)
    for worker in workers:
        daily = int((worker.weekly_capacity_hours / 5).quantize(Decimal("0.01")) * 100)
        my_load, my_leave = assigned.get(worker.pk, nothing), leave.get(worker.pk, nothing)
        # (working, leave, load) -> (index, cell parts, capacity, load, over)
        kinds: dict[tuple, tuple[int, dict, int, int, bool]] = {}
        cells, over_days = [], 0
        total_capacity = total_assigned = 0
        for key in zip(working, my_leave, my_load, strict=True):
            kind = kinds.get(key)
            if kind is None:
                base = daily if key[0] else 0
                off = min(key[1], base)
                cap, load = base - off, key[2]
                parts = {
                    "capacity": _hours_text(cap),
                    "leave": _hours_text(off),
                    "assigned": _hours_text(load),
                    "over_allocated": load > cap,
                }
                kind = kinds[key] = (len(kinds), parts, cap, load, load > cap)
            index, parts, cap, load, over = kind
            over_days += over
            total_capacity += cap
            total_assigned += load
            cells.append(index)
        if not compact:
            table = [parts for _index, parts, *_rest in kinds.values()]
            cells = [{"date": iso, **table[k]} for iso, k in zip(isos, cells, strict=True)]
        row = {
            "worker": {
                "id": worker.pk,
                "name": worker.name,
                "user": worker.user_id,
                "department": worker.department_id,
                "worker_type": worker.worker_type_id,
                "weekly_capacity_hours": money(worker.weekly_capacity_hours),
            },
        }
        if compact:
            row["cells"] = [parts for _index, parts, *_rest in kinds.values()]
            row["day_cells"] = cells
        else:
            row["days"] = cells
        row["capacity_hours"] = money(Decimal(total_capacity) / 100)
        row["assigned_hours"] = money(Decimal(total_assigned) / 100)
        row["over_allocated_days"] = over_days
        rows.append(row)
    return rows


def workload_source(user_ids, start: datetime.date, end: datetime.date):
    """For tasks/workload.py: (user id, day, hours) of the assignments of workers who are users."""
    rows = ResourceAssignment.objects.filter(
        worker__user_id__in=user_ids, worker__is_deleted=False, start__lte=end, end__gte=start
    ).values_list("worker__user_id", "start", "end", "hours_per_day")
    for user_id, a_start, a_end, hours in rows:
        for day in days(max(a_start, start), min(a_end, end)):
            if is_working_day(day):
                yield user_id, day, hours


# --- plan vs actual ----------------------------------------------------------------------


def _empty_week() -> dict:
    return {
        "planned_hours": ZERO,
        "planned_cost": ZERO,
        "actual_hours": ZERO,
        "actual_cost": ZERO,
        "unpriced_planned_hours": ZERO,
        "unpriced_actual_hours": ZERO,
    }


def plan_vs_actual(*, projects, phase=None, start=None, end=None) -> dict:
    """Per ISO week of [start, end]: planned vs actual hours and cost for the live
    assignments and actuals of `projects` (ids), or of one `phase` within them."""
    assignments = ResourceAssignment.objects.filter(project_id__in=projects)
    actuals = Actual.objects.filter(project_id__in=projects)
    if phase is not None:
        assignments, actuals = assignments.filter(phase=phase), actuals.filter(phase=phase)
    if start is None or end is None:
        bounds = [
            d
            for d in (
                *assignments.order_by("start").values_list("start", flat=True)[:1],
                *assignments.order_by("-end").values_list("end", flat=True)[:1],
                *actuals.order_by("date").values_list("date", flat=True)[:1],
                *actuals.order_by("-date").values_list("date", flat=True)[:1],
            )
        ]
        today = datetime.date.today()
        start = start or (min(bounds) if bounds else monday(today))
        end = end or (max(bounds) if bounds else monday(today) + datetime.timedelta(days=6))
    if end < start:
        raise ValidationFailed.field("end", _("The end must not be before the start."))
    first = monday(start)
    if (monday(end) - first).days // 7 + 1 > MAX_REPORT_WEEKS:
        raise ValidationFailed.field("end", _("At most %(n)s weeks per report.") % {"n": MAX_REPORT_WEEKS})
    weeks: dict[datetime.date, dict] = {}
    week = first
    while week <= end:
        weeks[week] = _empty_week()
        week += datetime.timedelta(days=7)

    planned = list(
        assignments.filter(start__lte=end, end__gte=start).values_list(
            "worker__worker_type_id", "start", "end", "hours_per_day"
        )
    )
    done = list(actuals.filter(date__gte=start, date__lte=end).values_list("date", "hours", "cost"))
    book = RateBook({row[0] for row in planned})
    for type_id, a_start, a_end, hours in planned:
        for day in days(max(a_start, start), min(a_end, end)):
            if not is_working_day(day):
                continue
            cell = weeks[monday(day)]
            cell["planned_hours"] += hours
            rate = book.on(type_id, day)
            if rate is None:
                cell["unpriced_planned_hours"] += hours
            else:
                cell["planned_cost"] += hours * rate
    for day, hours, cost in done:
        cell = weeks[monday(day)]
        cell["actual_hours"] += hours
        if cost is None:
            cell["unpriced_actual_hours"] += hours
        else:
            cell["actual_cost"] += cost

    rows, totals = [], _empty_week()
    cumulative_planned = cumulative_actual = ZERO
    for week_start, cell in weeks.items():
        for key, value in cell.items():
            totals[key] += value
        cumulative_planned += cell["planned_hours"]
        cumulative_actual += cell["actual_hours"]
        rows.append(
            {
                "week": week_label(week_start),
                "week_start": week_start.isoformat(),
                **{k: money(v) for k, v in cell.items()},
                "remaining_hours": money(cell["planned_hours"] - cell["actual_hours"]),
                "remaining_cost": money(cell["planned_cost"] - cell["actual_cost"]),
                "cumulative_planned_hours": money(cumulative_planned),
                "cumulative_actual_hours": money(cumulative_actual),
            }
        )
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "weeks": rows,
        "totals": {
            **{k: money(v) for k, v in totals.items()},
            "remaining_hours": money(totals["planned_hours"] - totals["actual_hours"]),
            "remaining_cost": money(totals["planned_cost"] - totals["actual_cost"]),
        },
    }


CSV_COLUMNS = (
    "week",
    "week_start",
    "planned_hours",
    "planned_cost",
    "actual_hours",
    "actual_cost",
    "remaining_hours",
    "remaining_cost",
    "unpriced_planned_hours",
    "unpriced_actual_hours",
)


def plan_vs_actual_csv_rows(report: dict):
    yield CSV_COLUMNS
    for row in report["weeks"]:
        yield tuple(row[c] for c in CSV_COLUMNS)
    totals = report["totals"]
    yield ("total", "", *(totals[c] for c in CSV_COLUMNS[2:]))
