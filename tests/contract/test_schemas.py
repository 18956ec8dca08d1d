"""docs/events is complete and consistent: valid schemas, examples that pass them, an index
that matches the consumers and the services, a README that lists every frame, and a
watcher (the root conftest's `_event_contract`) that does fail bad frames."""

import ast
import json
import uuid

import pytest
from jsonschema import Draft202012Validator

from . import frames

ROOT = frames.SCHEMA_DIR.parents[1]
APP_DIRS = ("contorl", "tasks", "rooms", "notifications", "planning", "automation", "audit")


def indexed() -> list[tuple[str, str, str, str]]:
    """(endpoint, direction, frame type, schema file) for every entry of index.json."""
    return [
        (endpoint, direction, frame_type, rel)
        for endpoint, entry in frames.index().items()
        for direction in ("server", "client")
        for frame_type, rel in entry[direction].items()
    ]


def test_every_schema_is_valid_draft_2020_12():
    for rel, schema in frames.schema_files().items():
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", rel
        Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith("/events/" + rel), rel


def test_index_names_every_frame_schema_and_only_existing_ones():
    files = set(frames.schema_files())
    listed = {rel for *_, rel in indexed()}
    assert listed <= files
    assert files - listed == {"envelope.json", "defs.json"}
    assert set(frames.index()) == set(frames.ENDPOINTS)


def test_every_example_passes_its_schema_on_every_endpoint_that_lists_it():
    for endpoint, direction, frame_type, rel in indexed():
        examples = frames.schema_files()[rel]["examples"]
        assert examples, rel
        for example in examples:
            assert example["type"] == frame_type
            assert frames.problems(example, endpoint=endpoint, direction=direction) == []


@pytest.mark.parametrize(
    "frame, expected",
    [
        ({"type": "ready", "event_id": str(uuid.uuid4()), "data": {"project": 1}, "extra": 1}, "Additional properties"),
        ({"type": "ready", "data": {"project": 1}}, "'event_id' is a required property"),
        ({"type": "ready", "event_id": "not-a-uuid", "data": {"project": 1}}, "is not a 'uuid'"),
        ({"type": "ready", "event_id": str(uuid.uuid4()), "data": {"project": "1"}}, "is not of type 'integer'"),
        ({"type": "ping", "event_id": str(uuid.uuid4())}, "Additional properties"),
        ({"type": "task_exploded", "event_id": str(uuid.uuid4()), "data": {}}, "has no schema on the project"),
        ({"type": "message", "event_id": str(uuid.uuid4()), "data": {}}, "has no schema on the project"),
    ],
)
def test_the_contract_refuses_what_clients_could_not_rely_on(frame, expected):
    found = frames.problems(frame, endpoint="project")
    assert any(expected in problem for problem in found), found


def test_timestamps_and_dates_are_checked():
    example = frames.schema_files()["server/task_created.json"]["examples"][0]
    for field, bad in [
        ("created_at", "2026-12-01 03:04:38"),
        ("created_at", "2026-13-01T00:00:00Z"),
        ("due_date", "1.12.2026"),
    ]:
        frame = {**example, "data": {**example["data"], field: bad}}
        assert frames.problems(frame, endpoint="project"), (field, bad)
    frame = {**example, "data": {**example["data"], "created_at": "2026-12-01T03:04:38Z", "future_key": [1]}}
    assert frames.problems(frame, endpoint="project") == []  # data may grow; seconds-only stamps are fine


def test_readme_lists_every_frame_type_and_schema():
    readme = (frames.SCHEMA_DIR / "README.md").read_text()
    for endpoint, direction, frame_type, rel in indexed():
        assert f"| `{frame_type}` | [{rel}]({rel}) |" in readme, (endpoint, direction, frame_type)
        example = json.dumps(frames.schema_files()[rel]["examples"][0], ensure_ascii=False)
        assert example in readme, rel


def test_the_endpoints_accept_exactly_the_client_frames_the_contract_lists():
    from notifications.consumers import NotificationConsumer
    from rooms.consumers import RoomConsumer
    from tasks.consumers import ProjectConsumer

    for endpoint, consumer in [
        ("project", ProjectConsumer),
        ("room", RoomConsumer),
        ("notifications", NotificationConsumer),
    ]:
        assert set(frames.index()[endpoint]["client"]) == {"auth", "pong", *consumer.client_frames}, endpoint


