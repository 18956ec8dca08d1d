"""Weekly report numbers on a fixed data set equal hand-computed values; delivery once; API."""

import datetime

import pytest

from automation import reports, services
from automation.models import WeeklyReport
from contorl.versioning import versioned_update
from notifications.models import Notification
from tasks.models import Task, TaskDependency

from .factories import status

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


def at(day, hour=12, month=11):
    return datetime.datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def week_data(project, people):
    """ISO week 2026-W47 = Mon 16 .. Sun 22 November 2026 (see the expected numbers below)."""
    owner, member = people["owner"], people["member"]  # olive (40 h), mike (20 h)
    member.weekly_capacity_hours = 20
    member.save(update_fields=["weekly_capacity_hours"])
    todo, doing, done = status(project, "To do"), status(project, "Doing"), status(project, "Done")

    def create(title, when, st, assignee=None, est=None, due=None):
        task = Task(project=project, title=title, status=st, assignee=assignee, estimated_hours=est, due_date=due)
        task._history_date = when
        task.save()
        Task.all_objects.filter(pk=task.pk).update(created_at=when)
        return task

    def change(task, when, **fields):
        task._history_date = when
        return versioned_update(task, version=task.version, fields=fields)

    t = {}
    t[1] = create("T1 done this week", at(10), todo, member, 5)
    change(t[1], at(18), status=done)
    t[2] = create("T2 overdue", at(17), todo, member, 3, datetime.date(2026, 11, 20))
    t[3] = create("T3 born done", at(18), done, owner, 2)
    t[4] = create("T4 blocked", at(11), doing, owner, 8, datetime.date(2026, 11, 25))
    t[5] = create("T5 unassigned due Sunday", at(19), todo, None, None, datetime.date(2026, 11, 22))
    t[6] = create("T6 done last week", at(10), todo, member, 4)
    change(t[6], at(12), status=done)
    t[7] = create("T7 deleted", at(17), todo, member, 9)
    change(t[7], at(19), is_deleted=True, deleted_at=at(19))
    t[8] = create("T8 done next week", at(16, 8), todo, member, 1)
    change(t[8], at(24), status=done)
    t[9] = create("T9 next week", at(25), todo, member, 1, datetime.date(2026, 11, 20))
    TaskDependency.objects.create(task=t[4], depends_on=t[2])  # T2 open: T4 blocked
    TaskDependency.objects.create(task=t[8], depends_on=t[6])  # T6 done: T8 not blocked
    TaskDependency.objects.update(created_at=at(18))
    return t


def test_weekly_report_matches_hand_computed_values(project, people, week_data, django_assert_max_num_queries):
    t = week_data
    with django_assert_max_num_queries(8):
        report = reports.weekly_report(project, "2026-W47")
    assert (report["week"], report["start"], report["end"]) == ("2026-W47", "2026-11-16", "2026-11-22")
    assert report["tasks"] == {
        "completed": sorted([t[1].pk, t[3].pk]),
        "created": sorted([t[2].pk, t[3].pk, t[5].pk, t[8].pk]),
        "overdue": sorted([t[2].pk, t[5].pk]),
        "blocked": [t[4].pk],
    }
    assert report["totals"] == {
        "completed": 2,
        "created": 4,
        "open": 4,
        "overdue": 2,
        "blocked": 1,
        "open_hours": 12.0,
        "completed_hours": 7.0,
        "capacity_hours": 60.0,
    }
    rows = [
        (r["user"]["username"] if r["user"] else None, {k: v for k, v in r.items() if k != "user"})
        for r in report["by_assignee"]
    ]
    assert rows == [
        (
            "mike",
            {
                "completed": 1,
                "created": 2,
                "open": 2,
                "overdue": 1,
                "blocked": 0,
                "open_hours": 4.0,
                "completed_hours": 5.0,
                "capacity_hours": 20.0,
                "load": 0.2,
            },
        ),
        (
            "olive",
            {
                "completed": 1,
                "created": 1,
                "open": 1,
                "overdue": 0,
                "blocked": 1,
                "open_hours": 8.0,
                "completed_hours": 2.0,
                "capacity_hours": 40.0,
                "load": 0.2,
            },
        ),
        (
            None,
            {
                "completed": 0,
                "created": 1,
                "open": 1,
                "overdue": 1,
                "blocked": 0,
                "open_hours": 0.0,
                "completed_hours": 0.0,
                "capacity_hours": None,
                "load": None,
            },
        ),
    ]


