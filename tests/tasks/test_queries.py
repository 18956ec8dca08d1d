"""Query counts of the task list, the board and the history do not grow with the data."""

import pytest

from tasks.models import TaskDependency

pytestmark = pytest.mark.django_db


def populate(make_task, statuses, user, n):
    tasks = []
    for i in range(n):
        parent = tasks[i - 1] if i % 5 == 4 else None
        tasks.append(make_task(status=statuses[i % len(statuses)], assignee=user, parent=parent))
    TaskDependency.objects.bulk_create(
        [TaskDependency(task=a, depends_on=b) for a, b in zip(tasks[1::2], tasks[::2], strict=False)]
    )
    return tasks


def count_queries(django_assert_max_num_queries, client, url, limit):
    with django_assert_max_num_queries(limit) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


@pytest.mark.parametrize("n", [5, 50])
def test_task_list_queries_constant(api, make_task, statuses, user, project, n, django_assert_max_num_queries):
    populate(make_task, statuses, user, n)
    used, data = count_queries(django_assert_max_num_queries, api, f"/api/tasks/?project={project.pk}", 10)
    assert data["count"] == n
    assert any(t["depends_on"] for t in data["results"]) and any(t["subtask_count"] for t in data["results"])


@pytest.mark.parametrize("n", [5, 50])
def test_board_queries_constant(api, make_task, statuses, user, project, n, django_assert_max_num_queries):
    populate(make_task, statuses, user, n)
    used, data = count_queries(django_assert_max_num_queries, api, f"/api/projects/{project.pk}/board/", 10)
    assert sum(len(s["tasks"]) for s in data["statuses"]) == n
    assert data["project"]["id"] == project.pk
    assert [s["id"] for s in data["statuses"]] == [s.pk for s in statuses]


def test_same_count_for_5_and_50(api, make_task, statuses, user, project, django_assert_max_num_queries):
    populate(make_task, statuses, user, 5)
    small_list, _ = count_queries(django_assert_max_num_queries, api, f"/api/tasks/?project={project.pk}", 10)
    small_board, _ = count_queries(django_assert_max_num_queries, api, f"/api/projects/{project.pk}/board/", 10)
    populate(make_task, statuses, user, 45)
    big_list, _ = count_queries(django_assert_max_num_queries, api, f"/api/tasks/?project={project.pk}", 10)
    big_board, _ = count_queries(django_assert_max_num_queries, api, f"/api/projects/{project.pk}/board/", 10)
    assert big_list == small_list and big_board == small_board


def test_history_queries_constant(api, task, user, django_assert_max_num_queries):
    from tasks import services

    for i in range(20):
        task = services.task_update(task=task, version=task.version, by=user, title=f"t{i}")
    used, data = count_queries(django_assert_max_num_queries, api, f"/api/tasks/{task.pk}/history/", 8)
    assert len(data) == 21


@pytest.mark.parametrize("n", [5, 30])
def test_comment_list_queries_constant(api, task, user, owner, n, django_assert_max_num_queries):
    from tasks import services

    for i in range(n):
        services.comment_create(task=task, by=user if i % 2 else owner, body=f"note {i} @alice @bob")
    used, data = count_queries(django_assert_max_num_queries, api, f"/api/tasks/{task.pk}/comments/", 9)
    assert data["count"] == n and data["results"][0]["mentions"]


@pytest.mark.parametrize("n", [3, 20])
def test_project_list_queries_constant(api, user, n, django_assert_max_num_queries):
    from .factories import make_project

    for _ in range(n):
        make_project(user)
    used, data = count_queries(django_assert_max_num_queries, api, "/api/projects/", 6)
    assert data["count"] == n


