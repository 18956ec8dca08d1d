"""4. Task PATCH with version check, history, audit and publish at a fixed 100 requests/s."""

from ..stats import fmt, pcts

NAME = "patch"
TITLE = "Task PATCH at 100 req/s (version, history, audit, publish)"
GOAL = "p95 < 50 ms"


def run(stack, quick: bool, *, key: str = "PATCH") -> dict:
    seconds = 3 if quick else 30
    rate = 20 if quick else 100
    data = stack.django("project", {"tasks": 500, "edges": 0, "key": key, "prefix": key.lower()})
    config = {
        "mode": "rest",
        "kind": "patch",
        "base": stack.base,
        "token": data["token"],
        "versions": [[str(i), 1] for i in data["task_ids"]],
        "rate": rate,
        "seconds": seconds,
        "concurrency": 50,
    }
    # One at a time first: the service time of a single PATCH on an otherwise idle server.
    serial = stack.loadgen([{**config, "serial": 10 if quick else 30}], timeout=120)[0]
    config["versions"] = [[k, v] for k, v in serial["versions"].items()]
    result = stack.loadgen([config], timeout=seconds + 120)[0]
    one = pcts(serial["times"])
    if not result["times"]:
        raise RuntimeError(f"no PATCH succeeded: {result['codes']}")
    lat = pcts(result["times"])
    done = result["codes"].get("200", 0)
    windows = _per_second(result.get("series", []), seconds)
    kept_up = sum(1 for w in windows if w["done"] and w["p95_ms"] < 50)
    rows = [
        ["p50 / p95 / p99 ms", "/".join(fmt(lat[k]) for k in ("p50", "p95", "p99")), "p95 < 50"],
        [
            "requests: offered / 200 OK / other",
            f"{result['sent']:,} / {done:,} / {sum(v for k, v in result['codes'].items() if k != '200')}",
            "",
        ],
        ["achieved rate (200 OK per s)", fmt(done / seconds), f"{rate}"],
        ["1-s windows with p95 < 50 ms (of the run's)", f"{kept_up} of {len(windows)}", ""],
        ["one at a time (no load): p50 / p95 ms", f"{fmt(one['p50'])} / {fmt(one['p95'])}", ""],
    ]
    return {
        "rows": rows,
        "figures": {
            "seconds": seconds,
            "rate": rate,
            "latency_ms": lat,
            "serial_ms": one,
            "codes": result["codes"],
            "per_second": windows,
        },
        "delivery_ok": None,
        "notes": [
            f"Open loop: a PATCH {{version, title}} is started every {1000 / rate:.0f} ms whatever the server's "
            "latency (so slowness shows as latency, not as a lower rate), over 500 tasks of one project so no two "
            "requests race for the same version. Each success is one compare-and-set UPDATE, a history row, an "
            "audit row and a task_updated event after commit. aiohttp, JWT, keep-alive connections."
        ],
    }


def _per_second(series: list, seconds: int) -> list[dict]:
    """Completions by the second they finished in: how many, and their p50/p95. A backlog shows
    as a run of slow windows (the host's slow phases do that: bench/PROFILE.md, eighth session)."""
    by_second: dict[int, list[float]] = {}
    for finished_at, ms in series:
        by_second.setdefault(int(finished_at), []).append(ms)
    windows = []
    for second in range(max(seconds, max(by_second, default=-1) + 1)):  # a backlog drains after the end
        times = sorted(by_second.get(second, []))
        windows.append(
            {
                "second": second,
                "done": len(times),
                "p50_ms": times[len(times) // 2] if times else None,
                "p95_ms": times[min(len(times) - 1, int(len(times) * 0.95))] if times else None,
            }
        )
    return windows
