"""Dependencies: self/cycle rejection with the path, deletion, and agreement with graphlib."""

import graphlib

import pytest
from django.db.models.sql.compiler import SQLCompiler
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contorl.errors import ValidationFailed
from tasks import services
from tasks.models import Task, TaskDependency

pytestmark = pytest.mark.django_db


def test_add_list_and_remove(api, make_task):
    a, b = make_task(title="a"), make_task(title="b")
    r = api.post(f"/api/tasks/{a.pk}/dependencies/", {"depends_on": b.pk}, format="json")
    assert r.status_code == 201, r.content
    assert api.get(f"/api/tasks/{a.pk}/").json()["depends_on"] == [b.pk]
    assert [d["depends_on"] for d in api.get(f"/api/tasks/{a.pk}/dependencies/").json()] == [b.pk]
    assert api.post(f"/api/tasks/{a.pk}/dependencies/", {"depends_on": b.pk}, format="json").status_code == 400
    assert api.delete(f"/api/tasks/{a.pk}/dependencies/{b.pk}/").status_code == 204
    assert not TaskDependency.objects.exists()
    assert api.delete(f"/api/tasks/{a.pk}/dependencies/{b.pk}/").status_code == 404


def test_the_other_end_must_be_a_live_task_of_the_project(api, make_task):
    """Read through a prepared lookup (pk and project as parameters): a deleted task, a missing
    one and one of another project are all refused alike, and nothing is stored."""
    a, gone = make_task(title="a"), make_task(title="gone", is_deleted=True)
    for other in (gone.pk, gone.pk + 10_000):
        r = api.post(f"/api/tasks/{a.pk}/dependencies/", {"depends_on": other}, format="json")
        assert r.status_code == 400 and r.json()["error"]["details"]["depends_on"], r.content
    b = make_task(title="b")
    assert api.post(f"/api/tasks/{a.pk}/dependencies/", {"depends_on": b.pk}, format="json").status_code == 201
    assert list(TaskDependency.objects.values_list("task_id", "depends_on_id")) == [(a.pk, b.pk)]


def test_self_dependency_rejected(api, task):
    r = api.post(f"/api/tasks/{task.pk}/dependencies/", {"depends_on": task.pk}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "dependency_cycle"
    assert r.json()["error"]["details"]["cycle"] == [task.pk, task.pk]


def test_cycle_reports_path_with_titles(api, make_task):
    a, b, c = make_task(title="A"), make_task(title="B"), make_task(title="C")
    api.post(f"/api/tasks/{a.pk}/dependencies/", {"depends_on": b.pk}, format="json")
    api.post(f"/api/tasks/{b.pk}/dependencies/", {"depends_on": c.pk}, format="json")
    r = api.post(f"/api/tasks/{c.pk}/dependencies/", {"depends_on": a.pk}, format="json")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "dependency_cycle"
    assert error["details"]["cycle"] == [c.pk, a.pk, b.pk, c.pk]
    assert error["details"]["titles"] == ["C", "A", "B", "C"]
    assert TaskDependency.objects.count() == 2


def test_viewer_and_outsider(api_for, viewer, outsider, make_task):
    a, b = make_task(), make_task()
    assert (
        api_for(viewer).post(f"/api/tasks/{a.pk}/dependencies/", {"depends_on": b.pk}, format="json").status_code == 403
    )
    assert (
        api_for(outsider).post(f"/api/tasks/{a.pk}/dependencies/", {"depends_on": b.pk}, format="json").status_code
        == 404
    )


def _reference_has_cycle(edges) -> bool:
    sorter = graphlib.TopologicalSorter()
    for a, b in edges:
        sorter.add(a, b)
    try:
        sorter.prepare()
    except graphlib.CycleError:
        return True
    return False


edge_lists = st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=30)


