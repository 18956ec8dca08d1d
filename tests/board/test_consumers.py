"""/ws/projects/{id}/: who may connect, and that every task write reaches listeners only after commit."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from contorl.socket_session import SocketSessionMiddleware
from tasks import services
from tasks.models import Task
from tasks.routing import websocket_urlpatterns
from tests.board.factories import make_project, make_task, statuses

pytestmark = pytest.mark.django_db(transaction=True)

application = SocketSessionMiddleware(URLRouter(websocket_urlpatterns))


@database_sync_to_async
def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"


async def connect(path, cookie=None, *, ready=True):
    """Open a socket; with a cookie, wait for the `ready` frame (subscribed to the group)."""
    headers = [(b"cookie", cookie.encode())] if cookie else []
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect()
    assert connected
    if cookie and ready:
        await expect_ready(comm)
    return comm


async def expect_ready(comm):
    frame = await comm.receive_json_from(timeout=2)
    assert frame["type"] == "ready", frame


async def expect_close(comm, code, timeout=2):
    out = await comm.receive_output(timeout)
    assert out == {"type": "websocket.close", "code": code}


@pytest.fixture
def outsider(make_user, other_department):
    return make_user("outsider", department=other_department)


@pytest.fixture
def project(user, make_user):
    carol = make_user("carol")
    return make_project(user, members=[(carol, "viewer")])


async def test_cookie_auth_joins_and_relays_events(user, project):
    comm = await connect(f"/ws/projects/{project.pk}/", await session_cookie(user))
    task = await database_sync_to_async(make_task)(project, user, title="Wire it")
    frame = await comm.receive_json_from(timeout=2)
    assert frame["type"] == "task_created"
    assert frame["data"]["id"] == task.pk
    assert frame["data"]["version"] == 1
    assert frame["data"]["actor"]["username"] == "bob"
    assert len(frame["event_id"]) == 36
    await comm.disconnect()


async def test_first_frame_jwt_auth(user, project):
    comm = await connect(f"/ws/projects/{project.pk}/")
    await comm.send_to(text_data=json.dumps({"type": "auth", "token": str(AccessToken.for_user(user))}))
    await expect_ready(comm)
    # Admitted: the socket stays open and receives the next event.
    await database_sync_to_async(make_task)(project, user, title="After auth")
    frame = await comm.receive_json_from(timeout=2)
    assert frame["type"] == "task_created" and frame["data"]["title"] == "After auth"
    await comm.disconnect()


async def test_bad_token_closes_4401(project):
    comm = await connect(f"/ws/projects/{project.pk}/")
    await comm.send_to(text_data=json.dumps({"type": "auth", "token": "nope"}))
    await expect_close(comm, 4401)


async def test_auth_timeout_closes_4408(settings, project):
    settings.WS_AUTH_TIMEOUT = 0.2
    comm = await connect(f"/ws/projects/{project.pk}/")
    await expect_close(comm, 4408)


async def test_an_auth_frame_in_time_is_not_timed_out_by_a_slow_check(settings, monkeypatch, user, project):
    import asyncio

    from tasks.consumers import ProjectConsumer

    settings.WS_AUTH_TIMEOUT = 0.2
    check = ProjectConsumer.authorize

    async def slow_authorize(self, who):
        await asyncio.sleep(0.6)  # the deadline passes while we decide
        return await check(self, who)

    monkeypatch.setattr(ProjectConsumer, "authorize", slow_authorize)
    comm = await connect(f"/ws/projects/{project.pk}/")
    await comm.send_to(text_data=json.dumps({"type": "auth", "token": str(AccessToken.for_user(user))}))
    await expect_ready(comm)
    await comm.disconnect()


async def test_heartbeat_keeps_answering_sockets_and_closes_silent_ones(settings, user, project):
    settings.WS_HEARTBEAT_INTERVAL = 0.1
    cookie = await session_cookie(user)
    silent = await connect(f"/ws/projects/{project.pk}/", cookie)
    assert [(await silent.receive_json_from(timeout=2))["type"] for _ in range(2)] == ["ping", "ping"]
    await expect_close(silent, 4408)  # the third beat finds two pongs missing

    answering = await connect(f"/ws/projects/{project.pk}/", cookie)
    for _ in range(5):  # five beats, each answered: never two outstanding, never closed
        assert (await answering.receive_json_from(timeout=2))["type"] == "ping"
        await answering.send_to(text_data=json.dumps({"type": "pong"}))
    await database_sync_to_async(make_task)(project, user, title="Still listening")
    for _ in range(200):  # still open: the event arrives (between more answered pings, 0.1 s apart)
        frame = await answering.receive_json_from(timeout=2)
        if frame["type"] != "ping":
            break
        await answering.send_to(text_data=json.dumps({"type": "pong"}))
    assert frame["type"] == "task_created" and frame["data"]["title"] == "Still listening"
    await answering.disconnect()


async def test_invisible_project_closes_4404_like_a_missing_one(outsider, project):
    comm = await connect(f"/ws/projects/{project.pk}/", await session_cookie(outsider), ready=False)
    await expect_close(comm, 4404)


async def test_missing_project_closes_4404(user):
    comm = await connect("/ws/projects/999999/", await session_cookie(user), ready=False)
    await expect_close(comm, 4404)


async def test_deleting_the_project_closes_its_boards_4404(user, project):
    comm = await connect(f"/ws/projects/{project.pk}/", await session_cookie(user))
    await database_sync_to_async(services.project_delete)(project=project, by=user)
    await expect_close(comm, 4404)


async def test_viewer_and_department_manager_may_listen(make_user, user, project):
    viewer = await database_sync_to_async(lambda: project.members.get(role="viewer").user)()
    manager = await database_sync_to_async(make_user)("mgr", is_department_manager=True)
    for who in (viewer, manager):
        comm = await connect(f"/ws/projects/{project.pk}/", await session_cookie(who))
        await database_sync_to_async(make_task)(project, user, title=f"seen by {who.username}")
        frame = await comm.receive_json_from(timeout=2)
        assert frame["data"]["title"] == f"seen by {who.username}"
        await comm.disconnect()


async def test_client_frames_are_refused_politely(user, project):
    comm = await connect(f"/ws/projects/{project.pk}/", await session_cookie(user))
    await comm.send_to(text_data=json.dumps({"type": "move", "task": 1}))
    frame = await comm.receive_json_from(timeout=2)
    assert frame["type"] == "error" and frame["data"]["code"] == "unknown_type"
    await comm.send_to(text_data="{not json")
    await expect_close(comm, 4400)


def _every_write(project, user, other):
    """One write of each kind; returns the event types in the order they must arrive."""
    todo, doing, _done = statuses(project)
    task = make_task(project, user, title="Lifecycle", status=todo)
    task = services.task_update(task=task, version=task.version, by=user, title="Lifecycle 2")
    task = services.task_move(task=task, status=doing, position=0, version=task.version, by=user)
    task = services.task_update(task=task, version=task.version, by=user, assignee=other)
    services.task_delete(task=task, by=user)
    services.task_restore(task=Task.all_objects.get(pk=task.pk), by=user)
    return task.pk


EVERY_TYPE = [
    "task_created",
    "task_updated",
    "task_status_changed",
    "task_assigned",
    "task_deleted",
    "task_restored",
]


async def _assert_every_type(comm, project, user, make_user):
    other = await database_sync_to_async(make_user)("dora")
    await database_sync_to_async(lambda: project.members.create(user=other, role="member"))()
    task_id = await database_sync_to_async(_every_write)(project, user, other)
    frames = [await comm.receive_json_from(timeout=3) for _ in EVERY_TYPE]
    assert [f["type"] for f in frames] == EVERY_TYPE
    assert all(f["data"]["id"] == task_id for f in frames)
    assert [f["data"]["version"] for f in frames] == [1, 2, 3, 4, 5, 6]
    assert frames[3]["data"]["assignee"] == other.pk
    assert frames[4]["data"]["is_deleted"] is True and frames[5]["data"]["is_deleted"] is False
    assert len({f["event_id"] for f in frames}) == len(frames)
    assert await comm.receive_nothing(0.2)


async def test_every_event_type_arrives_after_commit(user, project, make_user):
    comm = await connect(f"/ws/projects/{project.pk}/", await session_cookie(user))
    await _assert_every_type(comm, project, user, make_user)
    await comm.disconnect()


@pytest.mark.redis
async def test_every_event_type_over_redis_layer(redis_channel_layer, user, project, make_user):
    comm = await connect(f"/ws/projects/{project.pk}/", await session_cookie(user))
    await _assert_every_type(comm, project, user, make_user)
    await comm.disconnect()


def _write_then_roll_back(project, user):
    task = make_task(project, user, title="committed")
    try:
        with transaction.atomic():
            services.task_update(task=task, version=task.version, by=user, title="never seen")
            make_task(project, user, title="never created")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    return task


async def test_rolled_back_writes_publish_nothing(user, project):
    comm = await connect(f"/ws/projects/{project.pk}/", await session_cookie(user))
    task = await database_sync_to_async(_write_then_roll_back)(project, user)
    frame = await comm.receive_json_from(timeout=2)
    assert frame["type"] == "task_created" and frame["data"]["title"] == "committed"
    assert await comm.receive_nothing(0.5)
    assert (await database_sync_to_async(Task.objects.get)(pk=task.pk)).title == "committed"
    await comm.disconnect()


async def test_removed_member_is_kicked(user, project, make_user):
    dora = await database_sync_to_async(make_user)("dora2")
    member = await database_sync_to_async(lambda: project.members.create(user=dora, role="member"))()
    comm = await connect(f"/ws/projects/{project.pk}/", await session_cookie(dora))
    await database_sync_to_async(services.member_remove)(member=member, by=user)
    await expect_close(comm, 4403)


async def test_events_of_other_projects_do_not_leak(user, project):
    other_project = await database_sync_to_async(make_project)(user, name="Other")
    comm = await connect(f"/ws/projects/{project.pk}/", await session_cookie(user))
    await database_sync_to_async(make_task)(other_project, user, title="elsewhere")
    assert await comm.receive_nothing(0.3)
    await comm.disconnect()


async def test_nothing_is_sent_before_commit(user, project):
    comm = await connect(f"/ws/projects/{project.pk}/", await session_cookie(user))
    task = await database_sync_to_async(make_task)(project, user, title="before")
    assert (await comm.receive_json_from(timeout=2))["type"] == "task_created"

    def write_and_look_inside_the_transaction():
        with transaction.atomic():
            services.task_update(task=task, version=task.version, by=user, title="after")
            # the row is written but not committed: the socket must still be silent
            return async_to_sync(comm.receive_nothing)(0.3)

    assert await database_sync_to_async(write_and_look_inside_the_transaction)()
    frame = await comm.receive_json_from(timeout=2)
    assert frame["type"] == "task_updated" and frame["data"]["title"] == "after"
    await comm.disconnect()
