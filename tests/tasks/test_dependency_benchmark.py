"""Benchmark (not a timed assertion): the dependency cycle check on 10,000 tasks / 30,000 edges.

Run: DATABASE_URL=postgres://... pytest tests/tasks/test_dependency_benchmark.py -s
Prints the median time of the check for an edge that closes a long cycle, one that does
not, and one between tasks in separate components.
"""

import random
import statistics
import time

import pytest

from tasks import services
from tasks.models import Task, TaskDependency

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

N_TASKS, N_EDGES = 10_000, 30_000


def _timed(fn, repeat=15):
    samples = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), result


def test_cycle_check_on_large_graph(postgres, project, statuses):
    rng = random.Random(7)
    Task.objects.bulk_create(
        [Task(project=project, status=statuses[0], title=f"t{i}", position=i) for i in range(N_TASKS)],
        batch_size=2000,
    )
    ids = list(Task.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    # A DAG shaped like real plans: many chains of work packages (edges only to nearby
    # earlier tasks inside one of 100 work streams), 3 edges per task on average.
    edges = set()
    stream = N_TASKS // 100
    while len(edges) < N_EDGES:
        i = rng.randrange(1, N_TASKS)
        base = (i // stream) * stream
        if i == base:
            continue
        j = rng.randrange(max(base, i - 20), i)
        edges.add((ids[i], ids[j]))
    TaskDependency.objects.bulk_create([TaskDependency(task_id=a, depends_on_id=b) for a, b in edges], batch_size=5000)
    with postgres.cursor() as cursor:  # what autovacuum would have done by now
        cursor.execute(f"ANALYZE {TaskDependency._meta.db_table}")
        cursor.execute(f"ANALYZE {Task._meta.db_table}")
    first, last = ids[0], ids[stream - 1]  # the ends of one work stream
    closing_ms, cycle = _timed(lambda: services.find_dependency_cycle(first, last))
    assert cycle is None or (cycle[0] == cycle[-1] == first)
    reverse_ms, cycle = _timed(lambda: services.find_dependency_cycle(last, first))
    assert cycle is None
    unrelated_ms, cycle = _timed(lambda: services.find_dependency_cycle(ids[5], ids[-5]))
    assert cycle is None
    print(
        f"\ncycle check on {N_TASKS} tasks / {len(edges)} edges (median of 15): "
        f"closing a cycle {closing_ms:.1f} ms, no cycle (reachable walk) {reverse_ms:.1f} ms, "
        f"separate components {unrelated_ms:.1f} ms"
    )