@settings(max_examples=200, deadline=None)
@given(edges=edge_lists, new=st.tuples(st.integers(0, 9), st.integers(0, 9)))
def test_path_search_agrees_with_graphlib(edges, new):
    """Pure BFS (the path finder) vs graphlib on random graphs."""
    dag: list[tuple[int, int]] = []
    for a, b in edges:  # build an acyclic graph the way the service would (refusing cycles)
        if a != b and not _reference_has_cycle([*dag, (a, b)]):
            dag.append((a, b))
    adjacency = {}
    for a, b in dag:
        adjacency.setdefault(a, []).append(b)

    def neighbours(frontier):
        return [(a, b) for a in frontier for b in adjacency.get(a, [])]

    a, b = new
    path = services.dependency_path(b, a, neighbours) if a != b else [a]
    expected = a == b or _reference_has_cycle([*dag, (a, b)])
    assert (path is not None) == expected
    if path and a != b:
        cycle = [a, *path]
        assert cycle[0] == cycle[-1] == a
        for x, y in zip(cycle, cycle[1:], strict=False):
            assert (x, y) in dag or (x, y) == (a, b)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edges=edge_lists, new=st.tuples(st.integers(0, 9), st.integers(0, 9)))
def test_database_cycle_check_agrees_with_graphlib(make_task, edges, new):
    """The recursive-CTE + BFS check over real rows vs graphlib (same DB rows reused per example)."""
    tasks = list(Task.objects.order_by("id")[:10])
    while len(tasks) < 10:
        tasks.append(make_task())
    ids = [t.pk for t in tasks]
    TaskDependency.objects.all().delete()
    dag = []
    for a, b in edges:
        if a != b and (a, b) not in dag and not _reference_has_cycle([*dag, (a, b)]):
            dag.append((a, b))
    TaskDependency.objects.bulk_create([TaskDependency(task_id=ids[a], depends_on_id=ids[b]) for a, b in dag])
    a, b = new
    cycle = services.find_dependency_cycle(ids[a], ids[b])
    expected = a == b or _reference_has_cycle([*dag, (a, b)])
    assert (cycle is not None) == expected
    if cycle:
        assert cycle[0] == cycle[-1] == ids[a]
        real = {(ids[x], ids[y]) for x, y in dag} | {(ids[a], ids[b])}
        assert all((x, y) in real for x, y in zip(cycle, cycle[1:], strict=False))


