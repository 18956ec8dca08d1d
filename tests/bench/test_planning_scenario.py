"""The planning benchmark scenario runs end to end in quick mode: its seeding, the calendar
requests, the bulk moves and the SQL counts, against a live server on the test database.

The harness's processes are replaced by in-process calls (bench.django_side's commands and
bench.loadgen's coroutines), so this checks the scenario's wiring, not its timings."""

import asyncio
import json
import time

import pytest

from bench import loadgen
from bench.scenarios import ORDER
from bench.scenarios import planning as scenario
from planning.models import ResourceAssignment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


class InProcessStack:
    """What a scenario uses of bench.stack.Stack, without starting processes."""

    def __init__(self, base: str, workdir):
        self.base, self.workdir, self.calls = base, workdir, []

    def django(self, command: str, args: dict, timeout: float = 600) -> dict:
        from bench import django_side

        self.calls.append(command)
        return json.loads(json.dumps(django_side.COMMANDS[command](args)))  # as the harness reads it back

    def loadgen(self, configs: list[dict], *, timeout: float) -> list[dict]:
        go = self.workdir / "go.json"
        go.write_text(json.dumps({"start_at": time.time()}))
        out = str(self.workdir / "out.json")
        configs = json.loads(json.dumps(configs))  # as a load generator process reads its config
        return [asyncio.run(loadgen.MODES[c["mode"]]({**c, "go_path": str(go)}, out)) for c in configs]


@pytest.fixture
def no_rate_limits(settings):
    settings.RATELIMIT_ENABLE = False


def test_planning_scenario_runs_in_quick_mode(live_server, tmp_path, no_rate_limits):
    assert "planning" in ORDER
    stack = InProcessStack(live_server.url, tmp_path)
    result = scenario.run(stack, quick=True)
    small, big = result["figures"]["levels"]
    assert (small["workers"], big["workers"]) == (20, 200)
    assert big["requests"] == 3 and big["rows"]["capacity"] == 200  # capacity + two pages of assignments
    assert big["rows"]["assignments p1"] == scenario.PAGE_SIZE
    assert small["statuses"] == big["statuses"] == [200]
    assert result["figures"]["query_counts_constant"] is True, result["figures"]["query_counts"]
    bulk = result["figures"]["bulk"]
    assert bulk["codes"] == {"200": 3} and bulk["failed"] == {}
    assert bulk["latency_ms"]["n"] == 3 and bulk["latency_ms"]["p95"] is not None
    assert bulk["sql"]["status"] == 200 and (bulk["sql"]["succeeded"], bulk["sql"]["failed"]) == (100, 0)
    # Three bulk rounds moved 300 assignments once; the SQL count moved the first 100 again.
    versions = sorted(ResourceAssignment.objects.filter(project__key="PLAN1").values_list("version", flat=True))
    assert versions.count(3) == 100 and versions.count(2) == 200
    rows = {row[0]: row[1] for row in result["rows"]}
    assert rows["calendar query count constant across sizes"] == "yes"
    assert any(label.startswith("bulk move of 100: p50 / p95 / p99") for label in rows)
