"""contorl.groupcommit: GroupCommit.call raises an item's refusal, as a lone call would; ThreadDrainedGroupCommit
stores a key's next batch from the thread, keeps keys apart and fails nothing silently."""

import asyncio
import threading
import time

import pytest

from contorl.groupcommit import GroupCommit, ThreadDrainedGroupCommit


async def test_call_returns_outcomes_and_raises_refusals():
    async def store(_key, items):
        return [ValueError(item) if item < 0 else item * 2 for item in items]

    batches = GroupCommit(lambda _key: store)
    assert await batches.call("k", 21) == 42
    with pytest.raises(ValueError):
        await batches.call("k", -1)


# --- ThreadDrainedGroupCommit --------------------------------------------------------------
def _in_thread(func):
    async def call(*args):
        return await asyncio.get_running_loop().run_in_executor(None, func, *args)

    return call


async def test_the_thread_takes_the_next_batch_without_the_event_loop():
    """While batch [a] is stored, b and c arrive; the thread stores [b, c] next by itself,
    even with the event loop blocked (GroupCommit needed the loop between two batches)."""
    storing_a, b_and_c_queued, b_and_c_stored = threading.Event(), threading.Event(), threading.Event()
    batches = []

    def store(_key, items):
        batches.append(list(items))
        if items == ["a"]:
            storing_a.set()
            assert b_and_c_queued.wait(5)
        else:
            b_and_c_stored.set()
        return [item.upper() for item in items]

    outbox = ThreadDrainedGroupCommit(store, _in_thread)
    first = asyncio.ensure_future(outbox.call("room", "a"))
    await asyncio.get_running_loop().run_in_executor(None, storing_a.wait, 5)
    later = [asyncio.ensure_future(outbox.call("room", item)) for item in ("b", "c")]
    await asyncio.sleep(0)  # both submitted, in order
    b_and_c_queued.set()
    stored_with_the_loop_blocked = b_and_c_stored.wait(5)  # blocks the event loop itself
    assert stored_with_the_loop_blocked
    assert batches == [["a"], ["b", "c"]]
    assert [await first, *[await f for f in later]] == ["A", "B", "C"]
    # The items are settled before the thread finds nothing more and lets the key go: the
    # drain's end is the event to wait for (CI once looked in between).
    await asyncio.wait_for(asyncio.gather(*outbox.drains), 5)
    assert outbox.keys == {}  # drained: the next item starts a new drain


async def test_a_failed_batch_reaches_its_items_only_and_keys_do_not_wait_for_each_other():
    def store(key, items):
        if "bad" in items:
            raise ConnectionError("database gone")
        return [(key, item) for item in items]

    outbox = ThreadDrainedGroupCommit(store, _in_thread)
    with pytest.raises(ConnectionError):
        await outbox.call(1, "bad")
    assert await outbox.call(1, "good") == (1, "good")
    both = await asyncio.gather(outbox.call(1, "x"), outbox.call(2, "y"))
    assert both == [(1, "x"), (2, "y")]


async def test_a_busy_key_gives_its_thread_up_after_a_turn():
    """One thread, two keys: key 1 always has more waiting, yet key 2 gets stored after at
    most TURN batches of key 1 (a busy room cannot keep the room threads from the others)."""
    from concurrent.futures import ThreadPoolExecutor

    one_thread = ThreadPoolExecutor(max_workers=1)
    order: list = []
    loop = asyncio.get_running_loop()
    pending: list = []

    def store(key, items):
        order.append(key)
        if key == 1 and len(order) < 40:  # key 1 keeps getting new sends while it is stored
            loop.call_soon_threadsafe(lambda: pending.append(asyncio.ensure_future(outbox.call(1, "more"))))
            time.sleep(0.002)  # the loop queues the next send before this batch ends
        return list(items)

    def in_one_thread(func):
        async def call(*args):
            return await loop.run_in_executor(one_thread, func, *args)

        return call

    outbox = ThreadDrainedGroupCommit(store, in_one_thread)
    first = asyncio.ensure_future(outbox.call(1, "start"))
    await asyncio.sleep(0.01)
    assert await outbox.call(2, "other") == "other"
    assert order.index(2) <= ThreadDrainedGroupCommit.TURN + 1
    await first
    while pending:
        await pending.pop()
    one_thread.shutdown()


async def test_a_cancelled_drain_fails_what_still_waits():
    release = threading.Event()

    def store(_key, items):
        assert release.wait(5)
        return list(items)

    outbox = ThreadDrainedGroupCommit(store, _in_thread)
    first = asyncio.ensure_future(outbox.submit("k", 1))
    await asyncio.sleep(0.05)
    second = asyncio.ensure_future(outbox.submit("k", 2))
    await asyncio.sleep(0)
    for drain in list(outbox.drains):
        drain.cancel()
    outcome = await second
    assert isinstance(outcome, RuntimeError)
    release.set()
    assert await first == 1  # the batch in the thread still finished and was answered
    assert outbox.keys == {}
    assert await outbox.call("k", 3) == 3  # a new drain for the key
