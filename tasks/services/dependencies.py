"""Task dependencies with cycle detection (recursive CTE over reachable edges only)."""

from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, Exists, Value, When
from django.utils.translation import gettext as _

from audit import services as audit
from audit.services import Sensitivity
from contorl.errors import (
    DependencyCycle,
    ValidationFailed,
)
from contorl.prepared import PreparedLookup

from .. import permissions
from ..models import (
    Project,
    Task,
    TaskDependency,
)
from ..selectors import has_payload_data, live_dependencies
from ._common import (
    NOT_IN_PROJECT,
    _publish_task,
)

# --- dependencies ------------------------------------------------------------------------


def _reachable_sql() -> str:
    table = connection.ops.quote_name(TaskDependency._meta.db_table)
    # UNION (not UNION ALL) deduplicates visited nodes, so the walk touches each reachable
    # task once and stops; it never reads edges that cannot be reached from the start.
    return (
        f"WITH RECURSIVE reach(node) AS (SELECT CAST(%s AS BIGINT) UNION "  # noqa: S608 (table name from model meta)
        f"SELECT d.depends_on_id FROM {table} d JOIN reach r ON d.task_id = r.node) "
        f"SELECT 1 FROM reach WHERE node = %s LIMIT 1"
    )


def reaches(start_id: int, target_id: int) -> bool:
    """Does `start` (transitively) depend on `target`? One recursive-CTE query."""
    with connection.cursor() as cursor:
        cursor.execute(_reachable_sql(), [start_id, target_id])
        return cursor.fetchone() is not None


def dependency_path(start_id: int, target_id: int, neighbours: Callable[[list[int]], list[tuple[int, int]]]):
    """Shortest chain start -> ... -> target along depends-on edges, or None.

    Breadth-first, one `neighbours(frontier)` call per level; only reachable edges are read.
    """
    if start_id == target_id:
        return [start_id]
    came_from: dict[int, int | None] = {start_id: None}
    frontier = [start_id]
    while frontier:
        nxt = []
        for a, b in neighbours(frontier):
            if b in came_from:
                continue
            came_from[b] = a
            if b == target_id:
                path = [b]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return path[::-1]
            nxt.append(b)
        frontier = nxt
    return None


def _reachable_edges(start_id: int) -> dict[int, list[int]]:
    """Adjacency of the subgraph reachable from `start` (one recursive-CTE query)."""
    table = connection.ops.quote_name(TaskDependency._meta.db_table)
    sql = (
        f"WITH RECURSIVE reach(node) AS (SELECT CAST(%s AS BIGINT) UNION "  # noqa: S608 (table name from model meta)
        f"SELECT d.depends_on_id FROM {table} d JOIN reach r ON d.task_id = r.node) "
        f"SELECT d.task_id, d.depends_on_id FROM {table} d WHERE d.task_id IN (SELECT node FROM reach) "
        f"ORDER BY d.task_id, d.depends_on_id"
    )
    adjacency: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [start_id])
        for a, b in cursor.fetchall():
            adjacency.setdefault(a, []).append(b)
    return adjacency


def find_dependency_cycle(task_id: int, depends_on_id: int) -> list[int] | None:
    """The cycle the edge task -> depends_on would close (ids, first == last), or None.

    Common case (no cycle): one query that stops once every reachable task is visited.
    Cycle case: one more query for the reachable edges, then a shortest path in memory.
    """
    if task_id == depends_on_id:
        return [task_id, task_id]
    if not reaches(depends_on_id, task_id):
        return None
    adjacency = _reachable_edges(depends_on_id)
    path = dependency_path(
        depends_on_id, task_id, lambda frontier: [(a, b) for a in frontier for b in adjacency.get(a, ())]
    )
    return [task_id, *path] if path else None


# --- topological order (Pearce & Kelly, "A dynamic topological sort algorithm for DAGs") --
# Invariant: rank(depends_on) < rank(task) for every edge, rank = COALESCE(topo_rank, id).
# An edge that agrees with the order cannot close a cycle, so the common case reads two
# ranks and walks nothing. Otherwise only the tasks ranked between the two ends are visited:
# if the walk from `task` through its dependents meets `depends_on`, the edge closes a
# cycle; if not, those two regions swap places inside their own set of ranks.


def _rank_sql(alias: str) -> str:
    return f"COALESCE({alias}.topo_rank, {alias}.id)"


