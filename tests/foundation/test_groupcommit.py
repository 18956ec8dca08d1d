"""contorl.groupcommit.GroupCommit.call: an item's refusal is raised, as a lone call would."""

import pytest

from contorl.groupcommit import GroupCommit


async def test_call_returns_outcomes_and_raises_refusals():
    async def store(_key, items):
        return [ValueError(item) if item < 0 else item * 2 for item in items]

    batches = GroupCommit(lambda _key: store)
    assert await batches.call("k", 21) == 42
    with pytest.raises(ValueError):
        await batches.call("k", -1)
