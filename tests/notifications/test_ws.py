"""/ws/notifications/: unread replay on connect, live counts across tabs, read-all everywhere."""

import pytest
from channels.db import database_sync_to_async

from notifications import services
from tests.notifications.factories import NotificationFactory, read
from tests.notifications.helpers import connect, next_of

pytestmark = pytest.mark.django_db(transaction=True)


def notify(*args, **kwargs):
    return database_sync_to_async(services.notify)(*args, **kwargs)


async def test_unread_replay_on_connect(user, other_user):
    old = await database_sync_to_async(NotificationFactory)(recipient=user, title="old")
    await database_sync_to_async(read)(old)
    a = await database_sync_to_async(NotificationFactory)(recipient=user, title="first")
    b = await database_sync_to_async(NotificationFactory)(recipient=user, title="second", actor=other_user)
    await database_sync_to_async(NotificationFactory)(recipient=other_user, title="not yours")
    comm = await connect(user)
    frame = await next_of(comm, "unread")
    assert frame["event_id"] and frame["data"]["count"] == 2
    assert [i["id"] for i in frame["data"]["items"]] == [b.pk, a.pk]
    assert frame["data"]["items"][0]["actor"]["username"] == "olga"
    await comm.disconnect()


async def test_live_count_across_two_connections_and_read_all_updates_both(user, other_user, api_for):
    tab1, tab2 = await connect(user), await connect(user)
    for tab in (tab1, tab2):
        assert (await next_of(tab, "unread"))["data"]["count"] == 0
    await notify(recipients=[user], type="mention", title="one", actor=other_user, link="/rooms/1/")
    await notify(recipients=[user], type="assignment", title="two", actor=other_user)
    for tab in (tab1, tab2):
        first = await next_of(tab, "notification")
        second = await next_of(tab, "notification")
        assert (first["data"]["title"], first["data"]["unread_count"]) == ("one", 1)
        assert (second["data"]["title"], second["data"]["unread_count"]) == ("two", 2)
        assert first["data"]["actor"]["username"] == "olga" and first["data"]["link"] == "/rooms/1/"

    client = api_for(user)
    target = second["data"]["id"]
    response = await database_sync_to_async(client.post)(f"/api/notifications/{target}/read/")
    assert response.status_code == 200
    for tab in (tab1, tab2):
        frame = await next_of(tab, "unread_count")
        assert frame["data"] == {"count": 1, "read": [target], "actor": None}

    response = await database_sync_to_async(client.post)("/api/notifications/read-all/")
    assert response.json() == {"marked": 1, "count": 0}
    for tab in (tab1, tab2):
        frame = await next_of(tab, "unread_count")
        assert frame["data"]["count"] == 0 and frame["data"]["read"] == "all"
    await tab1.disconnect()
    await tab2.disconnect()


async def test_other_users_notifications_never_reach_this_socket(user, other_user):
    comm = await connect(user)
    await next_of(comm, "unread")
    await notify(recipients=[other_user], type="mention", title="for olga")
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_actor_is_not_notified_of_their_own_action(user, other_user):
    comm = await connect(user)
    await next_of(comm, "unread")
    created = await notify(recipients=[user, other_user], type="mention", title="self", actor=user)
    assert [n.recipient_id for n in created] == [other_user.pk]
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


@pytest.mark.redis
async def test_live_delivery_over_the_redis_channel_layer(redis_channel_layer, user, other_user, api_for):
    tab1, tab2 = await connect(user), await connect(user)
    for tab in (tab1, tab2):
        await next_of(tab, "unread")
    await notify(recipients=[user], type="room_invite", title="Join room 9", actor=other_user)
    for tab in (tab1, tab2):
        frame = await next_of(tab, "notification")
        assert frame["data"]["unread_count"] == 1 and frame["data"]["type"] == "room_invite"
    await database_sync_to_async(api_for(user).post)("/api/notifications/read-all/")
    for tab in (tab1, tab2):
        assert (await next_of(tab, "unread_count"))["data"]["count"] == 0
    await tab1.disconnect()
    await tab2.disconnect()


async def test_unauthenticated_socket_is_closed_4408_or_4401():
    from channels.testing import WebsocketCommunicator
    from django.contrib.auth.models import AnonymousUser

    from tests.notifications.helpers import APP

    comm = WebsocketCommunicator(APP, "/ws/notifications/")
    comm.scope["user"] = AnonymousUser()
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "auth", "token": "not-a-jwt"})
    out = await comm.receive_output(timeout=2)
    assert out["type"] == "websocket.close" and out["code"] == 4401
