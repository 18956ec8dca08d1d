"""Capacity with leave and over-allocation, plan vs actual numbers (JSON and CSV), and the
workload heatmap counting assignments."""

import csv
import datetime
import io
from decimal import Decimal

import pytest

from planning import services

pytestmark = pytest.mark.django_db
D = datetime.date


def test_capacity_with_leave_and_over_allocation(admin_user, admin_api, project, other_project, worker):
    services.exception_create(
        by=admin_user, worker=worker, start=D(2026, 2, 4), end=D(2026, 2, 4), hours_off=Decimal(8)
    )
    services.exception_create(
        by=admin_user, worker=worker, start=D(2026, 2, 5), end=D(2026, 2, 8), hours_off=Decimal(3), reason="doctor"
    )
    services.assignment_create(
        by=admin_user, project=project, worker=worker, start=D(2026, 2, 2), end=D(2026, 2, 6), hours_per_day=Decimal(6)
    )
    services.assignment_create(
        by=admin_user,
        project=other_project,
        worker=worker,
        start=D(2026, 2, 5),
        end=D(2026, 2, 10),
        hours_per_day=Decimal(4),
    )
    r = admin_api.get("/api/planning/capacity/", {"start": "2026-02-02", "end": "2026-02-08", "worker": worker.pk})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["start"], body["end"], body["count"]) == ("2026-02-02", "2026-02-08", 1)
    (row,) = body["results"]
    cells = [(d["date"][-2:], d["capacity"], d["leave"], d["assigned"], d["over_allocated"]) for d in row["days"]]
    assert cells == [
        ("02", "8.00", "0.00", "6.00", False),
        ("03", "8.00", "0.00", "6.00", False),
        ("04", "0.00", "8.00", "6.00", True),  # on leave all day
        ("05", "5.00", "3.00", "10.00", True),  # leave and a second project
        ("06", "5.00", "3.00", "10.00", True),
        ("07", "0.00", "0.00", "0.00", False),  # weekend: no capacity, nothing counted
        ("08", "0.00", "0.00", "0.00", False),
    ]
    assert (row["capacity_hours"], row["assigned_hours"], row["over_allocated_days"]) == ("26.00", "38.00", 3)
    only_over = admin_api.get(
        "/api/planning/capacity/", {"start": "2026-02-02", "end": "2026-02-03", "over_allocated": "true"}
    )
    assert only_over.json()["count"] == 0
    compact = admin_api.get(
        "/api/planning/capacity/", {"start": "2026-02-02", "end": "2026-02-08", "worker": worker.pk, "compact": "true"}
    )
    (short,) = compact.json()["results"]
    assert "days" not in short and len(short["cells"]) == 4, "each distinct cell once: 6 h, leave, 10 h, weekend"
    assert short["day_cells"] == [0, 0, 1, 2, 2, 3, 3]
    expanded = [{"date": d["date"], **short["cells"][k]} for d, k in zip(row["days"], short["day_cells"], strict=True)]
    assert expanded == row["days"], "the compact answer reads back to the same cells"
    assert {k: short[k] for k in ("worker", "capacity_hours", "over_allocated_days")} == {
        k: row[k] for k in ("worker", "capacity_hours", "over_allocated_days")
    }


def test_capacity_refuses_an_unreadable_flag(admin_api):
    window = {"start": "2026-02-02", "end": "2026-02-08"}
    for name in ("compact", "over_allocated"):
        r = admin_api.get("/api/planning/capacity/", {**window, name: "maybe"})
        assert r.status_code == 400 and name in r.json()["error"]["details"], r.content


def test_capacity_validates_its_range(admin_api):
    assert admin_api.get("/api/planning/capacity/", {"start": "2026-02-02"}).status_code == 400
    too_long = admin_api.get("/api/planning/capacity/", {"start": "2026-01-01", "end": "2026-06-01"})
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "validation_error"
    assert admin_api.get("/api/planning/capacity/", {"start": "2026-02-31", "end": "2026-03-01"}).status_code == 400


