"""Group commit for the WebSocket side: many sockets' calls of one kind, one thread hop.

Chat sends, presence changes, token checks, sign-in re-checks, admissions and resumes all
arrive from thousands of sockets at once (a reconnect storm, a busy room): each kind goes
through a GroupCommit, so a burst costs a thread hop and a few queries per batch instead of
per socket (bench/PROFILE.md, fifth and sixth sessions).
"""

import asyncio
import threading
from collections import deque


class GroupCommit:
    """Group commit: while one batch for a key is being stored, the items arriving for that key
    wait here and go together as the next batch, in arrival order. A lone item goes at once as a
    batch of one, so nothing waits for a timer; one batch per key at a time keeps each key's
    effects in order. `store(key)` gives the async call that stores a batch: (key, items) ->
    one outcome per item, an exception instance for an item it refused."""

    MAX_BATCH = 100

    def __init__(self, store):
        self.store = store
        self.keys: dict = {}  # key -> (waiting items, its drain task)

    async def submit(self, key, item):
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        entry = self.keys.get(key)
        if entry is None or entry[1].done() or entry[1].get_loop() is not loop:
            waiting: list = []
            entry = self.keys[key] = (waiting, loop.create_task(self._drain(key, waiting)))
        entry[0].append((item, future))
        return await future

    async def call(self, key, item):
        """submit(), raising the item's exception instead of returning it: what a lone call of
        the store would have done."""
        outcome = await self.submit(key, item)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def _drain(self, key, waiting: list) -> None:
        batch: list = []
        try:
            store = self.store(key)
            while waiting:
                batch = waiting[: self.MAX_BATCH]
                del waiting[: self.MAX_BATCH]
                try:
                    outcomes = await store(key, [item for item, _future in batch])
                    if len(outcomes) != len(batch):
                        raise RuntimeError(f"a batch of {len(batch)} got {len(outcomes)} outcomes")
                except Exception as exc:  # the database or Redis failed the batch: every item hears it
                    outcomes = [exc] * len(batch)
                _settle(batch, outcomes)
        finally:
            if self.keys.get(key, (None,))[0] is waiting:
                del self.keys[key]
            for _item, future in [*batch, *waiting]:  # the drain itself failed or was cancelled
                if not future.done():
                    future.set_result(RuntimeError("the batch was not stored"))


class ThreadDrainedGroupCommit(GroupCommit):
    """GroupCommit whose batches for a key are taken and stored by the worker thread itself:
    the next batch starts as soon as the last one is stored, while the event loop settles the
    last one's items. With GroupCommit each batch went back to the event loop before the next
    could start, and a loop busy delivering the room's fan-out made that hop about 10 ms of a
    ~45 ms cycle, twice (back to the loop, then to a thread again: bench/PROFILE.md, ninth
    session). Order per key is the same: one drain per key at a time, batches in arrival order.

    `store(key, items)` is sync and runs in the thread; `in_thread(func)` makes the async call
    that runs a sync function in a worker thread (contorl.consumers.off_shared_thread). A drain
    stores at most TURN batches, then hands the key back to the executor's queue, so a busy key
    cannot keep a thread from the other keys; `between()` runs in the thread after each batch
    (to hand the database connection back, as a call of its own would)."""

    TURN = 8

    def __init__(self, store, in_thread, between=None):
        super().__init__(store)
        self.in_thread = in_thread
        self.between = between
        self.lock = threading.Lock()
        self.keys: dict = {}  # key -> deque of (item, future) waiting for the key's drain
        self.drains: set[asyncio.Task] = set()

    async def submit(self, key, item):
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self.lock:
            waiting = self.keys.get(key)
            idle = waiting is None
            if idle:
                waiting = self.keys[key] = deque()
            waiting.append((item, future))
        if idle:
            drain = loop.create_task(self._drain(key, waiting, loop))
            self.drains.add(drain)
            drain.add_done_callback(self.drains.discard)
        return await future

    async def _drain(self, key, waiting: deque, loop) -> None:
        turn = self.in_thread(self._turn)
        try:
            while await turn(key, waiting, loop):
                pass
        finally:
            # Normally the thread has let the key go; if the drain itself failed or was
            # cancelled, what still waits hears so instead of waiting forever.
            with self.lock:
                left = list(waiting) if self.keys.get(key) is waiting else []
                if left:
                    del self.keys[key]
                    waiting.clear()
            for _item, future in left:
                if not future.done():
                    future.set_result(RuntimeError("the batch was not stored"))

    def _turn(self, key, waiting: deque, loop) -> bool:
        """In the worker thread: store up to TURN batches; True if more wait for the next turn."""
        for _ in range(self.TURN):
            with self.lock:
                if not waiting:
                    if self.keys.get(key) is waiting:  # (a cancelled drain has let it go already)
                        del self.keys[key]  # the next submit starts a new drain
                    return False
                batch = [waiting.popleft() for _ in range(min(len(waiting), self.MAX_BATCH))]
            try:
                outcomes = self.store(key, [item for item, _future in batch])
                if len(outcomes) != len(batch):
                    raise RuntimeError(f"a batch of {len(batch)} got {len(outcomes)} outcomes")
            except Exception as exc:  # the database or Redis failed the batch: every item hears it
                outcomes = [exc] * len(batch)
            finally:
                if self.between is not None:
                    self.between()
            try:
                loop.call_soon_threadsafe(_settle, batch, outcomes)
            except RuntimeError:  # the loop is gone; so are the sockets that waited
                pass
        return True


def _settle(batch: list, outcomes: list) -> None:
    for (_item, future), outcome in zip(batch, outcomes, strict=True):
        if not future.done():  # the socket may have gone meanwhile
            future.set_result(outcome)
