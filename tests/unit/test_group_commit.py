"""crewline.group_commit: which calls go together, and who gets which answer.

The batch functions are fakes that record what they were sent; a gate holds a batch
"in the database" so the test decides what arrives meanwhile. No timing is involved:
each step waits on an event the test sets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from crewline.group_commit import GroupCommit


class Bad(Exception):
    """An error one item causes (``split`` says yes)."""


class Away(Exception):
    """An error no item causes, e.g. the database gone (``split`` says no)."""


class Fake:
    def __init__(self) -> None:
        self.sent: list[list[int]] = []  # each call's items, single calls as [item]
        self.gate = asyncio.Event()
        self.gate.set()
        self.batch_gate = asyncio.Event()  # holds a batch (not a single call) in flight
        self.batch_gate.set()
        self.batch_entered = asyncio.Event()
        self.entered = asyncio.Event()
        self.fail_batches_with: Exception | None = None
        self.sizes: list[int] = []
        self.splits: list[BaseException] = []

    async def many(self, items: Sequence[int]) -> list[int]:
        self.sent.append(list(items))
        self.entered.set()
        self.batch_entered.set()
        await self.gate.wait()
        await self.batch_gate.wait()
        if self.fail_batches_with is not None:
            raise self.fail_batches_with
        return [i * 10 for i in items]

    async def one(self, item: int) -> int:
        self.sent.append([item])
        self.entered.set()
        await self.gate.wait()
        if item < 0:
            raise Bad(f"item {item}")
        return item * 10

    def batcher(self, max_batch: int = 64) -> GroupCommit[int, int]:
        return GroupCommit(
            run_batch=self.many,
            run_one=self.one,
            split=lambda exc: isinstance(exc, Bad),
            max_batch=max_batch,
            observe=self.sizes.append,
            on_split=self.splits.append,
        )


async def in_flight(fake: Fake, batcher: GroupCommit[int, int]) -> asyncio.Future[int]:
    """Item 1 sent alone and held "in the database" until ``fake.gate`` is set: what is
    submitted meanwhile waits for the next batch."""
    fake.gate.clear()
    first = asyncio.ensure_future(batcher.submit(1))
    await fake.entered.wait()
    return first


async def test_a_lone_call_goes_at_once_and_alone() -> None:
    fake = Fake()
    assert await fake.batcher().submit(7) == 70
    assert fake.sent == [[7]] and fake.sizes == [1]


async def test_calls_arriving_while_a_batch_runs_go_next_together_in_order() -> None:
    fake = Fake()
    batcher = fake.batcher(max_batch=3)
    first = await in_flight(fake, batcher)
    rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(2, 7)]
    await asyncio.sleep(0)
    fake.gate.set()
    assert await asyncio.gather(first, *rest) == [10, 20, 30, 40, 50, 60]
    assert fake.sent == [[1], [2, 3, 4], [5, 6]]  # at most max_batch, arrival order kept
    assert fake.sizes == [1, 3, 2]


async def test_one_items_error_splits_the_batch_and_only_that_caller_fails() -> None:
    fake = Fake()
    batcher = fake.batcher()
    first = await in_flight(fake, batcher)
    fake.fail_batches_with = Bad("the batch's transaction aborted")
    batch = [asyncio.ensure_future(batcher.submit(i)) for i in (2, -3, 4)]
    await asyncio.sleep(0)
    fake.gate.set()
    results = await asyncio.gather(first, *batch, return_exceptions=True)
    assert results[:2] == [10, 20] and results[3] == 40
    assert isinstance(results[2], Bad) and str(results[2]) == "item -3"
    assert fake.sent == [[1], [2, -3, 4], [2], [-3], [4]]  # again one by one, in order
    assert len(fake.splits) == 1


async def test_a_caller_gone_while_its_batch_failed_is_not_applied_alone() -> None:
    fake = Fake()
    batcher = fake.batcher()
    first = await in_flight(fake, batcher)
    fake.fail_batches_with = Bad("the batch's transaction aborted")
    fake.batch_gate.clear()
    calls = [asyncio.ensure_future(batcher.submit(i)) for i in (2, -3, 4)]
    await asyncio.sleep(0)
    fake.gate.set()
    await fake.batch_entered.wait()  # [2, -3, 4] is in the database
    calls[2].cancel()
    fake.batch_gate.set()
    results = await asyncio.gather(first, *calls, return_exceptions=True)
    assert results[:2] == [10, 20] and isinstance(results[2], Bad)
    assert isinstance(results[3], asyncio.CancelledError)
    assert fake.sent == [[1], [2, -3, 4], [2], [-3]]  # 4 not made alone for nobody


async def test_an_error_no_item_causes_is_every_callers_answer() -> None:
    fake = Fake()
    batcher = fake.batcher()
    first = await in_flight(fake, batcher)
    fake.fail_batches_with = Away("connection lost")
    batch = [asyncio.ensure_future(batcher.submit(i)) for i in (2, 3)]
    await asyncio.sleep(0)
    fake.gate.set()
    results = await asyncio.gather(first, *batch, return_exceptions=True)
    assert results[0] == 10
    assert all(isinstance(r, Away) for r in results[1:])
    assert fake.sent == [[1], [2, 3]] and fake.splits == []  # not retried one by one


async def test_a_caller_cancelled_before_its_batch_goes_is_left_out() -> None:
    fake = Fake()
    batcher = fake.batcher()
    first = await in_flight(fake, batcher)
    gone = asyncio.ensure_future(batcher.submit(2))
    kept = asyncio.ensure_future(batcher.submit(3))
    await asyncio.sleep(0)
    gone.cancel()
    fake.gate.set()
    assert list(await asyncio.gather(first, kept)) == [10, 30]
    assert fake.sent == [[1], [3]]


async def test_the_batcher_starts_again_after_going_idle() -> None:
    fake = Fake()
    batcher = fake.batcher()
    assert await batcher.submit(1) == 10
    assert list(await asyncio.gather(batcher.submit(2), batcher.submit(3))) == [20, 30]
    assert fake.sent == [[1], [2, 3]]  # both arrived before the idle batcher's first batch


async def test_cancelling_the_batch_cancels_its_callers_instead_of_leaving_them_waiting() -> None:
    fake = Fake()
    batcher = fake.batcher()
    first = await in_flight(fake, batcher)
    waiting = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0)
    flusher = batcher._flusher
    assert flusher is not None
    flusher.cancel()
    for call in (first, waiting):
        with pytest.raises(asyncio.CancelledError):
            await call


def test_a_batch_needs_room_for_one() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        Fake().batcher(max_batch=0)
