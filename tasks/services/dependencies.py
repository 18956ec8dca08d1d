"""Task dependencies with cycle detection (recursive CTE over reachable edges only)."""

from collections.abc import Callable

from django.db import connection, transaction
from django.utils.translation import gettext as _

from audit import services as audit
from audit.services import Sensitivity
from contorl.errors import (
    DependencyCycle,
    ValidationFailed,
)

from ..models import (
    Project,
    Task,
    TaskDependency,
)
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


@transaction.atomic
def dependency_add(*, task: Task, depends_on: Task, by) -> TaskDependency:
    if depends_on.project_id != task.project_id:
        raise ValidationFailed.field("depends_on", _(NOT_IN_PROJECT))
    if depends_on.is_deleted or task.is_deleted:
        raise ValidationFailed.field("depends_on", _("Deleted tasks cannot take part in dependencies."))
    if TaskDependency.objects.filter(task=task, depends_on=depends_on).exists():
        raise ValidationFailed.field("depends_on", _("This dependency already exists."))
    # Serialise concurrent edge inserts in this project so two edges cannot close a cycle
    # together (each check would pass on its own snapshot).
    Project.objects.select_for_update().filter(pk=task.project_id).values_list("id", flat=True).first()
    cycle = find_dependency_cycle(task.pk, depends_on.pk)
    if cycle:
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
    _publish_task("task_updated", task, by)
    return dependency


@transaction.atomic
def dependency_remove(*, dependency: TaskDependency, by) -> None:
    task = dependency.task
    audit.record(
        "task.dependency_remove",
        actor=by,
        obj=task,
        sensitivity=Sensitivity.LOW,
        changes={"depends_on": [dependency.depends_on_id, None]},
    )
    dependency.delete()
    _publish_task("task_updated", task, by)
