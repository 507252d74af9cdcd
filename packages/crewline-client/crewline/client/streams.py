"""Server streams that reconnect and resume by themselves.

``reconnecting`` is the engine: it opens a call, hands on its messages, and when the
call fails with a passing error (the server went away, restarted, was overloaded, or
sent nothing for ``silence`` seconds) it waits with backoff and opens a new one; the
marker ``RECONNECTED`` tells the reader that what follows comes from a new call. A
permanent error (a bad credential, a bad request) is raised as a ``CrewlineError``.

``WatchStream`` resumes a Watch from the last cursor it handed on, so no event is lost
or repeated. ``OfferStream`` turns a reconnection into a ``Resync``: the server sends
the contractor's current offers again on connect, so the app forgets what it had.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Protocol, TypeVar

import grpc

from crewline.client.errors import CrewlineError, Unavailable, from_rpc_error

M = TypeVar("M")
M_co = TypeVar("M_co", covariant=True)

# Codes after which the same stream may well work again.
RECONNECT_CODES: Final = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.CANCELLED,  # a server draining on shutdown cancels its streams
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
    }
)


class Reconnected:
    """The messages after this come from a new call."""

    def __repr__(self) -> str:
        return "RECONNECTED"


RECONNECTED: Final = Reconnected()


class StreamCall(Protocol[M_co]):
    """What ``reconnecting`` needs of a call: its messages, and a way to end it."""

    def __aiter__(self) -> AsyncIterator[M_co]: ...

    def cancel(self) -> bool: ...


@dataclass(frozen=True, kw_only=True)
class Reconnect:
    """How a stream reconnects.

    ``silence``: seconds without any message (the servers send keepalives every 15 s)
    after which the connection is taken for dead. ``give_up_after``: seconds of failing
    to get a single message before the stream raises ``Unavailable`` (``math.inf``:
    never). ``on_reconnect``: called before each wait with why the call ended and the
    seconds it waits, e.g. to tell a user (it runs on the SDK's event loop: keep it short).
    """

    initial_backoff: float = 0.2
    max_backoff: float = 5.0
    silence: float = 50.0
    give_up_after: float = 120.0
    on_reconnect: Callable[[str, float], object] | None = field(default=None, compare=False)

    def delay(self, failures: int) -> float:
        """The wait before reconnect number ``failures`` (1, 2, ...), with full jitter
        over its upper half, so a crowd of apps does not reconnect in step."""
        ceiling = min(self.max_backoff, self.initial_backoff * 2 ** max(failures - 1, 0))
        return float(ceiling / 2 + random.random() * ceiling / 2)


DEFAULT_RECONNECT: Final = Reconnect()


async def reconnecting(
    open_call: Callable[[], StreamCall[M]],
    *,
    method: str,
    policy: Reconnect = DEFAULT_RECONNECT,
    sleep: Callable[[float], Any] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    service: str = "",
    address: str = "",
) -> AsyncGenerator[M | Reconnected, None]:
    """The messages of ``open_call()``'s calls, one call after another (see the module);
    an error names ``service`` and ``address`` when given."""
    failures = 0
    failing_since: float | None = None
    while True:
        call = open_call()
        problem = "the stream ended"
        try:
            messages = call.__aiter__()
            while True:
                try:
                    message = await asyncio.wait_for(anext(messages), policy.silence)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    problem = f"nothing received for {policy.silence:.0f} s"
                    break
                failures, failing_since = 0, None
                yield message
        except grpc.RpcError as err:
            error = from_rpc_error(err, method=method, service=service, address=address)
            if error.code not in RECONNECT_CODES:
                raise error from None
            problem = str(error)
        finally:
            call.cancel()
        failures += 1
        failing_since = clock() if failing_since is None else failing_since
        if clock() - failing_since > policy.give_up_after:
            raise Unavailable(
                f"gave up reconnecting after {policy.give_up_after:.0f} s: {problem}",
                code=grpc.StatusCode.UNAVAILABLE,
                method=method,
                service=service,
                address=address,
            )
        delay = policy.delay(failures)
        if policy.on_reconnect is not None:
            policy.on_reconnect(problem, delay)
        await sleep(delay)
        yield RECONNECTED


class WatchLike(Protocol):
    """A WatchResponse: a batch of events and the stream's position after them."""

    @property
    def cursor(self) -> str: ...

    @property
    def events(self) -> Any: ...


W = TypeVar("W", bound=WatchLike)


class HasCursor(Protocol):
    @property
    def cursor(self) -> str: ...


E = TypeVar("E", bound=HasCursor)


class CursorStream(Generic[W, E]):
    """Events of a cursor-resumed stream, one at a time; ``cursor`` is where to resume.

    ``open_at(cursor)`` opens the call from a cursor ("" means from now on). The cursor
    moves past an event only when the event is handed on, so breaking out of the loop
    and opening a new stream at ``cursor`` neither misses nor repeats anything.
    """

    def __init__(
        self,
        open_at: Callable[[str], StreamCall[W]],
        *,
        cursor: str = "",
        method: str,
        policy: Reconnect = DEFAULT_RECONNECT,
        sleep: Callable[[float], Any] = asyncio.sleep,
        service: str = "",
        address: str = "",
    ) -> None:
        self.cursor = cursor
        self.reconnects = 0
        self._open_at = open_at
        self._method = method
        self._service = service
        self._address = address
        self._policy = policy
        self._sleep = sleep
        self._responses: AsyncGenerator[W | Reconnected, None] | None = None
        self._pending: deque[E] = deque()
        self._batch_cursor = ""
        self._connected = False
        self._iter: AsyncGenerator[E, None] | None = None

    def __aiter__(self) -> AsyncIterator[E]:
        if self._iter is None:
            self._iter = self._events()
        return self._iter

    async def __anext__(self) -> E:
        return await anext(self.__aiter__())

    async def connect(self) -> str:
        """Opens the stream now and waits for the server's first answer (sent at once);
        the cursor it starts from. Every event after it will be handed on: call this
        before doing what you want to watch."""
        responses = self._open()
        while not self._connected:
            self._take(await anext(responses))
        if not self._pending and self._batch_cursor:
            self.cursor = self._batch_cursor
        return self.cursor

    def _open(self) -> AsyncGenerator[W | Reconnected, None]:
        if self._responses is None:
            self._responses = reconnecting(
                lambda: self._open_at(self.cursor),
                method=self._method,
                policy=self._policy,
                sleep=self._sleep,
                service=self._service,
                address=self._address,
            )
        return self._responses

    def _take(self, response: W | Reconnected) -> None:
        if isinstance(response, Reconnected):
            self.reconnects += 1
            return
        self._connected = True
        self._pending.extend(response.events)
        self._batch_cursor = response.cursor

    async def _events(self) -> AsyncGenerator[E, None]:
        # A new call is opened (at ``cursor``) only once every event taken is handed on.
        responses = self._open()
        try:
            while True:
                while self._pending:
                    event = self._pending.popleft()
                    self.cursor = event.cursor  # handed on with the event, not after
                    yield event
                if self._batch_cursor:
                    self.cursor, self._batch_cursor = self._batch_cursor, ""
                self._take(await anext(responses))
        finally:
            await responses.aclose()

    async def aclose(self) -> None:
        """Ends the stream (its call is cancelled)."""
        if self._iter is not None:
            await self._iter.aclose()
        elif self._responses is not None:
            await self._responses.aclose()


__all__ = [
    "RECONNECTED",
    "CrewlineError",
    "CursorStream",
    "Reconnect",
    "Reconnected",
    "reconnecting",
]
