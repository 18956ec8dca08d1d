"""One module per scenario: NAME, TITLE, GOAL and run(stack, quick) -> dict.

The dict carries `rows` ([metric, value, goal] for the table), `figures` (raw numbers for
BENCHMARKS.md), `notes`, and `delivery` (a checker.Delivery dict, or None when the scenario
moves no chat messages).
"""

ORDER = ["idle", "fanout", "writes", "patch", "board", "deps", "search", "soak", "layout", "planning"]
