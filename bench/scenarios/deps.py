"""6. Add a dependency in a 10,000-task, 30,000-edge project (cycle check included)."""

import random

from ..stats import fmt, pcts

NAME = "deps"
TITLE = "Add dependency (10,000 tasks, 30,000 edges)"
GOAL = "< 20 ms"


def run(stack, quick: bool) -> dict:
    tasks, edges = (2000, 6000) if quick else (10_000, 30_000)
    n_add = 10 if quick else 100
    data = stack.django("project", {"tasks": tasks, "edges": edges, "key": "DEPS", "prefix": "deps"}, timeout=900)
    ids = data["task_ids"]
    rng = random.Random(5)
    pairs = []
    used = set()
    while len(pairs) < n_add:
        # Later task depends on an earlier one: the seeded graph only has such edges, so no cycle.
        i = rng.randrange(1000, len(ids))
        j = rng.randrange(0, i - 500)
        if (i, j) not in used:
            used.add((i, j))
            pairs.append(["add", ids[i], ids[j]])
    cycles = []
    for _kind, task, dep in pairs[: max(5, n_add // 10)]:
        cycles.append(["cycle", dep, task])  # reverse of an edge just added: must be refused as a cycle
    config = {
        "mode": "rest",
        "kind": "dependency",
        "base": stack.base,
        "token": data["token"],
        "pairs": pairs + cycles,
        "concurrency": 1,
    }
    result = stack.loadgen([config], timeout=300)[0]
    if not result["times"]:
        raise RuntimeError(f"no dependency was added: {result['codes']}")
    lat = pcts(result["times"])
    cyc = pcts(result["cycle_times"])
    rows = [
        ["add (acyclic) p50 / p95 / p99 ms", "/".join(fmt(lat[k]) for k in ("p50", "p95", "p99")), "< 20"],
        ["refused cycle p50 / p95 ms", f"{fmt(cyc['p50'])} / {fmt(cyc['p95'])}", ""],
        ["responses", ", ".join(f"{k}: {v}" for k, v in sorted(result["codes"].items())), ""],
    ]
    return {
        "rows": rows,
        "figures": {
            "tasks": tasks,
            "edges": data["edges"],
            "add_ms": lat,
            "cycle_ms": cyc,
            "codes": result["codes"],
            "seed_seconds": data["seconds"],
        },
        "delivery_ok": None,
        "notes": [
            f"{n_add} POST /api/tasks/{{id}}/dependencies/ one after another into a graph of {tasks:,} tasks and "
            f"{data['edges']:,} edges (random DAG, mostly local chains), then the reverse of some of them, which "
            "must come back 400 dependency_cycle."
        ],
    }
