"""Revocations go through the event door (issue #14, item 11): while Redis is down they wait
in the same in-order buffer as data events instead of being dropped, and arrive, in order,
once Redis is back.

Uses the throwaway redis-server of tests/board/test_resilience.py (never the shared one).
"""

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from channels_redis.core import RedisChannelLayer

from contorl import events
from contorl.accounts import sessions
from tasks import services
from tests.board.factories import make_project, make_task
from tests.board.test_resilience import _wait_drained, throwaway_redis  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


async def test_revocations_during_an_outage_arrive_in_order_after_it(throwaway_redis, settings, user, make_user):  # noqa: F811
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    dora = await database_sync_to_async(make_user)("dora")
    project = await database_sync_to_async(make_project)(user)
    member = await database_sync_to_async(lambda: project.members.create(user=dora, role="member"))()
    task = await database_sync_to_async(make_task)(project, user, title="Before")
    board = f"outage-board-{uuid.uuid4().hex[:8]}"
    dora_socket = f"outage-dora-{uuid.uuid4().hex[:8]}"

    layer = RedisChannelLayer(**config)
    await layer.group_add(events.project_group(project.pk), board)
    await layer.group_add(sessions.user_sockets_group(dora.pk), dora_socket)
    throwaway_redis.save()  # group membership survives the restart via the RDB file
    await layer.close_pools()
    throwaway_redis.stop()

    # Redis is down: a data event, a kick and a deactivation all commit and are buffered.
    await database_sync_to_async(services.task_update)(task=task, version=1, by=user, title="During outage")
    await database_sync_to_async(services.member_remove)(member=member, by=user)

    def deactivate():
        dora.is_active = False
        dora.save()

    await database_sync_to_async(deactivate)()
    assert events.buffered() >= 3

    throwaway_redis.start()
    assert await _wait_drained() == 0
    layer = RedisChannelLayer(**config)
    on_board = [await asyncio.wait_for(layer.receive(board), 5) for _ in range(2)]
    assert on_board[0]["type"] == "event.message" and "During outage" in on_board[0]["text"]
    assert on_board[1] == {"type": "access.revoked", "user_id": dora.pk}
    assert await asyncio.wait_for(layer.receive(dora_socket), 5) == {"type": "session.revoked"}
    await layer.close_pools()