def test_cycle_check_reads_only_reachable_edges(make_task, django_assert_max_num_queries):
    """A large unrelated graph costs nothing: one CTE query when there is no cycle."""
    a, b = make_task(), make_task()
    others = [make_task() for _ in range(30)]
    TaskDependency.objects.bulk_create(
        [TaskDependency(task=x, depends_on=y) for x, y in zip(others, others[1:], strict=False)]
    )
    with django_assert_max_num_queries(1):
        assert services.find_dependency_cycle(a.pk, b.pk) is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_opposite_edges_cannot_both_win(postgres, make_task, user, api_for):
    """a->b and b->a at the same time: the project row lock makes the second check see the first edge."""
    import threading

    from django.db import connection

    a, b = make_task(title="a"), make_task(title="b")
    barrier = threading.Barrier(2)
    codes = {}

    def add(name, task, other):
        try:
            client = api_for(user)
            barrier.wait(timeout=10)
            codes[name] = client.post(f"/api/tasks/{task.pk}/dependencies/", {"depends_on": other.pk}, format="json")
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=("ab", a, b)), threading.Thread(target=add, args=("ba", b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(r.status_code for r in codes.values())
    assert statuses == [201, 400], {k: r.content for k, r in codes.items()}
    loser = next(r for r in codes.values() if r.status_code == 400)
    assert loser.json()["error"]["code"] == "dependency_cycle"
    assert TaskDependency.objects.count() == 1


def _order_holds() -> bool:
    """Every edge agrees with the kept topological order, and ranks are unique per project."""
    rows = list(Task.all_objects.values_list("pk", "project_id", "topo_rank"))  # one read, no models
    rank = {pk: topo_rank or pk for pk, _project, topo_rank in rows}
    per_project = {}
    for pk, project, _topo_rank in rows:
        per_project.setdefault(project, []).append(rank[pk])
    unique = all(len(set(r)) == len(r) for r in per_project.values())
    edges = TaskDependency.objects.values_list("task_id", "depends_on_id")
    return unique and all(rank[depends_on] < rank[task] for task, depends_on in edges)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(adds=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=25))
def test_service_refuses_exactly_the_cycles_and_keeps_the_order(make_task, user, adds):
    """Random edges through dependency_add (the rank fast path and the reordering) vs graphlib."""
    from contorl.errors import DependencyCycle

    tasks = list(Task.all_objects.order_by("id")[:8])
    while len(tasks) < 8:
        tasks.append(make_task())
    TaskDependency.objects.all().delete()
    Task.all_objects.update(topo_rank=None)
    dag: list[tuple[int, int]] = []
    for a, b in adds:
        closes = a == b or _reference_has_cycle([*dag, (a, b)])
        try:
            services.dependency_add(task=tasks[a], depends_on=tasks[b], by=user)
        except DependencyCycle as exc:
            assert closes, (dag, a, b)
            cycle = exc.details["cycle"]
            assert cycle[0] == cycle[-1] == tasks[a].pk
        except ValidationFailed:
            assert (a, b) in dag  # the only other refusal here: the edge exists already
        else:
            assert not closes, (dag, a, b)
            dag.append((a, b))
        assert _order_holds()
    assert {(d.task_id, d.depends_on_id) for d in TaskDependency.objects.all()} == {
        (tasks[a].pk, tasks[b].pk) for a, b in dag
    }


def test_edge_that_agrees_with_the_order_walks_nothing(make_task, user, django_assert_max_num_queries):
    """Later task depends on an earlier one: ranks are read, no graph walk runs."""
    earlier, later = make_task(), make_task()
    chain = [make_task() for _ in range(20)]
    for x, y in zip(chain[1:], chain, strict=False):
        services.dependency_add(task=x, depends_on=y, by=user)
    # project lock with the duplicate check, ranks, insert, audit insert, the published task and
    # its dependencies (read afresh: this caller did not read them), savepoints: pinned so it
    # cannot grow back
    with django_assert_max_num_queries(8) as captured:
        services.dependency_add(task=later, depends_on=earlier, by=user)
    assert not any("RECURSIVE" in q["sql"] for q in captured.captured_queries)


def test_adding_a_dependency_compiles_no_sql_once_warm(api, make_task, monkeypatch):
    """The request's reads, the project lock with the duplicate check, the ranks and the
    inserts are all statements built before (bench/PROFILE.md, tenth session)."""
    a, b, c, d = (make_task(title=x) for x in "abcd")
    assert api.post(f"/api/tasks/{b.pk}/dependencies/", {"depends_on": a.pk}, format="json").status_code == 201
    compiled = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **kw: compiled.append(self) or original(self, *a, **kw))
    r = api.post(f"/api/tasks/{d.pk}/dependencies/", {"depends_on": c.pk}, format="json")
    assert r.status_code == 201, r.content
    assert compiled == []
    assert api.get(f"/api/tasks/{d.pk}/").json()["depends_on"] == [c.pk]
    r = api.post(f"/api/tasks/{d.pk}/dependencies/", {"depends_on": c.pk}, format="json")
    assert r.status_code == 400 and "already exists" in r.json()["error"]["details"]["depends_on"][0]


def test_edge_against_the_order_moves_only_the_region_between(make_task, user):
    """b (older) depends on c (newer): c and what it depends on move before b, nothing else."""
    a, b, c, d, e = (make_task(title=x) for x in "abcde")
    services.dependency_add(task=e, depends_on=d, by=user)  # in order: no change
    services.dependency_add(task=c, depends_on=e, by=user)  # c before e needed: reorder
    services.dependency_add(task=b, depends_on=c, by=user)  # b after c, e, d
    assert _order_holds()
    a.refresh_from_db()
    assert a.topo_rank is None  # outside every affected region
    order = sorted((t for t in (b, c, d, e)), key=lambda t: Task.all_objects.get(pk=t.pk).topo_rank or t.pk)
    assert [t.title for t in order] == ["d", "e", "c", "b"]


def test_migration_orders_existing_edges(make_task):
    """Edges written before the rank existed (any id direction) get a valid order."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("tasks.migrations.0004_task_topo_rank")
    t = [make_task() for _ in range(6)]
    TaskDependency.objects.bulk_create(
        [
            TaskDependency(task=t[0], depends_on=t[5]),
            TaskDependency(task=t[5], depends_on=t[3]),
            TaskDependency(task=t[2], depends_on=t[4]),
        ]
    )
    assert not _order_holds()
    migration.rank_existing(apps, None)
    assert _order_holds()