@pytest.fixture
def plan(admin_user, project, other_project, worker, welder_rates, linked):
    """8 h/day Thu 12 March - Tue 17 March 2026 (rate 40 until Sun 15th, 50 from Mon 16th)."""
    phase = services.phase_create(
        by=admin_user, project=project, name="Install", start=D(2026, 3, 9), end=D(2026, 3, 20)
    )
    services.assignment_create(
        by=admin_user,
        project=project,
        worker=worker,
        phase=phase,
        start=D(2026, 3, 12),
        end=D(2026, 3, 17),
        hours_per_day=Decimal(8),
    )
    for day, hours, in_phase in ((13, "7.5", True), (16, "8", True), (17, "2", False)):
        services.actual_create(
            by=admin_user,
            project=project,
            worker=worker,
            phase=phase if in_phase else None,
            date=D(2026, 3, day),
            hours=Decimal(hours),
        )
    # Not linked to the program: never part of the program or portfolio numbers.
    services.actual_create(by=admin_user, project=other_project, worker=worker, date=D(2026, 3, 13), hours=Decimal(5))
    return phase


def test_plan_vs_actual_by_week(admin_api, project, plan, program):
    r = admin_api.get("/api/planning/plan-vs-actual/", {"project": project.pk})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["scope"] == {"type": "project", "id": project.pk}
    assert (body["start"], body["end"]) == ("2026-03-12", "2026-03-17")
    weeks = {w["week"]: w for w in body["weeks"]}
    assert list(weeks) == ["2026-W11", "2026-W12"]
    w11, w12 = weeks["2026-W11"], weeks["2026-W12"]
    assert (w11["planned_hours"], w11["planned_cost"], w11["actual_hours"], w11["actual_cost"]) == (
        "16.00",
        "640.00",
        "7.50",
        "300.00",
    )
    assert (w11["remaining_hours"], w11["remaining_cost"]) == ("8.50", "340.00")
    assert (w12["planned_hours"], w12["planned_cost"], w12["actual_hours"], w12["actual_cost"]) == (
        "16.00",
        "800.00",
        "10.00",
        "500.00",
    )
    assert w12["cumulative_planned_hours"] == "32.00" and w12["cumulative_actual_hours"] == "17.50"
    totals = body["totals"]
    assert (totals["planned_hours"], totals["planned_cost"], totals["actual_hours"], totals["actual_cost"]) == (
        "32.00",
        "1440.00",
        "17.50",
        "800.00",
    )
    assert (totals["remaining_hours"], totals["remaining_cost"]) == ("14.50", "640.00")

    phase = admin_api.get("/api/planning/plan-vs-actual/", {"phase": plan.pk}).json()["totals"]
    assert (phase["planned_hours"], phase["actual_hours"], phase["actual_cost"]) == ("32.00", "15.50", "700.00")
    for scope in ({"program": program.pk}, {"portfolio": program.portfolio_id}):
        other = admin_api.get("/api/planning/plan-vs-actual/", scope).json()
        assert other["totals"] == totals and other["projects"] == [project.pk]
    window = admin_api.get(
        "/api/planning/plan-vs-actual/", {"project": project.pk, "start": "2026-03-16", "end": "2026-03-22"}
    )
    assert window.json()["totals"]["planned_hours"] == "16.00" and len(window.json()["weeks"]) == 1


def test_plan_vs_actual_needs_exactly_one_scope(admin_api, project, program):
    assert admin_api.get("/api/planning/plan-vs-actual/").status_code == 400
    both = admin_api.get("/api/planning/plan-vs-actual/", {"project": project.pk, "program": program.pk})
    assert both.status_code == 400
    assert admin_api.get("/api/planning/plan-vs-actual/", {"project": "x"}).status_code == 400


