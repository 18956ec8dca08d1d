"""Percentiles and small helpers shared by the scenarios."""

import math


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no data."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def pcts(values: list[float], scale: float = 1000.0) -> dict:
    """p50/p95/p99/max of seconds, reported in ms."""
    out = {}
    for name, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)):
        v = percentile(values, p)
        out[name] = None if v is None else round(v * scale, 2)
    out["n"] = len(values)
    return out


def fmt(value, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        value = f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value}{unit}"
