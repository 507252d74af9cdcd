"""Small asyncio helpers shared by the kernel's long-running loops."""

from __future__ import annotations

import asyncio


async def sleep_unless(event: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, waking early when ``event`` is set (a stop request)."""
    try:
        await asyncio.wait_for(event.wait(), timeout=seconds)
    except TimeoutError:
        pass


class Backoff:
    """Exponential back-off between retries of a transient failure."""

    def __init__(self, *, initial: float = 0.1, maximum: float = 2.0) -> None:
        self._initial = initial
        self._maximum = maximum
        self.current = initial

    def next(self) -> float:
        delay = self.current
        self.current = min(self.current * 2, self._maximum)
        return delay

    def reset(self) -> None:
        self.current = self._initial
