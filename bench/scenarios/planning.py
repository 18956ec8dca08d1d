"""10. Resource planning: the assignment calendar of 200 workers x 12 weeks, and bulk moves of
100 assignments (issue #16's figures).

Calendar: the requests planning/static/planning/calendar.js makes for one screen (capacity
rows, then every page of the assignments), timed through daphne and counted in SQL at two
sizes. Bulk move: POST /api/planning/assignments/bulk/ with 100 items one after another, each
item a compare-and-set with audit, event and workload invalidation.
"""

from ..stats import fmt, pcts

NAME = "planning"
TITLE = "Planning: calendar (200 workers x 12 weeks), bulk move of 100 assignments"
GOAL = "calendar p95 < 200 ms, query count constant; bulk move of 100 p95 < 300 ms"
START, WEEKS = "2026-03-02", 12  # a Monday; 84 days, within the capacity API's 92
PAGE_SIZE = 500  # what the calendar page asks for
BATCH = 100


def calendar_paths(world: dict) -> list[tuple[str, str]]:
    """(label, path) of every request the calendar page makes for this world's worker type."""
    common = f"page_size={PAGE_SIZE}&worker_type={world['worker_type']}"
    window = f"start={world['start']}&end={world['end']}&compact=true"
    paths = [("capacity", f"/api/planning/capacity/?{common}&{window}")]
    pages = max(1, -(-len(world["assignments"]) // PAGE_SIZE))
    for page in range(1, pages + 1):
        path = f"/api/planning/assignments/?{common}&from_date={world['start']}&to_date={world['end']}"
        paths.append((f"assignments p{page}", path + ("" if page == 1 else f"&page={page}")))
    return paths


def _calendar(stack, world: dict, workers: int, repeat: int) -> dict:
    paths = calendar_paths(world)
    config = {
        "mode": "rest",
        "kind": "get_many",
        "base": stack.base,
        "token": world["token"],
        "paths": paths,
        "warmup": [p for _label, p in paths],
        "repeat": repeat,
        "max_seconds": 120,
    }
    result = stack.loadgen([config], timeout=300)[0]
    times = result["times"]
    if any(not times.get(label) for label, _p in paths):
        raise RuntimeError(f"the calendar did not load ({workers} workers): {result['codes']}")
    # One calendar load = its requests one after another (the page overlaps two of them, so
    # this is an upper bound of what a user waits).
    loads = [sum(round_) for round_ in zip(*(times[label] for label, _p in paths), strict=False)]
    queries = {label: stack.django("board_queries", {"path": p, "token": world["token"]}) for label, p in paths}
    return {
        "workers": workers,
        "assignments": len(world["assignments"]),
        "requests": len(paths),
        "load_ms": pcts(loads),
        "request_ms": {label: pcts(times[label]) for label, _p in paths},
        "queries": {label: q["queries"] for label, q in queries.items()},
        "statuses": sorted({q["status"] for q in queries.values()}),
        "rows": result["sizes"],
        "codes": result["codes"],
        "seed_seconds": world["seconds"],
    }


def _bulk_queries(stack, world: dict, assignments: list) -> dict:
    """SQL of one more bulk move of BATCH items (the statements grow with the items: each is
    its own savepoint, compare-and-set, audit row and event)."""
    from ..loadgen import _shift

    items = [{"id": a[0], "version": a[1], "start": _shift(a[2], 1), "end": _shift(a[3], 1)} for a in assignments]
    args = {"path": "/api/planning/assignments/bulk/", "method": "POST", "body": items[:BATCH]}
    out = stack.django("board_queries", {**args, "token": world["token"]})
    body = out["body"] or {}
    return {
        "status": out["status"],
        "queries": out["queries"],
        "succeeded": len(body.get("succeeded", [])),
        "failed": len(body.get("failed", [])),
    }


def run(stack, quick: bool) -> dict:
    sizes = [20, 200]
    repeat = 3 if quick else 30
    rounds = 3 if quick else 30
    levels, world = [], None
    for i, workers in enumerate(sizes):
        args = {"workers": workers, "weeks": WEEKS, "start": START, "key": f"PLAN{i}", "prefix": f"planner{i}"}
        world = stack.django("planning", args, timeout=600)
        levels.append(_calendar(stack, world, workers, repeat))
    bulk_config = {
        "mode": "rest",
        "kind": "bulk_move",
        "base": stack.base,
        "token": world["token"],
        "assignments": world["assignments"],
        "batch": BATCH,
        "rounds": rounds,
    }
    bulk = stack.loadgen([bulk_config], timeout=300)[0]
    if not bulk["times"]:
        raise RuntimeError(f"no bulk move answered 200: {bulk['codes']}")
    bulk_sql = _bulk_queries(stack, world, bulk["assignments"])
    lat = pcts(bulk["times"])
    # Per kind of request, the statements at every size and page: one value each means constant.
    counts = {
        kind: sorted({q for lv in levels for label, q in lv["queries"].items() if label.startswith(kind)})
        for kind in ("capacity", "assignments")
    }
    constant = all(len(v) == 1 for v in counts.values())
    big = levels[-1]
    rows = []
    for lv in levels:
        rows += [
            [
                f"{lv['workers']} workers x {WEEKS} weeks ({lv['assignments']:,} assignments, "
                f"{lv['requests']} requests): calendar load p50 / p95 ms",
                f"{fmt(lv['load_ms']['p50'])} / {fmt(lv['load_ms']['p95'])}",
                "p95 < 200" if lv is big else "",
            ],
            [
                f"{lv['workers']} workers: p95 ms per request",
                ", ".join(f"{label} {fmt(v['p95'])}" for label, v in lv["request_ms"].items()),
                "",
            ],
            [
                f"{lv['workers']} workers: SQL queries per request",
                ", ".join(f"{label} {q}" for label, q in lv["queries"].items()),
                "",
            ],
        ]
    rows += [
        ["calendar query count constant across sizes", "yes" if constant else "NO", "yes"],
        [
            f"bulk move of {BATCH}: p50 / p95 / p99 ms",
            "/".join(fmt(lat[k]) for k in ("p50", "p95", "p99")),
            "p95 < 300",
        ],
        [
            "bulk moves: responses, failed items",
            ", ".join(f"{k}: {v}" for k, v in sorted(bulk["codes"].items()))
            + f"; {sum(bulk['failed'].values())} failed",
            "0 failed",
        ],
        [f"bulk move of {BATCH}: SQL queries", fmt(bulk_sql["queries"]), ""],
    ]
    return {
        "rows": rows,
        "figures": {
            "levels": levels,
            "query_counts_constant": constant,
            "query_counts": counts,
            "bulk": {
                "batch": BATCH,
                "rounds": rounds,
                "latency_ms": lat,
                "codes": bulk["codes"],
                "failed": bulk["failed"],
                "sql": bulk_sql,
            },
        },
        "delivery_ok": None,
        "notes": [
            f"Seeded through the ORM (bench/django_side.py planning): per size, workers of a worker type of their own "
            f"with back-to-back 3-week assignments over {WEEKS} weeks from {START}, some overlapping, every fifth with "
            "a week of leave; the user is the project's owner with a manager grant (sees every worker's capacity).",
            f"Calendar: what planning/static/planning/calendar.js requests for one screen filtered to that worker type "
            f"(capacity for {WEEKS * 7} days, then each page of {PAGE_SIZE} assignments), {repeat} rounds after a "
            "warm-up, sequential, JWT; a load is the sum of one round's requests. SQL: each request once more inside "
            "a Django process (CaptureQueriesContext).",
            f"Bulk move: {rounds} POST /api/planning/assignments/bulk/ of {BATCH} items one after another (the next "
            f"{BATCH} assignments each time, moved a day with their current versions), each item in its own "
            "savepoint with compare-and-set, audit row, assignment_changed event and workload invalidation.",
        ],
    }
