"""A user who loses access loses their live sockets too (issue #14, item 1).

Deactivation (any path: ORM save, the service, the admin), deletion, a password change and
"sign out everywhere" close every socket of the user with 4401 within a second, in every
process (the close goes through the channel layer; the last test has a second process
deactivate the user over Redis). A socket whose close was missed still cannot act: every
inbound frame re-checks that the user is active.
"""

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.forms import MultiWidget
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from contorl.accounts import services as account_services
from contorl.accounts import sessions
from contorl.accounts.models import User
from rooms.models import Message
from tests.board.factories import make_project
from tests.rooms.factories import make_room

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SAME_ORIGIN = [(b"host", b"testserver"), (b"origin", b"http://testserver")]


async def open_socket(path: str, user, *, headers=SAME_ORIGIN) -> WebsocketCommunicator:
    """A socket through the whole ASGI stack, signed in by a JWT first frame, past its first frame."""
    from contorl.asgi import application

    token = await database_sync_to_async(lambda: str(AccessToken.for_user(user)))()
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect(timeout=5)
    assert connected
    await comm.send_json_to({"type": "auth", "token": token})
    first = await comm.receive_json_from(timeout=5)
    assert first["type"] in ("ready", "unread"), first
    return comm


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """A layer per test: each async test has its own event loop, and a Redis layer's
    connections belong to the loop that first used them."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


async def close_code(comm: WebsocketCommunicator, *, within: float = 1.0):
    """The server's close code, skipping data frames; fails if it does not come in time."""
    deadline = time.monotonic() + within
    while True:
        out = await comm.receive_output(timeout=max(0.01, deadline - time.monotonic()))
        if out["type"] == "websocket.close":
            return out.get("code")


async def close_codes(sockets, *, within: float = 1.0) -> list:
    """Each socket's close code (each must come within `within`), then let the consumers finish."""
    codes = [await close_code(comm, within=within) for comm in sockets]
    for comm in sockets:
        await comm.disconnect()
    return codes


@pytest.fixture
def world(user, make_user):
    """carol: room editor and project member, with no audit trail of her own (deletable)."""
    carol = make_user("carol")
    room = make_room(user, members=[(carol, "editor")])
    project = make_project(user, members=[(carol, "member")])
    return {"carol": carol, "room": room, "project": project}


async def carol_sockets(world) -> list[WebsocketCommunicator]:
    carol = world["carol"]
    return [
        await open_socket(f"/ws/rooms/{world['room'].pk}/", carol),
        await open_socket(f"/ws/projects/{world['project'].pk}/", carol),
        await open_socket("/ws/notifications/", carol),
    ]


def _orm_deactivate(user):
    fresh = User.objects.get(pk=user.pk)
    fresh.is_active = False
    fresh.save()


def _service_deactivate(user):
    fresh = User.objects.get(pk=user.pk)
    account_services.user_set_active(user=fresh, is_active=False, version=fresh.version, by=None)


def _change_password(user):
    fresh = User.objects.get(pk=user.pk)
    fresh.set_password("a-brand-new-passphrase-42")
    fresh.save()


def _delete(user):
    User.objects.get(pk=user.pk).delete()


def _sign_out_everywhere(user):
    sessions.user_sign_out_everywhere(user=User.objects.get(pk=user.pk), by=None)


@pytest.mark.parametrize(
    "revoke", [_orm_deactivate, _service_deactivate, _change_password, _delete, _sign_out_everywhere]
)
async def test_losing_access_closes_every_socket_4401_within_a_second(world, revoke):
    sockets = await carol_sockets(world)
    await database_sync_to_async(revoke)(world["carol"])
    assert await close_codes(sockets) == [4401, 4401, 4401]


async def test_deactivated_user_can_neither_post_nor_listen(world, user):
    """The original report: after deactivation the room socket still posted and the board still listened."""
    room_socket, board_socket, feed = await carol_sockets(world)
    await database_sync_to_async(_orm_deactivate)(world["carol"])
    assert await close_codes([room_socket, board_socket, feed]) == [4401, 4401, 4401]
    # A reconnect is refused too.
    from contorl.asgi import application

    comm = WebsocketCommunicator(application, f"/ws/rooms/{world['room'].pk}/", headers=SAME_ORIGIN)
    await comm.connect(timeout=5)
    token = await database_sync_to_async(lambda: str(AccessToken.for_user(world["carol"])))()
    await comm.send_json_to({"type": "auth", "token": token})
    assert await close_codes([comm]) == [4401]


async def test_admin_deactivation_closes_sockets(world, user, admin_user):
    admin_user.is_superuser = True
    await database_sync_to_async(admin_user.save)()
    sockets = await carol_sockets(world)

    def deactivate_in_admin():
        client = Client()
        client.force_login(admin_user)
        url = f"/admin/accounts/user/{world['carol'].pk}/change/"
        form = client.get(url).context["adminform"].form
        data = {}  # the form as the admin shows it, re-posted with "active" unticked
        for name, field in form.fields.items():
            value = form[name].value()
            if field.disabled or value is False:
                continue
            if value is True:
                data[name] = "on"
            elif isinstance(field.widget, MultiWidget):
                for i, part in enumerate(field.widget.decompress(value)):
                    data[f"{name}_{i}"] = "" if part is None else part
            else:
                data[name] = "" if value is None else value
        data.pop("is_active", None)  # unchecked: deactivate
        response = client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        return User.objects.get(pk=world["carol"].pk).is_active

    assert await database_sync_to_async(deactivate_in_admin)() is False
    assert await close_codes(sockets) == [4401, 4401, 4401]


