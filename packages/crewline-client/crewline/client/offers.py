"""The offers stream as typed events, with the contractor's current offers kept up to date.

The server's ``StreamOffersResponse`` carries batches of changes, keepalives, resyncs and
the end of a snapshot. ``OfferStream`` hands on one event at a time:

- ``Offered``: a task the contractor may claim now, as an ``Offer`` (an offer for a task
  already offered replaces it);
- ``Withdrawn``: an offer that is gone, and why (a ``WithdrawalReason``);
- ``Resync``: forget every offer so far, a fresh snapshot follows: sent by the server
  when the app fell behind, and by the SDK itself after reconnecting (the server sends
  the current offers again on connect);
- ``SnapshotEnd``: the snapshot is complete; live changes follow.

Keepalives are not handed on. ``current`` holds the offers as of the last event, by
task id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from crewline.client.results import Offer, WithdrawalReason
from crewline.client.streams import (
    DEFAULT_RECONNECT,
    Reconnect,
    Reconnected,
    StreamCall,
    reconnecting,
)
from crewline.v1 import work_service_pb2 as work_api


@dataclass(frozen=True)
class Offered:
    offer: Offer

    @property
    def task_id(self) -> str:
        return self.offer.task_id


@dataclass(frozen=True)
class Withdrawn:
    """``reason``: FILLED, CLAIMED_BY_YOU, NOT_ELIGIBLE or CLOSED (None for a reason newer
    than this SDK)."""

    task_id: str
    reason: WithdrawalReason | None


@dataclass(frozen=True)
class Resync:
    """Forget every offer received so far; ``reconnected``: the SDK reconnected."""

    reconnected: bool = False


@dataclass(frozen=True)
class SnapshotEnd:
    offers: int


OfferEvent = Offered | Withdrawn | Resync | SnapshotEnd


def events_of(response: work_api.StreamOffersResponse) -> list[OfferEvent]:
    """One server message as events (none for a keepalive)."""
    kind = response.WhichOneof("event")
    if kind == "changes":
        found: list[OfferEvent] = []
        for change in response.changes.changes:
            if change.WhichOneof("change") == "offered":
                found.append(Offered(Offer.from_pb(change.offered)))
            elif change.WhichOneof("change") == "withdrawn":
                withdrawn = change.withdrawn
                reason = WithdrawalReason.from_pb(withdrawn.reason)
                found.append(Withdrawn(withdrawn.task_id, reason))
        return found
    if kind == "resync":
        return [Resync()]
    if kind == "snapshot_end":
        return [SnapshotEnd(response.snapshot_end.offers)]
    return []


class OfferStream:
    """``async for event in contractor.stream_offers(): ...`` (see the module)."""

    def __init__(
        self,
        open_call: Callable[[], StreamCall[work_api.StreamOffersResponse]],
        *,
        method: str,
        policy: Reconnect = DEFAULT_RECONNECT,
        sleep: Callable[[float], Any] = asyncio.sleep,
        service: str = "",
        address: str = "",
    ) -> None:
        self.current: dict[str, Offer] = {}
        self.reconnects = 0
        self._open = open_call
        self._method = method
        self._service = service
        self._address = address
        self._policy = policy
        self._sleep = sleep
        self._iter: AsyncGenerator[OfferEvent, None] | None = None

    def __aiter__(self) -> AsyncIterator[OfferEvent]:
        if self._iter is None:
            self._iter = self._events()
        return self._iter

    async def __anext__(self) -> OfferEvent:
        return await anext(self.__aiter__())

    def _apply(self, event: OfferEvent) -> None:
        match event:
            case Offered(offer):
                self.current[offer.task_id] = offer
            case Withdrawn(task_id, _):
                self.current.pop(task_id, None)
            case Resync():
                self.current.clear()
            case SnapshotEnd():
                pass

    async def _events(self) -> AsyncGenerator[OfferEvent, None]:
        stream = reconnecting(
            self._open,
            method=self._method,
            policy=self._policy,
            sleep=self._sleep,
            service=self._service,
            address=self._address,
        )
        try:
            async for response in stream:
                if isinstance(response, Reconnected):
                    self.reconnects += 1
                    batch: list[OfferEvent] = [Resync(reconnected=True)]
                else:
                    batch = events_of(response)
                for event in batch:
                    self._apply(event)
                    yield event
        finally:
            await stream.aclose()

    async def aclose(self) -> None:
        """Ends the stream (its call is cancelled)."""
        if self._iter is not None:
            await self._iter.aclose()
