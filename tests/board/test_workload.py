"""GET /api/workload/: the load model, visibility, validation, caching and every invalidation."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from tasks import services, workload
from tasks.models import Task
from tests.board.factories import make_project, make_task, statuses

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 11, 23)  # ISO week 2026-W48
URL = "/api/workload/"


def week(n: int) -> datetime.date:
    return MONDAY + datetime.timedelta(weeks=n)


def row_for(body, user):
    return next(r for r in body["rows"] if r["user"]["id"] == user.pk)


@pytest.fixture
def project(user):
    return make_project(user)


def get(api, **params):
    params.setdefault("start", MONDAY.isoformat())
    params.setdefault("weeks", 4)
    return api.get(URL, params)


def test_shape_and_spread_over_weeks(api, user, project):
    user.weekly_capacity_hours = Decimal(20)
    user.save()
    make_task(project, user, assignee=user, estimated_hours=Decimal(30), start_date=week(0), due_date=week(2))
    make_task(project, user, assignee=user, estimated_hours=Decimal(8), due_date=week(1) + datetime.timedelta(days=3))
    make_task(project, user, assignee=user, estimated_hours=Decimal(99))  # no due date: not scheduled
    make_task(project, user, estimated_hours=Decimal(50), due_date=week(0))  # unassigned
    response = get(api)
    assert response.status_code == 200
    body = response.json()
    assert body["weeks"] == ["2026-W48", "2026-W49", "2026-W50", "2026-W51"]
    cells = row_for(body, user)["cells"]
    assert [c["week"] for c in cells] == body["weeks"]
    assert [c["hours"] for c in cells] == [10.0, 18.0, 10.0, 0.0]
    assert [c["load"] for c in cells] == [0.5, 0.9, 0.5, 0.0]
    assert all(c["capacity"] == 20.0 for c in cells)


def test_done_and_deleted_tasks_do_not_count(api, user, project):
    _todo, _doing, done = statuses(project)
    make_task(project, user, assignee=user, estimated_hours=Decimal(5), due_date=week(0), status=done)
    t = make_task(project, user, assignee=user, estimated_hours=Decimal(7), due_date=week(0))
    services.task_delete(task=t, by=user)
    assert row_for(get(api).json(), user)["cells"][0]["hours"] == 0.0


def test_start_is_moved_to_monday_and_weeks_validated(api):
    body = get(api, start="2026-11-26", weeks=1).json()
    assert body["start"] == "2026-11-23"
    for bad in ("0", "27", "x", "-1"):
        response = get(api, weeks=bad)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"
        assert "weeks" in response.json()["error"]["details"]
    assert get(api, start="23/11/2026").status_code == 400
    assert get(api, weeks=26).status_code == 200


def test_anonymous_is_401(anon_api):
    assert anon_api.get(URL).status_code == 401


def test_visibility_self_manager_admin(api_for, make_user, user, other_user, admin_user, department, other_department):
    make_user("colleague")
    manager = make_user("boss", is_department_manager=True)
    rows = lambda who, **p: {r["user"]["username"] for r in get(api_for(who), **p).json()["rows"]}  # noqa: E731
    assert rows(user) == {"bob"}
    assert rows(manager) == {"bob", "colleague", "boss", "root"}  # root is in PROD too
    assert "olga" not in rows(manager)
    assert rows(admin_user) >= {"bob", "colleague", "olga", "root", "boss"}
    assert rows(admin_user, department=other_department.pk) == {"olga"}
    assert get(api_for(manager), department=other_department.pk).status_code == 403
    assert get(api_for(user), department=other_department.pk).status_code == 403


def test_cached_until_a_write(api, user, project, django_assert_num_queries):
    get(api)
    with django_assert_num_queries(0):  # the heatmap comes from the cache
        response = get(api)
    assert response.status_code == 200


def test_query_count_does_not_grow(api_for, admin_user, make_user, project, user, django_assert_max_num_queries):
    for i in range(6):
        someone = make_user(f"worker{i}")
        project.members.create(user=someone, role="member")
        make_task(project, user, assignee=someone, estimated_hours=Decimal(3), due_date=week(i % 4))
    workload.invalidate()
    with django_assert_max_num_queries(4):
        body = get(api_for(admin_user)).json()
    assert sum(c["hours"] for r in body["rows"] for c in r["cells"]) == 18.0


def _hours(api, user):
    return row_for(get(api).json(), user)["cells"][0]["hours"]


def test_every_task_write_invalidates(api, user, make_user, project, django_capture_on_commit_callbacks):
    """create, update, status change, assign, delete, restore each show up on the next read."""
    todo, doing, done = statuses(project)
    carol = make_user("carol2")
    project.members.create(user=carol, role="member")

    def write(fn):
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    assert _hours(api, user) == 0.0  # cached from here on
    task = write(lambda: make_task(project, user, assignee=user, estimated_hours=Decimal(6), due_date=week(0)))
    assert _hours(api, user) == 6.0  # create
    task = write(lambda: services.task_update(task=task, version=task.version, by=user, estimated_hours=Decimal(9)))
    assert _hours(api, user) == 9.0  # update
    task = write(lambda: services.task_move(task=task, status=done, position=0, version=task.version, by=user))
    assert _hours(api, user) == 0.0  # status change (into a done column)
    task = write(lambda: services.task_move(task=task, status=doing, position=0, version=task.version, by=user))
    assert _hours(api, user) == 9.0  # status change back
    task = write(lambda: services.task_update(task=task, version=task.version, by=user, assignee=carol))
    assert _hours(api, user) == 0.0  # assign away
    task = write(lambda: services.task_update(task=task, version=task.version, by=user, assignee=user))
    assert _hours(api, user) == 9.0  # assign back
    write(lambda: services.task_delete(task=task, by=user))
    assert _hours(api, user) == 0.0  # delete
    write(lambda: services.task_restore(task=Task.all_objects.get(pk=task.pk), by=user))
    assert _hours(api, user) == 9.0  # restore


def test_writes_the_heatmap_does_not_read_keep_it_cached(user, project):
    """A title, a description or a position is not in any heatmap: those writes leave the
    generation alone (two cache round trips fewer per such PATCH); an estimate bumps it."""
    task = make_task(project, user, assignee=user, estimated_hours=Decimal(6), due_date=week(0))
    before = workload.generation()
    task = services.task_update(task=task, version=task.version, by=user, title="Renamed", description="x")
    task = services.task_update(task=task, version=task.version, by=user, position=7)
    assert workload.generation() == before
    services.task_update(task=task, version=task.version, by=user, estimated_hours=Decimal(7))
    assert workload.generation() > before


def test_capacity_change_invalidates(api, user, project):
    make_task(project, user, assignee=user, estimated_hours=Decimal(10), due_date=week(0))
    assert row_for(get(api).json(), user)["cells"][0]["load"] == 0.25
    user.weekly_capacity_hours = Decimal(20)
    user.save(update_fields=["weekly_capacity_hours"])
    assert row_for(get(api).json(), user)["cells"][0]["load"] == 0.5


def test_workload_changed_signal_invalidates():
    before = workload.generation()
    workload.workload_changed.send(sender=None)
    assert workload.generation() > before


@pytest.mark.django_db(transaction=True)
def test_invalidation_after_commit_beats_a_concurrent_reader(user, project):
    """A read between the write and its commit must not keep the pre-write heatmap cached."""
    args = {"department": None, "start": MONDAY, "weeks": 1}
    assert workload.workload_for(user, **args)["rows"][0]["cells"][0]["hours"] == 0.0
    with transaction.atomic():
        make_task(project, user, assignee=user, estimated_hours=Decimal(4), due_date=week(0))
        # simulate another request caching what it saw under the already-bumped generation
        key = f"workload:{workload.generation()}:self:{user.pk}:{MONDAY.isoformat()}:1"
        stale = workload.compute(type(user).objects.filter(pk=user.pk), start=MONDAY, weeks=1)
        stale["rows"][0]["cells"][0]["hours"] = 0.0
        from django.core.cache import cache

        cache.set(key, stale)
    assert workload.workload_for(user, **args)["rows"][0]["cells"][0]["hours"] == 4.0


def test_status_done_flag_change_invalidates(api, user, project):
    todo, _doing, _done = statuses(project)
    make_task(project, user, assignee=user, estimated_hours=Decimal(5), due_date=week(0), status=todo)
    assert _hours(api, user) == 5.0
    services.status_update(status=todo, version=todo.version, by=user, is_done=True)
    assert _hours(api, user) == 0.0
