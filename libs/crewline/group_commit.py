"""Group commit: concurrent calls gathered while the previous batch runs, then sent as one.

A call that finds nothing in flight goes at once, alone (no added latency when idle).
Calls that arrive while a batch is in the database wait for it and then go together,
up to ``max_batch``, in arrival order: under load, one round trip and one commit
serve many callers. Each caller gets its own item's result or error.

If a whole batch fails in a way that one of its items may have caused (``split``
says which errors: e.g. any error PostgreSQL raised, which aborted the batch's
transaction), its items are applied again one at a time, in order, so only the
culprit fails. Any other error (the connection lost, say) is every item's answer.

A caller that is cancelled before its batch is sent is left out of it. Once sent, its
item runs to the end like the others; only the answer is not delivered.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

A = TypeVar("A")
R = TypeVar("R")


class GroupCommit(Generic[A, R]):
    def __init__(
        self,
        *,
        run_batch: Callable[[Sequence[A]], Awaitable[Sequence[R]]],
        run_one: Callable[[A], Awaitable[R]],
        split: Callable[[BaseException], bool],
        max_batch: int = 64,
        observe: Callable[[int], None] | None = None,
        on_split: Callable[[BaseException], None] | None = None,
    ) -> None:
        """``run_batch`` returns one result per item, in order; ``observe`` hears each
        batch's size; ``on_split`` each failure that made a batch go one at a time."""
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run_batch = run_batch
        self._run_one = run_one
        self._split = split
        self._max_batch = max_batch
        self._observe = observe
        self._on_split = on_split
        self._waiting: deque[tuple[A, asyncio.Future[R]]] = deque()
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: A) -> R:
        """``item``'s result, once the batch it went in has committed."""
        answer: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        if self._flusher is None:
            # Its own context: the batch is nobody's request (logs carry no caller's ids).
            self._flusher = asyncio.create_task(self._flush(), context=contextvars.Context())
        return await answer

    async def _flush(self) -> None:
        batch: list[tuple[A, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                batch = []
                while self._waiting and len(batch) < self._max_batch:
                    item, answer = self._waiting.popleft()
                    if not answer.done():  # else its caller was cancelled: leave it out
                        batch.append((item, answer))
                if batch:
                    await self._send(batch)
        except BaseException as exc:  # cancelled (shutdown), or a bug: no caller waits forever
            for _, answer in [*batch, *self._waiting]:
                if isinstance(exc, Exception):
                    _fail(answer, exc)
                else:
                    answer.cancel()
            self._waiting.clear()
            if not isinstance(exc, Exception):
                raise
        finally:
            self._flusher = None

    async def _send(self, batch: list[tuple[A, asyncio.Future[R]]]) -> None:
        if self._observe is not None:
            self._observe(len(batch))
        if len(batch) == 1:
            await self._one(*batch[0])
            return
        try:
            results = await self._run_batch([item for item, _ in batch])
        except Exception as exc:
            if not self._split(exc):
                for _, answer in batch:
                    _fail(answer, exc)
                return
            if self._on_split is not None:
                self._on_split(exc)
            for item, answer in batch:
                if not answer.done():  # a caller gone meanwhile: its claim is not made
                    await self._one(item, answer)
            return
        for (_, answer), result in zip(batch, results, strict=True):
            if not answer.done():
                answer.set_result(result)

    async def _one(self, item: A, answer: asyncio.Future[R]) -> None:
        try:
            result = await self._run_one(item)
        except Exception as exc:
            _fail(answer, exc)
        else:
            if not answer.done():
                answer.set_result(result)


def _fail(answer: asyncio.Future[R], exc: BaseException) -> None:
    if not answer.done():
        answer.set_exception(exc)
