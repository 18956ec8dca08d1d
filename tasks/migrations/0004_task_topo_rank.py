"""Task.topo_rank: a topological order of each project's dependency graph.

Existing edges may point either way in id order, so every project with dependencies gets
an order now (depth-first in id order, so ids that already agree are kept); each task takes
one of its project's own ids, so ranks stay unique within a project and below later ids.
"""

from django.db import migrations, models


def stable_order(ids: list[int], depends_on: dict[int, set[int]]) -> list[int] | None:
    """A topological order that moves as little as possible: depth-first in id order, each
    task after its dependencies, so a graph that already agrees with id order keeps it.
    None if the edges hold a cycle."""
    order: list[int] = []
    state: dict[int, int] = {}  # 1: on the current path, 2: placed
    for root in ids:
        if state.get(root):
            continue
        stack = [(root, iter(sorted(depends_on.get(root, ()))))]
        state[root] = 1
        while stack:
            node, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                stack.pop()
                state[node] = 2
                order.append(node)
            elif state.get(child) == 1:
                return None
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(depends_on.get(child, ())))))
    return order


def rank_existing(apps, schema_editor):
    Task = apps.get_model("tasks", "Task")
    TaskDependency = apps.get_model("tasks", "TaskDependency")
    by_project: dict[int, dict[int, set[int]]] = {}
    for task_id, depends_on_id, project_id in TaskDependency.objects.values_list(
        "task_id", "depends_on_id", "task__project_id"
    ):
        by_project.setdefault(project_id, {}).setdefault(task_id, set()).add(depends_on_id)
    for project_id, graph in by_project.items():
        ids = sorted(Task.objects.filter(project_id=project_id).values_list("id", flat=True))
        order = stable_order(ids, graph)
        if order is None:  # a cycle written around the service: nothing to order
            continue
        for task_id, rank in zip(order, ids, strict=True):
            if task_id != rank:
                Task.objects.filter(pk=task_id).update(topo_rank=rank)


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0003_task_status_restrict"),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="topo_rank",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(rank_existing, migrations.RunPython.noop),
    ]
