"""Group commit for the WebSocket side: many sockets' calls of one kind, one thread hop.

Chat sends, presence changes, token checks, sign-in re-checks, admissions and resumes all
arrive from thousands of sockets at once (a reconnect storm, a busy room): each kind goes
through a GroupCommit, so a burst costs a thread hop and a few queries per batch instead of
per socket (bench/PROFILE.md, fifth and sixth sessions).
"""

import asyncio


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
                for (_item, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():  # the socket may have gone meanwhile
                        future.set_result(outcome)
        finally:
            if self.keys.get(key, (None,))[0] is waiting:
                del self.keys[key]
            for _item, future in [*batch, *waiting]:  # the drain itself failed or was cancelled
                if not future.done():
                    future.set_result(RuntimeError("the batch was not stored"))
