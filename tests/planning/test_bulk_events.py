"""Bulk assignment moves: partial success with a savepoint per item, events for open calendars."""

import datetime
from decimal import Decimal

import pytest

from audit.models import AuditLog
from planning import services
from planning.models import ResourceAssignment
from tests.tasks.factories import make_project

pytestmark = pytest.mark.django_db
D = datetime.date


def _assign(by, project, worker, day=2, hours="4"):
    return services.assignment_create(
        by=by,
        project=project,
        worker=worker,
        start=D(2026, 2, day),
        end=D(2026, 2, day + 4),
        hours_per_day=Decimal(hours),
    )


def test_bulk_mixed_stale_and_fresh(api_for, owner, admin_user, project, worker, external_worker, outsider_project):
    fresh, stale, bad, hidden = (
        _assign(owner, project, worker),
        _assign(owner, project, worker),
        _assign(owner, project, worker),
        _assign(admin_user, outsider_project, worker),
    )
    services.assignment_update(assignment=stale, version=1, by=owner, note="moved by someone else")
    items = [
        {"id": fresh.pk, "version": 1, "start": "2026-02-09", "end": "2026-02-13", "worker": external_worker.pk},
        {"id": stale.pk, "version": 1, "start": "2026-02-09", "end": "2026-02-13"},
        {"id": bad.pk, "version": 1, "start": "2026-02-09", "end": "2026-02-01"},
        {"id": hidden.pk, "version": 1, "hours_per_day": "2"},
        {"id": fresh.pk + 10_000, "version": 1},
        {"version": 1},
        {"id": bad.pk, "version": 1, "hours_per_day": "25"},
    ]
    r = api_for(owner).post("/api/planning/assignments/bulk/", items, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["succeeded"] == [{"id": fresh.pk, "version": 2}]
    codes = [(f["id"], f["code"]) for f in body["failed"]]
    assert codes == [
        (stale.pk, "version_conflict"),
        (bad.pk, "validation_error"),
        (hidden.pk, "not_found"),
        (fresh.pk + 10_000, "not_found"),
        (None, "validation_error"),
        (bad.pk, "validation_error"),
    ]
    conflict = body["failed"][0]
    assert conflict["current"]["version"] == 2 and conflict["current"]["note"] == "moved by someone else"
    assert conflict["error"]["details"]["current"] == conflict["current"]
    assert body["failed"][2]["current"] is None  # nothing about invisible rows
    moved = ResourceAssignment.objects.get(pk=fresh.pk)
    assert (moved.start, moved.end, moved.worker_id) == (D(2026, 2, 9), D(2026, 2, 13), external_worker.pk)
    for untouched, version in ((stale, 2), (bad, 1), (hidden, 1)):
        row = ResourceAssignment.objects.get(pk=untouched.pk)
        assert row.version == version and row.start == D(2026, 2, 2)


def test_bulk_needs_planner_role_and_a_list(api_for, owner, project, worker, make_user):
    a = _assign(owner, project, worker)
    viewer = make_user("vic")
    services.grant_create(by=owner, user=viewer, role="viewer", project=project)
    r = api_for(viewer).post("/api/planning/assignments/bulk/", [{"id": a.pk, "version": 1, "hours_per_day": "1"}])
    assert r.json()["failed"][0]["code"] == "permission_denied"
    assert ResourceAssignment.objects.get(pk=a.pk).version == 1
    assert api_for(owner).post("/api/planning/assignments/bulk/", {"id": a.pk}, format="json").status_code == 400


def test_bulk_items_that_are_objects_fail_alone_and_the_schema_says_any_object(api_for, owner, project, worker):
    """The schema documented required id/version and typed fields per item, while such an item
    fails alone in a 200 by design; it documents a list of objects now (as tasks' bulk does)."""
    a = _assign(owner, project, worker)
    api = api_for(owner)
    items = [{"id": a.pk}, {"version": 1}, {"id": a.pk, "version": 1, "start": "soon"}]
    body = api.post("/api/planning/assignments/bulk/", items, format="json").json()
    assert body["succeeded"] == [] and [f["code"] for f in body["failed"]] == ["validation_error"] * 3
    malformed = [{"id": a.pk, "version": 1}, 3]
    assert api.post("/api/planning/assignments/bulk/", malformed, format="json").status_code == 400
    schema = api.get("/api/schema/?format=json").json()
    request = schema["paths"]["/api/planning/assignments/bulk/"]["post"]["requestBody"]["content"]
    assert list(request) == ["application/json"]
    assert request["application/json"]["schema"]["items"]["type"] == "object"
    assert "required" not in request["application/json"]["schema"]["items"]


def test_assignment_events_reach_the_project_group_after_commit(
    django_capture_on_commit_callbacks, listen, api_for, owner, project, worker
):
    drain = listen(project)
    api = api_for(owner)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/planning/assignments/",
            {
                "project": project.pk,
                "worker": worker.pk,
                "start": "2026-02-02",
                "end": "2026-02-06",
                "hours_per_day": "6",
            },
        ).json()
    with django_capture_on_commit_callbacks(execute=True):
        api.post(
            "/api/planning/assignments/bulk/",
            [{"id": created["id"], "version": 1, "start": "2026-02-03", "end": "2026-02-09"}],
            format="json",
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/planning/assignments/{created['id']}/?version=2").status_code == 204
    frames = drain()
    assert [f["type"] for f in frames] == ["assignment_created", "assignment_changed", "assignment_deleted"]
    changed = frames[1]["data"]
    assert (changed["id"], changed["version"], changed["start"], changed["end"]) == (
        created["id"],
        2,
        "2026-02-03",
        "2026-02-09",
    )
    assert changed["actor"]["id"] == owner.pk and frames[0]["event_id"] != frames[1]["event_id"]
    assert frames[2]["data"]["is_deleted"] is True


def test_no_event_when_the_write_fails(django_capture_on_commit_callbacks, listen, api_for, owner, project, worker):
    drain = listen(project)
    a = _assign(owner, project, worker)
    drain()
    with django_capture_on_commit_callbacks(execute=True):
        r = api_for(owner).patch(
            f"/api/planning/assignments/{a.pk}/", {"version": 5, "hours_per_day": "2"}, format="json"
        )
    assert r.status_code == 409
    assert drain() == []


@pytest.fixture
def outsider_project(make_user, other_department):
    return make_project(make_user("eve", department=other_department))


@pytest.mark.postgres
def test_a_bulk_item_the_database_refuses_fails_alone(postgres, api_for, owner, project, worker):
    """An item whose UPDATE breaks a database constraint is rolled back by its own savepoint
    (the service's inner one is skipped inside a bulk item) and the others still commit."""
    first, refused, last = (_assign(owner, project, worker) for _ in range(3))
    with postgres.cursor() as cursor:  # a rule only the database knows; DDL rolls back with the test
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending for the ALTER
        cursor.execute(
            "ALTER TABLE planning_resourceassignment"
            " ADD CONSTRAINT test_not_the_13th CHECK (extract(day from start) <> 13)"
        )
    move = {"start": "2026-02-10", "end": "2026-02-20"}
    items = [
        {"id": first.pk, "version": 1, **move},
        {"id": refused.pk, "version": 1, "start": "2026-02-13", "end": "2026-02-20"},
        {"id": last.pk, "version": 1, **move},
    ]
    r = api_for(owner).post("/api/planning/assignments/bulk/", items, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["succeeded"] == [{"id": first.pk, "version": 2}, {"id": last.pk, "version": 2}]
    assert [(f["id"], f["code"]) for f in body["failed"]] == [(refused.pk, "conflict")]
    assert ResourceAssignment.objects.get(pk=refused.pk).version == 1
    assert AuditLog.objects.filter(object_id=str(refused.pk), event_type__endswith=".update").count() == 0


def test_a_bulk_move_is_one_batch_whatever_its_size(api_for, owner, project, worker, django_assert_max_num_queries):
    """Rows read and locked together, one UPDATE, one audit INSERT: the statement count does not
    grow with the number of items."""
    small = [_assign(owner, project, worker) for _ in range(3)]
    large = [_assign(owner, project, worker) for _ in range(30)]
    api = api_for(owner)

    def move(rows) -> int:
        items = [{"id": a.pk, "version": 1, "start": "2026-02-03", "end": "2026-02-07"} for a in rows]
        with django_assert_max_num_queries(30) as ctx:
            r = api.post("/api/planning/assignments/bulk/", items, format="json")
        assert r.status_code == 200 and len(r.json()["succeeded"]) == len(rows), r.content
        return len(ctx.captured_queries)

    assert move(small) == move(large)
    assert AuditLog.objects.filter(event_type="planning.assignment.update").count() == 33
    assert set(ResourceAssignment.objects.filter(pk__in=[a.pk for a in large]).values_list("version", "start")) == {
        (2, D(2026, 2, 3))
    }


def test_an_id_listed_twice_moves_twice_in_order(api_for, owner, project, worker):
    a = _assign(owner, project, worker)
    items = [
        {"id": a.pk, "version": 1, "start": "2026-02-03", "end": "2026-02-07"},
        {"id": a.pk, "version": 2, "hours_per_day": "6"},
        {"id": a.pk, "version": 2, "hours_per_day": "7"},  # stale by now: the row is at 3
    ]
    body = api_for(owner).post("/api/planning/assignments/bulk/", items, format="json").json()
    assert body["succeeded"] == [{"id": a.pk, "version": 2}, {"id": a.pk, "version": 3}]
    assert [(f["code"], f["current"]["version"]) for f in body["failed"]] == [("version_conflict", 3)]
    row = ResourceAssignment.objects.get(pk=a.pk)
    assert (row.version, row.start, row.hours_per_day) == (3, D(2026, 2, 3), Decimal(6))
    changes = AuditLog.objects.get(event_type="planning.assignment.update", object_id=str(a.pk)).changes
    assert set(changes) == {"start", "end", "hours_per_day"}  # both moves, one audit row