async def test_admin_delete_action_closes_sockets(world, admin_user):
    admin_user.is_superuser = True
    await database_sync_to_async(admin_user.save)()
    sockets = await carol_sockets(world)

    def delete_in_admin():
        client = Client()
        client.force_login(admin_user)
        response = client.post(
            "/admin/accounts/user/",
            {"action": "delete_selected", "_selected_action": [world["carol"].pk], "post": "yes"},
        )
        assert response.status_code == 302
        return User.objects.filter(pk=world["carol"].pk).exists()

    assert await database_sync_to_async(delete_in_admin)() is False
    assert await close_codes(sockets) == [4401, 4401, 4401]


async def test_a_missed_close_is_caught_by_the_next_frame(world):
    """Defence in depth: a deactivation that sent no close (a bulk UPDATE fires no signal)
    still stops the socket at its next frame, and nothing is stored."""
    room_socket, board_socket, feed = await carol_sockets(world)
    await database_sync_to_async(User.objects.filter(pk=world["carol"].pk).update)(is_active=False)
    await room_socket.send_json_to({"type": "message", "content": "still here?", "client_id": "ghost"})
    assert await close_codes([room_socket]) == [4401]
    assert not await database_sync_to_async(Message.objects.filter(client_id="ghost").exists)()
    await board_socket.send_json_to({"type": "pong"})  # a listener's only frame: its heartbeat answer
    assert await close_codes([board_socket]) == [4401]
    await feed.disconnect()


async def test_a_missed_close_is_caught_by_a_resume_frame(world):
    """A resume's sign-in re-check rides on the resume's own read; it still closes 4401 and
    replays nothing to an account that is no longer signed in."""
    room_socket, board_socket, feed = await carol_sockets(world)
    await database_sync_to_async(User.objects.filter(pk=world["carol"].pk).update)(is_active=False)
    await room_socket.send_json_to({"type": "resume", "last_seq": 0})
    assert await close_codes([room_socket]) == [4401]
    await board_socket.disconnect()
    await feed.disconnect()


async def test_a_revoked_token_socket_is_caught_by_the_next_frame(world):
    """Same for a token signed out without the close reaching the socket."""
    from django.utils import timezone

    room_socket, board_socket, feed = await carol_sockets(world)
    await database_sync_to_async(User.objects.filter(pk=world["carol"].pk).update)(tokens_valid_after=timezone.now())
    await room_socket.send_json_to({"type": "message", "content": "old token", "client_id": "stale"})
    assert await close_codes([room_socket]) == [4401]
    await board_socket.disconnect()
    await feed.disconnect()
    assert not await database_sync_to_async(Message.objects.filter(client_id="stale").exists)()


async def test_an_active_user_keeps_posting(world):
    room_socket = await open_socket(f"/ws/rooms/{world['room'].pk}/", world["carol"])
    await room_socket.send_json_to({"type": "message", "content": "hello", "client_id": "ok1"})
    while True:
        frame = await room_socket.receive_json_from(timeout=3)
        if frame["type"] == "ack":
            break
    assert frame["client_id"] == "ok1"
    await room_socket.disconnect()


@pytest.mark.redis
@pytest.mark.postgres  # the other process needs a database it can open (runs in the PostgreSQL pass)
async def test_deactivation_in_another_process_closes_sockets_over_redis(world, redis_channel_layer):
    """The socket lives in this process; a separate Python process deactivates the user. The
    close must cross the Redis channel layer and arrive within a second of that commit."""
    from django.db import connection

    assert connection.vendor == "postgresql", "the postgres mark keeps this test out of the SQLite pass"
    sockets = await carol_sockets(world)
    db = connection.settings_dict
    config = redis_channel_layer["default"]["CONFIG"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "contorl.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": config["hosts"][0],
        "CHANNEL_PREFIX": config["prefix"],
        # the other process must speak the same layer as this one (both are tested)
        "CHANNEL_LAYER": "core"
        if redis_channel_layer["default"]["BACKEND"].startswith("channels_redis.core")
        else "pubsub",
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    code = (
        "import django, json, time; django.setup()\n"
        "from contorl.accounts.models import User\n"
        f"u = User.objects.get(pk={world['carol'].pk}); u.is_active = False; u.save()\n"
        "print(json.dumps({'committed_at': time.time()}), flush=True)\n"
        "from django.db import connections; connections.close_all()\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    codes = [await close_code(s, within=60) for s in sockets]
    closed_at = time.time()
    for comm in sockets:
        await comm.disconnect()
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    committed_at = json.loads(out.decode().strip().splitlines()[-1])["committed_at"]
    assert codes == [4401, 4401, 4401]
    assert closed_at - committed_at < 1.0, f"closed {closed_at - committed_at:.2f} s after the commit"
