"""Optimistic locking: +1 per successful write, stale always refused, 20-thread race on PostgreSQL."""

import threading

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contorl.errors import VersionConflict
from tasks import services
from tasks.models import Task

pytestmark = pytest.mark.django_db

ops = st.lists(
    st.tuples(st.sampled_from(["title", "priority", "position", "description"]), st.integers(0, 4), st.booleans()),
    min_size=1,
    max_size=5,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ops)
def test_version_plus_one_and_stale_refused(make_task, user, steps):
    task = make_task()
    expected = 1
    for field, n, stale in steps:
        value = {"title": f"t{n}", "priority": n, "position": n, "description": "d" * n}[field]
        if stale:
            # any version other than the current one is refused and changes nothing
            wrong = expected - 1 - n if expected - 1 - n >= 1 else expected + 1 + n
            before = Task.objects.filter(pk=task.pk).values().get()
            with pytest.raises(VersionConflict) as info:
                services.task_update(task=task, version=wrong, by=user, **{field: value})
            assert info.value.current_version == expected
            assert Task.objects.filter(pk=task.pk).values().get() == before
        else:
            task = services.task_update(task=task, version=expected, by=user, **{field: value})
            expected += 1
            assert task.version == expected
            assert Task.objects.get(pk=task.pk).version == expected


def test_bulk_update_partial_success(api, make_task, outsider, owner):
    from .factories import make_project

    a, b, c = make_task(title="a"), make_task(title="b"), make_task(title="c")
    hidden = make_project(outsider)
    hidden_task = Task.objects.create(project=hidden, status=hidden.statuses.first(), title="hidden")
    services.task_update(task=b, version=1, by=owner, title="b changed")
    items = [
        {"id": a.pk, "version": 1, "priority": 4},
        {"id": b.pk, "version": 1, "priority": 4},
        {"id": c.pk, "version": 1, "priority": 99},
        {"id": hidden_task.pk, "version": 1, "priority": 4},
        {"id": c.pk},
        {"version": 1},
    ]
    r = api.post("/api/tasks/bulk-update/", items, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["succeeded"] == [{"id": a.pk, "version": 2}]
    failed = {(f["id"], f["error"]["code"]) for f in body["failed"]}
    assert failed == {
        (b.pk, "version_conflict"),
        (c.pk, "validation_error"),
        (hidden_task.pk, "not_found"),
        (None, "validation_error"),
    }
    conflict = next(f for f in body["failed"] if f["error"]["code"] == "version_conflict")
    assert conflict["error"]["details"]["current"]["title"] == "b changed"
    assert conflict["error"]["details"]["current"]["version"] == 2
    assert Task.objects.get(pk=a.pk).priority == 4
    assert Task.objects.get(pk=c.pk).priority == 2 and Task.objects.get(pk=c.pk).version == 1


def test_bulk_update_body_must_be_a_list(api):
    assert api.post("/api/tasks/bulk-update/", {"id": 1}, format="json").status_code == 400


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_threads_one_winner(postgres, make_task, user, api_for):
    task = make_task(title="start")
    barrier = threading.Barrier(20)
    results: dict[int, int] = {}

    def worker(i):
        client = api_for(user)
        try:
            barrier.wait(timeout=10)
            response = client.patch(
                f"/api/tasks/{task.pk}/", {"title": f"writer {i}", "priority": i % 5, "version": 1}, format="json"
            )
            results[i] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(results.values())
    assert statuses.count(200) == 1 and statuses.count(409) == 19, results
    winner = next(i for i, s in results.items() if s == 200)
    row = Task.objects.get(pk=task.pk)
    assert row.version == 2 and row.title == f"writer {winner}" and row.priority == winner % 5


@pytest.mark.parametrize("extra", [[None], [[None, None]], [1, "x"], [7]])
def test_bulk_update_items_that_are_not_objects_refuse_the_whole_body(api, make_task, extra):
    """A malformed body (the schema says a list of objects), unlike an item that fails on its own:
    a good item beside it is not applied either."""
    task = make_task(title="keep")
    body = [{"id": task.pk, "version": task.version, "title": "changed"}, *extra]
    response = api.post("/api/tasks/bulk-update/", body, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
    assert "body" in response.json()["error"]["details"]
    task.refresh_from_db()
    assert task.title == "keep"