def test_board_rows_match_the_task_representation(api, make_task, statuses, user, project):
    """The board reads tuples, not models: every payload must still equal task_payload()."""
    from datetime import date
    from decimal import Decimal

    from tasks import selectors

    tasks = populate(make_task, statuses, user, 12)
    tasks[0].custom_fields = {"cost": 12.5, "line": "L3"}
    tasks[0].estimated_hours = Decimal("2.25")
    tasks[0].due_date = date(2026, 12, 24)
    tasks[0].save()
    gone = make_task(status=statuses[0])
    TaskDependency.objects.create(task=tasks[2], depends_on=gone)
    make_task(status=statuses[0], parent=tasks[3], is_deleted=True)  # a deleted subtask is not counted
    gone.is_deleted = True
    gone.save()
    # The database writes the timestamps and hands the JSON over as text: whole seconds (no
    # microseconds in isoformat()), and JSON that is not an empty object.
    from datetime import UTC, datetime

    from tasks.models import Task

    Task.objects.filter(pk=tasks[1].pk).update(
        created_at=datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC),
        updated_at=datetime(2026, 3, 1, 8, 0, 0, 5, tzinfo=UTC),
        custom_fields={"note": '機台 3 "停機"', "nested": {"a": [1, 2.5, None, True]}},
        custom_field_errors={"total": "division by zero"},
    )
    data = api.get(f"/api/projects/{project.pk}/board/").json()
    shown = {t["id"]: t for s in data["statuses"] for t in s["tasks"]}
    assert gone.pk not in shown and len(shown) == 12
    for task in tasks:
        assert shown[task.pk] == selectors.task_payload(selectors.task_fresh(task.pk))
    assert shown[tasks[0].pk]["custom_fields"] == {"cost": 12.5, "line": "L3"}
    assert shown[tasks[1].pk]["created_at"] == "2026-03-01T08:00:00Z"
    assert shown[tasks[1].pk]["updated_at"] == "2026-03-01T08:00:00.000005Z"
    assert shown[tasks[1].pk]["custom_fields"]["nested"] == {"a": [1, 2.5, None, True]}
    assert shown[tasks[2].pk]["depends_on"] == []  # its only dependency is deleted
    assert shown[tasks[3].pk]["depends_on"] == [tasks[2].pk] and shown[tasks[3].pk]["subtask_count"] == 1


@pytest.mark.parametrize("n", [3, 40])
def test_board_query_count_is_pinned(api, make_task, statuses, user, project, n, django_assert_num_queries):
    """The project, its statuses, the dependencies and the task rows: exactly four, at any size."""
    populate(make_task, statuses, user, n)
    with django_assert_num_queries(4):
        assert api.get(f"/api/projects/{project.pk}/board/").status_code == 200


def test_task_write_query_counts_are_pinned(api, make_task, statuses, project, django_assert_num_queries):
    """A PATCH and a create, end to end (auth, permission, versioned write, history, audit
    insert, the published payload): exact counts, so a new query on the write path shows up
    here first. The audit seal runs after commit (in the sealer thread with PostgreSQL)."""
    task = make_task(status=statuses[0])
    r = api.patch(f"/api/tasks/{task.pk}/", {"version": task.version, "title": "Warm"}, format="json")
    assert r.status_code == 200, r.content  # the project's "no trigger" is cached from here on
    # task with the caller's membership role + its dependencies, savepoint, UPDATE ... WHERE
    # version, history row, audit insert (no savepoint of its own), release; the published
    # payload is built from the task as read and written, not read again, and a title is no
    # formula input, so the custom field definitions are not read either
    with django_assert_num_queries(7):
        r = api.patch(f"/api/tasks/{task.pk}/", {"version": r.json()["version"], "title": "Renamed"}, format="json")
    assert r.status_code == 200, r.content
    # project + status reads, savepoint, next position, custom fields, INSERT, history,
    # the published payload (2), audit insert, release
    with django_assert_num_queries(11):
        r = api.post("/api/tasks/", {"project": project.pk, "title": "New", "status": statuses[0].pk}, format="json")
    assert r.status_code == 201, r.content


def test_a_patch_answers_with_what_a_fresh_read_shows(api, make_task, statuses, user, project):
    """The PATCH payload is built from the row read before the write plus what it wrote: it
    must equal the task read afresh, whatever the PATCH changed."""
    from tasks import selectors

    tasks = populate(make_task, statuses, user, 6)
    task = tasks[3]  # a subtask (tasks[4]), a dependency (tasks[2]) and an assignee
    changes = [
        {"title": "Renamed", "priority": 3},
        {"status": statuses[1].pk},
        {"assignee": None, "estimated_hours": "2.50", "due_date": "2026-12-24"},
        {"assignee": user.pk, "description": "<b>bold</b> & more"},
    ]
    for change in changes:
        current = api.get(f"/api/tasks/{task.pk}/").json()
        r = api.patch(f"/api/tasks/{task.pk}/", {"version": current["version"], **change}, format="json")
        assert r.status_code == 200, r.content
        assert r.json() == selectors.task_payload(selectors.task_fresh(task.pk)), change
        assert r.json()["subtask_count"] == 1 and r.json()["depends_on"] == [tasks[2].pk]