def test_the_project_events_of_the_contract_have_schemas():
    from tasks.consumers import PROJECT_EVENTS

    assert set(PROJECT_EVENTS) <= set(frames.index()["project"]["server"])


def _literal_frame_types(tree: ast.AST) -> set[str]:
    """Event types named as literals where the server publishes or sends a frame:
    publish(group, "type", ...), _publish_task("type", ...), _publish(obj, "type", ...),
    make_frame("type", ...) and send_frame({"type": "..."})."""
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        position = {"publish": 1, "_publish": 1, "_publish_task": 0, "make_frame": 0}.get(name)
        if position is not None and len(node.args) > position:
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
        if name == "send_frame" and node.args and isinstance(node.args[0], ast.Dict):
            for key, value in zip(node.args[0].keys, node.args[0].values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "type" and isinstance(value, ast.Constant):
                    found.add(value.value)
    return found


def test_every_frame_type_the_code_names_has_a_schema():
    # Also the ones no test happens to emit: read from the source, not from a run.
    server_types = {frame_type for _e, direction, frame_type, _r in indexed() if direction == "server"}
    named: dict[str, str] = {}
    for app in APP_DIRS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for frame_type in _literal_frame_types(frames.parse_python(path)):
                named.setdefault(frame_type, str(path.relative_to(ROOT)))
    assert {"task_created", "message", "notification", "assignment_created", "ready", "ack", "unread"} <= set(named)
    missing = {t: where for t, where in named.items() if t not in server_types}
    assert missing == {}, f"frame types without a schema in docs/events: {missing}"


# --- the watcher itself ---------------------------------------------------------------------
@pytest.mark.django_db
def test_a_published_frame_that_breaks_the_contract_is_reported(_event_contract):
    from contorl import events

    events.publish(events.project_group(1), "task_exploded", {"id": 1})
    events.publish(events.project_group(1), "board_changed", {"project": "one", "reason": "formulas"})
    events.publish("metrics.test", "anything", {"n": 1})  # not a client group: not the contract
    found = list(_event_contract)
    _event_contract.clear()  # the fixture would fail this test at teardown otherwise
    assert len(found) == 2, found
    assert "events.publish to 'project.1'" in found[0] and "'task_exploded' has no schema" in found[0]
    assert "server/board_changed.json" in found[1] and "'one' is not of type 'integer'" in found[1]
    assert "$.data.project" in found[1]


async def test_a_frame_a_consumer_sends_itself_is_checked(_event_contract):
    from notifications.consumers import NotificationConsumer

    written = []

    async def base_send(message):
        written.append(message)

    consumer = NotificationConsumer()
    consumer.base_send, consumer.endpoint = base_send, "notifications"
    await consumer.send(
        text_data=json.dumps({"type": "unread", "event_id": str(uuid.uuid4()), "data": {"count": 0, "items": []}})
    )
    await consumer.send(text_data=json.dumps({"type": "ready", "event_id": str(uuid.uuid4()), "data": {}}))
    await consumer.send(text_data=json.dumps({"type": "error", "data": {"code": "x", "message": "", "details": {}}}))
    found = list(_event_contract)
    _event_contract.clear()
    assert len(written) == 3  # checking never stops a frame
    assert len(found) == 2, found
    assert "NotificationConsumer.send" in found[0] and "'ready' has no schema on the notifications endpoint" in found[0]
    assert "'event_id' is a required property" in found[1]


async def test_frames_of_test_double_consumers_are_not_the_contract(_event_contract):
    from contorl.consumers import ContorlConsumer

    class Echo(ContorlConsumer):  # as in tests/ops: a consumer of no endpoint
        pass

    written = []

    async def base_send(message):
        written.append(message)

    consumer = Echo()
    consumer.base_send, consumer.endpoint = base_send, "echo"
    await consumer.send(text_data=json.dumps({"type": "ready"}))
    assert len(written) == 1 and _event_contract == []
