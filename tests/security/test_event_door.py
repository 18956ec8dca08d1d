"""One door to the channel layer (issue #14, item 11): only contorl/events.py may call
`group_send`. A direct call skips the after-commit timing and the Redis-outage buffer, so
a revocation sent that way is silently dropped while Redis is down."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOOR = ROOT / "contorl" / "events.py"
NOT_APP_CODE = {"tests", "bench"}


def app_packages() -> list[Path]:
    return sorted(
        path
        for path in ROOT.iterdir()
        if path.is_dir() and (path / "__init__.py").exists() and path.name not in NOT_APP_CODE
    )


def group_send_callers(path: Path) -> list[int]:
    """Lines that name `group_send` (a call, an attribute taken to call later, or getattr by string)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if (
            (isinstance(node, ast.Attribute) and node.attr == "group_send")
            or (isinstance(node, ast.Name) and node.id == "group_send")
            or (isinstance(node, ast.Constant) and node.value == "group_send")
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_event_door_calls_group_send():
    packages = app_packages()
    assert {"contorl", "tasks", "rooms", "notifications"} <= {p.name for p in packages}
    offenders = []
    for package in packages:
        for path in package.rglob("*.py"):
            if path == DOOR or "migrations" in path.parts:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{line}" for line in group_send_callers(path)]
    assert offenders == [], "use contorl.events.publish() or control() instead of group_send"


def test_the_scan_sees_a_direct_call(tmp_path):
    """The detector itself: a plain direct call is found (so an empty list above means something)."""
    sample = tmp_path / "sample.py"
    sample.write_text("async_to_sync(get_channel_layer().group_send)('g', {'type': 'x'})\n")
    assert group_send_callers(sample) == [1]
    assert group_send_callers(DOOR), "contorl/events.py itself sends through group_send"