def test_previous_week_sees_its_own_state(project, week_data):
    report = reports.weekly_report(project, "2026-W46")
    t = week_data
    assert report["tasks"]["completed"] == [t[6].pk]
    assert report["tasks"]["created"] == sorted([t[1].pk, t[4].pk, t[6].pk])


def test_api_json_csv_and_invalid_week(api_for, project, people, week_data, settings):
    settings.RATELIMIT_HEAVY = "1000/m"
    client = api_for(people["viewer"])
    res = client.get(f"/api/projects/{project.pk}/reports/weekly/?week=2026-W47")
    assert res.status_code == 200 and res.json()["totals"]["completed"] == 2
    csv = client.get(f"/api/projects/{project.pk}/reports/weekly/?week=2026-W47&format=csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[1].startswith("assignee,completed,created,open,overdue,blocked")
    assert lines[2] == "mike,1,2,2,1,0,4.0,5.0,20.0,0.2"
    assert lines[-1].startswith("TOTAL,2,4,4,2,1,12.0,7.0,60.0")
    for bad in ("2026-W54", "2026-47", "W47", "1999-W01", "2026-W00", "2026-W4x"):
        for fmt in ("", "&format=csv"):
            r = client.get(f"/api/projects/{project.pk}/reports/weekly/?week={bad}{fmt}")
            assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error", (bad, fmt)
            assert "week" in r.json()["error"]["details"]


def test_report_endpoint_is_heavy_tier(api_for, project, people, settings):
    settings.RATELIMIT_HEAVY = "2/m"
    client = api_for(people["member"])
    codes = [client.get(f"/api/projects/{project.pk}/reports/weekly/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_report_page_renders_chart(client, project, people, week_data):
    client.force_login(people["member"])
    page = client.get(f"/projects/{project.pk}/reports/weekly/?week=2026-W47")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'class="bar-done"' in html and 'id="total-completed">2<' in html
    assert "<script>" not in html  # CSP: no inline scripts
    assert client.get(f"/projects/{project.pk}/reports/weekly/?week=nope").status_code == 400


def test_weekly_delivery_once_to_owners(project, people, week_data):
    assert services.weekly_reports_deliver(today=datetime.date(2026, 11, 23)) == 1
    assert services.weekly_reports_deliver(today=datetime.date(2026, 11, 23)) == 0
    stored = WeeklyReport.objects.get()
    assert stored.week == "2026-W47" and stored.data["totals"]["completed"] == 2
    notes = Notification.objects.filter(type="weekly_report")
    assert [n.recipient_id for n in notes] == [people["owner"].pk]
    assert notes[0].link == f"/projects/{project.pk}/reports/weekly/?week=2026-W47"


def test_a_deleted_assignee_counts_as_unassigned_and_stops_no_report(project, people, week_data):
    member = people["member"]  # mike: T1 (done) and T2 (overdue) this week
    member.delete()  # SET_NULL on tasks, but the history rows still name him

    data = reports.weekly_report(project, "2026-W47")

    names = [row["user"]["username"] if row["user"] else None for row in data["by_assignee"]]
    assert member.username not in names and None in names
    unassigned = next(row for row in data["by_assignee"] if row["user"] is None)
    assert unassigned["completed"] == 1 and unassigned["overdue"] == 2  # T1; T2 and T5
    assert data["totals"]["completed"] == 2
    assert services.weekly_reports_deliver(today=datetime.date(2026, 11, 23)) == 1


def test_one_broken_project_does_not_stop_the_others(project, people, week_data, monkeypatch):
    from tests.tasks.factories import make_project

    other = make_project(people["owner"])
    real = reports.weekly_report

    def broken_for_the_first(p, label):
        if p.pk == project.pk:
            raise RuntimeError("corrupt history")
        return real(p, label)

    monkeypatch.setattr(reports, "weekly_report", broken_for_the_first)
    assert services.weekly_reports_deliver(today=datetime.date(2026, 11, 23)) == 1
    assert list(WeeklyReport.objects.values_list("project_id", flat=True)) == [other.pk]


def test_parse_week():
    assert reports.parse_week("2026-W01") == ("2026-W01", datetime.date(2025, 12, 29))
    assert reports.parse_week("2020-W53")[1] == datetime.date(2020, 12, 28)
    assert reports.previous_week(datetime.date(2026, 11, 23)) == ("2026-W47", datetime.date(2026, 11, 16))
    assert reports.previous_week(datetime.date(2026, 11, 29)) == ("2026-W47", datetime.date(2026, 11, 16))
