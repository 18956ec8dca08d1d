"""events.batched(): many publishes, one hand-off after commit, in order, savepoints honoured."""

import json

import pytest
from channels.layers import get_channel_layer
from django.db import transaction

from contorl import events

pytestmark = pytest.mark.django_db(transaction=True)


def frame(n: int) -> dict:
    return {"project": 7, "reason": str(n)}  # the item's number rides in the reason


@pytest.fixture
def listener(group_frames):
    """The numbers of the frames published to project 7, in order."""
    frames = group_frames("project.7")
    return lambda: [int(f["data"]["reason"]) for f in frames()]


def test_a_batch_leaves_after_commit_in_order_without_rolled_back_items(listener, monkeypatch):
    hops = []
    real = events.async_to_sync
    monkeypatch.setattr(events, "async_to_sync", lambda fn: hops.append(fn) or real(fn))
    with transaction.atomic():
        with events.batched():
            events.publish("project.7", "board_changed", frame(1))
            try:
                with transaction.atomic():
                    events.publish("project.7", "board_changed", frame(2))
                    raise RuntimeError("this item fails")
            except RuntimeError:
                pass
            events.publish("project.7", "board_changed", frame(3))
        assert listener() == []  # nothing before the commit
    assert listener() == [1, 3]
    assert len(hops) == 1  # one hand-off for the whole batch


def test_without_a_batch_each_publish_is_its_own_hand_off(listener, monkeypatch):
    hops = []
    real = events.async_to_sync
    monkeypatch.setattr(events, "async_to_sync", lambda fn: hops.append(fn) or real(fn))
    with transaction.atomic():
        events.publish("project.7", "board_changed", frame(1))
        events.publish("project.7", "board_changed", frame(2))
    assert listener() == [1, 2] and len(hops) == 2


def test_a_batch_that_meets_a_dead_layer_queues_the_unsent_rest_in_order(listener, monkeypatch):
    layer = get_channel_layer()
    real_send = layer.group_send
    calls = []

    async def flaky(group, message):
        calls.append(message)
        if len(calls) == 2:
            raise ConnectionError("redis went away")
        await real_send(group, message)

    monkeypatch.setattr(layer, "group_send", flaky)
    monkeypatch.setattr(events, "_enqueue", lambda group, message, stamp: queued.append(message))
    queued: list[dict] = []
    with transaction.atomic(), events.batched():
        for n in (1, 2, 3):
            events.publish("project.7", "board_changed", frame(n))
    assert listener() == [1]
    assert [int(json.loads(m["text"])["data"]["reason"]) for m in queued] == [2, 3]
