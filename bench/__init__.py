"""CONTORL benchmarks: `python -m bench.run [--quick] [--only NAME]` (see BENCHMARKS.md)."""