def _ranks(ids: list[int]) -> dict[int, int]:
    tasks = connection.ops.quote_name(Task._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t.id, {_rank_sql('t')} FROM {tasks} t WHERE t.id IN ({marks})", ids)  # noqa: S608
        return dict(cursor.fetchall())


def _region(start_id: int, *, forward: bool, bound: int) -> dict[int, int]:
    """Tasks reachable from `start` (forward: its dependents, ranked <= bound; backward: its
    dependencies, ranked >= bound), with their ranks."""
    deps = connection.ops.quote_name(TaskDependency._meta.db_table)
    tasks = connection.ops.quote_name(Task._meta.db_table)
    step_from, step_to, cmp = ("depends_on_id", "task_id", "<=") if forward else ("task_id", "depends_on_id", ">=")
    sql = (
        f"WITH RECURSIVE region(node) AS (SELECT CAST(%s AS BIGINT) UNION "  # noqa: S608 (names from model meta)
        f"SELECT d.{step_to} FROM {deps} d JOIN region r ON d.{step_from} = r.node "
        f"JOIN {tasks} t ON t.id = d.{step_to} WHERE {_rank_sql('t')} {cmp} %s) "
        f"SELECT t.id, {_rank_sql('t')} FROM region r JOIN {tasks} t ON t.id = r.node"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [start_id, bound])
        return dict(cursor.fetchall())


def _order_or_cycle(task_id: int, depends_on_id: int) -> bool:
    """Make room in the order for task -> depends_on; False if the edge would close a cycle.

    The caller holds the project's row lock, so no other edge of the project moves ranks meanwhile.
    """
    ranks = _ranks([task_id, depends_on_id])
    if ranks[depends_on_id] < ranks[task_id]:
        return True
    after = _region(task_id, forward=True, bound=ranks[depends_on_id])
    if depends_on_id in after:
        return False
    before = _region(depends_on_id, forward=False, bound=ranks[task_id])
    moved = sorted(before, key=before.get) + sorted(after, key=after.get)
    old = {**before, **after}
    changes = {task: rank for task, rank in zip(moved, sorted(old.values()), strict=True) if old[task] != rank}
    for chunk in _chunks(list(changes.items()), 500):
        Task.all_objects.filter(pk__in=[t for t, _ in chunk]).update(
            topo_rank=Case(*[When(pk=t, then=Value(r)) for t, r in chunk], output_field=BigIntegerField())
        )
    return True


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# The project's row, locked, and whether the edge exists already: one statement, compiled once.
_LOCK_PROJECT_SEEING_EDGE = PreparedLookup(
    lambda project_id, task_id, depends_on_id: (
        Project.objects.select_for_update(of=("self",))
        .filter(pk=project_id)
        .annotate(duplicate=Exists(TaskDependency.objects.filter(task_id=task_id, depends_on_id=depends_on_id)))
        .only("id")
        .order_by()
    )
)


@transaction.atomic
def dependency_add(*, task: Task, depends_on: Task, by) -> TaskDependency:
    permissions.require_edit(by, task.project)
    if depends_on.project_id != task.project_id:
        raise ValidationFailed.field("depends_on", _(NOT_IN_PROJECT))
    if depends_on.is_deleted or task.is_deleted:
        raise ValidationFailed.field("depends_on", _("Deleted tasks cannot take part in dependencies."))
    # Serialise edge inserts in this project: two edges could close a cycle together (each
    # check passing on its own snapshot), and the order below must not move under us. The
    # same statement tells whether this edge exists already.
    (locked,) = _LOCK_PROJECT_SEEING_EDGE(project_id=task.project_id, task_id=task.pk, depends_on_id=depends_on.pk)
    if locked.duplicate:
        raise ValidationFailed.field("depends_on", _("This dependency already exists."))
    if task.pk == depends_on.pk or not _order_or_cycle(task.pk, depends_on.pk):
        cycle = find_dependency_cycle(task.pk, depends_on.pk) or [task.pk, depends_on.pk, task.pk]
        titles = dict(Task.all_objects.filter(pk__in=set(cycle)).values_list("id", "title"))
        message = (
            _("A task cannot depend on itself.")
            if len(cycle) == 2
            else _("This dependency would create a cycle: %(path)s") % {"path": " -> ".join(f"#{i}" for i in cycle)}
        )
        raise DependencyCycle(message, details={"cycle": cycle, "titles": [titles.get(i) for i in cycle]})
    dependency = TaskDependency.objects.create(task=task, depends_on=depends_on, created_by=by)
    audit.record(
        "task.dependency_add",
        actor=by,
        obj=task,
        sensitivity=Sensitivity.LOW,
        changes={"depends_on": [None, depends_on.pk]},
    )
    current = has_payload_data(task, dependencies=False)
    if current:
        task.live_dependencies = live_dependencies(task)  # read under the lock: every edge of this task
    _publish_task("task_updated", task, by, current=current)
    return dependency


@transaction.atomic
def dependency_remove(*, dependency: TaskDependency, by) -> None:
    task = dependency.task
    permissions.require_edit(by, task.project)
    audit.record(
        "task.dependency_remove",
        actor=by,
        obj=task,
        sensitivity=Sensitivity.LOW,
        changes={"depends_on": [dependency.depends_on_id, None]},
    )
    dependency.delete()
    _publish_task("task_updated", task, by)