def test_plan_vs_actual_csv_export(admin_api, project, plan):
    r = admin_api.get("/api/planning/plan-vs-actual/export/", {"project": project.pk})
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    assert f"plan-vs-actual-project-{project.pk}.csv" in r["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert rows[0][:8] == [
        "week",
        "week_start",
        "planned_hours",
        "planned_cost",
        "actual_hours",
        "actual_cost",
        "remaining_hours",
        "remaining_cost",
    ]
    assert [row[0] for row in rows[1:]] == ["2026-W11", "2026-W12", "total"]
    assert rows[1][1:8] == ["2026-03-09", "16.00", "640.00", "7.50", "300.00", "8.50", "340.00"]
    assert rows[-1][2:8] == ["32.00", "1440.00", "17.50", "800.00", "14.50", "640.00"]
    # Errors stay in the JSON envelope.
    bad = admin_api.get("/api/planning/plan-vs-actual/export/")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"


def test_workload_heatmap_counts_assignments(api_for, admin_user, project, worker, django_capture_on_commit_callbacks):
    api = api_for(worker.user)
    url = "/api/workload/?start=2026-02-02&weeks=2"
    assert api.get(url).json()["rows"][0]["cells"][0]["hours"] == 0.0
    with django_capture_on_commit_callbacks(execute=True):
        a = services.assignment_create(
            by=admin_user,
            project=project,
            worker=worker,
            start=D(2026, 2, 5),
            end=D(2026, 2, 10),
            hours_per_day=Decimal(6),
        )
    cells = api.get(url).json()["rows"][0]["cells"]
    assert [c["hours"] for c in cells] == [12.0, 12.0]  # Thu+Fri, then Mon+Tue; the weekend does not count
    with django_capture_on_commit_callbacks(execute=True):
        services.assignment_delete(assignment=a, by=admin_user)
    assert [c["hours"] for c in api.get(url).json()["rows"][0]["cells"]] == [0.0, 0.0]


def _calendar_world(admin_user, project, welder, workers: int, start: int) -> None:
    """`workers` more workers, each with leave and two assignments in February 2026."""
    for i in range(workers):
        w = services.worker_create(by=admin_user, worker_type=welder, name=f"W{start + i}")
        services.exception_create(
            by=admin_user, worker=w, start=D(2026, 2, 9), end=D(2026, 2, 10), hours_off=Decimal(4)
        )
        for first, last in ((D(2026, 2, 2), D(2026, 2, 13)), (D(2026, 2, 9), D(2026, 2, 20))):
            services.assignment_create(
                by=admin_user, project=project, worker=w, start=first, end=last, hours_per_day=Decimal(5)
            )


# Capacity: grants, workers, assignments, leave. Assignments: grants, count, page. Plus slack.
CALENDAR_QUERIES = 6


def test_calendar_reads_take_a_constant_number_of_queries(
    api_for, admin_user, make_user, project, welder, linked, django_assert_max_num_queries
):
    """What the calendar page loads (capacity rows and assignments of 12 weeks) costs the same
    few queries for 2 workers as for 8: no query per worker, day, leave or assignment."""
    planner = make_user("pia")
    services.grant_create(by=admin_user, user=planner, role="planner", program=linked.program)
    window = {"start": "2026-01-05", "end": "2026-03-29", "page_size": "500"}
    urls = (
        ("/api/planning/capacity/", window),
        ("/api/planning/assignments/", {"from_date": window["start"], "to_date": window["end"], "page_size": "500"}),
    )

    def measure(expected_workers):
        # A fresh user object, as each request has: nothing remembered from the last round.
        api, counts = api_for(type(planner).objects.get(pk=planner.pk)), []
        for url, params in urls:
            with django_assert_max_num_queries(CALENDAR_QUERIES) as ctx:
                r = api.get(url, params)
            assert r.status_code == 200, r.content
            counts.append(len(ctx.captured_queries))
        rows = api.get(*urls[0]).json()["results"]
        assert len(rows) == expected_workers and len(rows[0]["days"]) == 84
        assert api.get(*urls[1]).json()["count"] == 2 * expected_workers
        return counts

    _calendar_world(admin_user, project, welder, 2, 0)
    small = measure(2)
    _calendar_world(admin_user, project, welder, 6, 2)
    assert measure(8) == small
