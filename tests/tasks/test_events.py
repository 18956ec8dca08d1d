"""Every task write publishes its event (with task_payload) only after commit; notifications."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from contorl.events import project_group
from tasks import services
from tasks.models import Task
from tasks.selectors import task_fresh, task_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def listen(project, settings):
    """A channel subscribed to the project group; returns a function draining its frames.

    In-memory layer on purpose: these tests pin what publish() is asked to send and when;
    delivery through Redis is covered by the board's consumer tests.
    """
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(project_group(project.pk), channel)

    def drain():
        frames = []
        while True:
            try:
                message = async_to_sync(_receive_nowait)(layer, channel)
            except TimeoutError:
                return frames
            frames.append(json.loads(message["text"]))

    yield drain
    channel_layers.backends.clear()


async def _receive_nowait(layer, channel):
    import asyncio

    return await asyncio.wait_for(layer.receive(channel), timeout=0.05)


def test_events_only_after_commit(django_capture_on_commit_callbacks, listen, project, user):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        task = services.task_create(project=project, by=user, title="New")
    assert listen() == []  # nothing before commit
    assert callbacks  # the publish is waiting for the commit
    for callback in callbacks:
        callback()
    frames = listen()
    assert [f["type"] for f in frames] == ["task_created"]
    data = frames[0]["data"]
    assert data["id"] == task.pk and data["version"] == 1 and data["actor"]["id"] == user.pk
    assert frames[0]["event_id"]


def test_failed_write_publishes_nothing(django_capture_on_commit_callbacks, listen, task, user):
    from contorl.errors import VersionConflict

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(VersionConflict):
        services.task_update(task=task, version=7, by=user, title="x")
    assert listen() == []


def test_event_types_per_change(django_capture_on_commit_callbacks, listen, task, statuses, user, project):
    with django_capture_on_commit_callbacks(execute=True):
        services.task_update(task=task, version=1, by=user, title="t2")
    with django_capture_on_commit_callbacks(execute=True):
        services.task_update(task=task, version=2, by=user, status=statuses[1])
    with django_capture_on_commit_callbacks(execute=True):
        services.task_update(task=task, version=3, by=user, assignee=user)
    with django_capture_on_commit_callbacks(execute=True):
        services.task_delete(task=Task.objects.get(pk=task.pk), by=user)
    with django_capture_on_commit_callbacks(execute=True):
        services.task_restore(task=Task.all_objects.get(pk=task.pk), by=user)
    frames = listen()
    assert [f["type"] for f in frames] == [
        "task_updated",
        "task_status_changed",
        "task_assigned",
        "task_deleted",
        "task_restored",
    ]
    assert [f["data"]["version"] for f in frames] == [2, 3, 4, 5, 6]
    assert frames[3]["data"]["is_deleted"] is True and frames[4]["data"]["is_deleted"] is False


def test_delete_publishes_one_event_per_cascaded_task(django_capture_on_commit_callbacks, listen, make_task, user):
    parent = make_task()
    kids = [make_task(parent=parent) for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        services.task_delete(task=parent, by=user)
    frames = listen()
    assert [f["type"] for f in frames] == ["task_deleted"] * 3
    assert [f["data"]["id"] for f in frames] == [parent.pk, *[k.pk for k in kids]]


def test_payload_is_the_api_representation(api, task):
    assert api.get(f"/api/tasks/{task.pk}/").json() == task_payload(task_fresh(task.pk))


def test_a_write_answers_with_the_payload_its_event_carried(
    django_capture_on_commit_callbacks, listen, api, project, statuses, task
):
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/tasks/", {"project": project.pk, "title": "Sent"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        patched = api.patch(
            f"/api/tasks/{task.pk}/", {"version": task.version, "status": statuses[1].pk}, format="json"
        )
    assert (created.status_code, patched.status_code) == (201, 200)
    frames = listen()
    assert [f["type"] for f in frames] == ["task_created", "task_status_changed"]
    # The frame's data is the payload plus who did it.
    assert [{k: v for k, v in f["data"].items() if k != "actor"} for f in frames] == [created.json(), patched.json()]


def test_assignment_and_mention_notify(monkeypatch, task, user, owner, viewer, outsider):
    calls = []
    from tasks.services import discussion
    from tasks.services import tasks as task_services

    monkeypatch.setattr(task_services, "notify", lambda **kw: calls.append(kw))
    monkeypatch.setattr(discussion, "notify", lambda **kw: calls.append(kw))
    services.task_update(task=task, version=1, by=owner, assignee=user)
    assert calls[-1]["type"] == "assignment" and calls[-1]["recipients"] == [user]
    services.comment_create(task=task, by=user, body="@dave please check, cc @eve and @alice.")
    mention = calls[-1]
    assert mention["type"] == "mention"
    # eve cannot see the project: not mentioned, not notified
    assert {u.username for u in mention["recipients"]} == {"dave", "alice"}


def test_a_formula_change_tells_boards_to_read_again(django_capture_on_commit_callbacks, listen, make_task, owner):
    project = make_task(title="Priced", estimated_hours=4).project
    untouched = make_task(title="No hours")
    with django_capture_on_commit_callbacks(execute=True):
        field = services.custom_field_create(
            project=project, by=owner, key="cost", name="Cost", type="formula", formula="{estimated_hours} * 10"
        )
    assert [f["type"] for f in listen()] == ["board_changed"]
    with django_capture_on_commit_callbacks(execute=True):
        services.custom_field_update(field=field, version=field.version, by=owner, formula="{estimated_hours} * 20")
    frames = listen()
    assert [f["type"] for f in frames] == ["board_changed"]
    assert frames[0]["data"]["project"] == project.pk and frames[0]["event_id"]
    # Versions stay: formula values are derived data.
    assert Task.objects.get(title="Priced").custom_fields["cost"] == 80.0
    assert Task.objects.get(pk=untouched.pk).version == 1


def test_adding_a_dependency_publishes_the_task_as_a_fresh_read_shows_it(
    django_capture_on_commit_callbacks, listen, api, make_task, django_assert_num_queries
):
    """The API reads the task with its payload data once and re-reads only its dependencies
    under the project lock: the frame must still equal a fresh read, earlier edges and a
    subtask included. Pinned (the edge agrees with the order, so no reordering): task + role,
    other task, savepoint, lock + duplicate check, ranks, edge insert, audit insert, the
    task's dependencies, release."""
    first, second, task = make_task(), make_task(), make_task()
    make_task(parent=task)
    url = f"/api/tasks/{task.pk}/dependencies/"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(url, {"depends_on": first.pk}, format="json").status_code == 201
    listen()
    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(9):
        r = api.post(url, {"depends_on": second.pk}, format="json")
    assert r.status_code == 201, r.content
    (frame,) = listen()
    data = {k: v for k, v in frame["data"].items() if k != "actor"}
    assert data == task_payload(task_fresh(task.pk))
    assert data["depends_on"] == [first.pk, second.pk] and data["subtask_count"] == 1
    again = api.post(url, {"depends_on": second.pk}, format="json")
    assert again.status_code == 400 and "already exists" in str(again.json()["error"])
