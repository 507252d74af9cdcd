"""The SDK's paging iterator and its self-resuming streams, against fake calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import grpc
import pytest
from unit.test_sdk_errors import FakeRpcError

from crewline.client import (
    CrewlineError,
    Offered,
    Reconnect,
    Resync,
    SnapshotEnd,
    Unauthenticated,
    Unavailable,
    WithdrawalReason,
    Withdrawn,
)
from crewline.client.offers import OfferStream
from crewline.client.paging import every, items
from crewline.client.results import Page
from crewline.client.streams import RECONNECTED, CursorStream, reconnecting
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

FAST = Reconnect(initial_backoff=0.01, max_backoff=0.05, silence=5.0, give_up_after=60.0)


class FakeCall:
    """A server stream that sends ``messages`` and then fails with ``error`` (or ends)."""

    def __init__(self, messages: Sequence[object], error: Exception | None = None) -> None:
        self.messages = list(messages)
        self.error = error
        self.cancelled = False

    def __aiter__(self) -> AsyncIterator[object]:
        return self._run()

    async def _run(self) -> AsyncIterator[object]:
        for message in self.messages:
            yield message
        if self.error is not None:
            raise self.error

    def cancel(self) -> bool:
        self.cancelled = True
        return True


class Calls:
    """Hands out prepared calls in order and records how each was opened."""

    def __init__(self, *calls: FakeCall) -> None:
        self.calls = list(calls)
        self.opened: list[str] = []
        self.sleeps: list[float] = []

    def open(self, at: str = "") -> FakeCall:
        self.opened.append(at)
        return self.calls[len(self.opened) - 1]

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def unavailable() -> FakeRpcError:
    return FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connection reset")


async def test_pages_are_walked_until_the_token_runs_out() -> None:
    pages = {"": ([1, 2], "a"), "a": ([3], "b"), "b": ([], "")}
    asked: list[str] = []

    async def fetch(token: str) -> tuple[Sequence[int], str]:
        asked.append(token)
        return pages[token]

    assert [x async for x in items(fetch)] == [1, 2, 3]
    assert asked == ["", "a", "b"]


async def test_paging_fetches_the_next_page_only_when_it_is_needed() -> None:
    asked: list[str] = []

    async def fetch(token: str) -> tuple[Sequence[int], str]:
        asked.append(token)
        return [len(asked)], "more"

    stream = items(fetch)
    assert await anext(stream) == 1
    assert asked == [""]


async def test_a_server_repeating_its_page_token_is_an_error_not_a_loop() -> None:
    async def fetch(token: str) -> tuple[Sequence[int], str]:
        return [1], "same"

    with pytest.raises(RuntimeError, match="same"):
        _ = [x async for x in items(fetch)]


async def test_every_reads_typed_pages_by_their_items_and_next_token() -> None:
    pages = {"": Page(items=(1, 2), next_page_token="a", raw=task_api.ListTasksResponse())}
    pages["a"] = Page(items=(3,), next_page_token="", raw=task_api.ListTasksResponse())
    asked: list[str] = []

    async def read_page(token: str) -> Page[int]:
        asked.append(token)
        return pages[token]

    assert [x async for x in every(read_page)] == [1, 2, 3]
    assert asked == ["", "a"]


async def test_a_passing_failure_reconnects_with_backoff_and_a_marker() -> None:
    calls = Calls(FakeCall(["a", "b"], unavailable()), FakeCall([], unavailable()), FakeCall(["c"]))
    stream = reconnecting(calls.open, method="m", policy=FAST, sleep=calls.sleep)
    got = [await anext(stream) for _ in range(5)]
    assert got == ["a", "b", RECONNECTED, RECONNECTED, "c"]
    assert all(call.cancelled for call in calls.calls[:2])
    assert len(calls.sleeps) == 2 and calls.sleeps[1] >= calls.sleeps[0] / 2  # backing off
    await stream.aclose()


async def test_a_permanent_error_ends_the_stream_as_an_exception() -> None:
    refused = FakeRpcError(grpc.StatusCode.UNAUTHENTICATED, "expired", reason="CREDENTIAL_EXPIRED")
    calls = Calls(FakeCall(["a"], refused))
    stream = reconnecting(calls.open, method="m", policy=FAST, sleep=calls.sleep)
    assert await anext(stream) == "a"
    with pytest.raises(Unauthenticated) as caught:
        await anext(stream)
    assert caught.value.reason == "CREDENTIAL_EXPIRED" and caught.value.method == "m"
    assert calls.sleeps == [] and calls.calls[0].cancelled


async def test_a_stream_that_never_recovers_gives_up_as_unavailable() -> None:
    now = [0.0]

    def clock() -> float:
        return now[0]

    async def sleep(seconds: float) -> None:
        now[0] += 30.0

    calls = Calls(*(FakeCall([], unavailable()) for _ in range(10)))
    stream = reconnecting(calls.open, method="m", policy=FAST, sleep=sleep, clock=clock)
    with pytest.raises(Unavailable, match="gave up"):
        async for _ in stream:
            pass
    assert len(calls.opened) == 4  # failing since t=0; the fourth failure is past 60 s


def batch(cursor: str, *events: str) -> task_api.WatchResponse:
    return task_api.WatchResponse(
        cursor=cursor, events=[task_api.WatchEvent(cursor=e, task_id=e) for e in events]
    )


async def test_watch_resumes_from_the_last_cursor_with_nothing_lost_or_repeated() -> None:
    calls = Calls(
        FakeCall([batch("c0"), batch("c2", "c1", "c2")], unavailable()),
        FakeCall([batch("c2"), batch("c3", "c3")]),
    )
    watch: CursorStream[task_api.WatchResponse, task_api.WatchEvent] = CursorStream(
        calls.open, method="w", policy=FAST, sleep=calls.sleep
    )
    seen = [(await anext(watch)).task_id for _ in range(3)]
    assert seen == ["c1", "c2", "c3"]
    assert calls.opened == ["", "c2"]  # from now, then right after the last event seen
    assert watch.cursor == "c3" and watch.reconnects == 1
    await watch.aclose()


async def test_leaving_a_watch_mid_batch_keeps_the_cursor_of_the_last_event_taken() -> None:
    calls = Calls(FakeCall([batch("c3", "c1", "c2", "c3")]))
    watch: CursorStream[task_api.WatchResponse, task_api.WatchEvent] = CursorStream(
        calls.open, cursor="c0", method="w", policy=FAST, sleep=calls.sleep
    )
    async for event in watch:
        if event.task_id == "c2":
            break
    assert watch.cursor == "c2"  # a new stream from here gets c3 next, once
    await watch.aclose()
    assert calls.calls[0].cancelled


def offer_changes(*changes: work_api.OfferChange) -> work_api.StreamOffersResponse:
    return work_api.StreamOffersResponse(changes=work_api.OfferChanges(changes=list(changes)))


def offered(task_id: str) -> work_api.OfferChange:
    return work_api.OfferChange(offered=work_api.Offer(task_id=task_id))


def withdrawn(task_id: str) -> work_api.OfferChange:
    return work_api.OfferChange(
        withdrawn=work_api.OfferWithdrawn(task_id=task_id, reason=work_api.WITHDRAWAL_REASON_FILLED)
    )


def snapshot_end(n: int) -> work_api.StreamOffersResponse:
    return work_api.StreamOffersResponse(snapshot_end=work_api.SnapshotEnd(offers=n))


async def test_offers_are_typed_events_and_a_reconnection_resyncs_the_current_set() -> None:
    keepalive = work_api.StreamOffersResponse(keepalive=work_api.Keepalive())
    calls = Calls(
        FakeCall(
            [
                offer_changes(offered("t1"), offered("t2")),
                snapshot_end(2),
                keepalive,
                offer_changes(withdrawn("t1")),
            ],
            unavailable(),
        ),
        FakeCall([offer_changes(offered("t2"), offered("t3")), snapshot_end(2)]),
    )
    stream = OfferStream(calls.open, method="o", policy=FAST, sleep=calls.sleep)
    events = [await anext(stream) for _ in range(8)]
    assert [type(e).__name__ for e in events] == [
        "Offered",
        "Offered",
        "SnapshotEnd",
        "Withdrawn",
        "Resync",
        "Offered",
        "Offered",
        "SnapshotEnd",
    ]
    assert isinstance(events[0], Offered) and events[0].task_id == "t1"
    assert events[0].offer.task_id == "t1" and events[0].offer.raw.task_id == "t1"
    assert isinstance(events[2], SnapshotEnd) and events[2].offers == 2
    assert events[3] == Withdrawn("t1", WithdrawalReason.FILLED)
    assert events[4] == Resync(reconnected=True)
    assert sorted(stream.current) == ["t2", "t3"] and stream.reconnects == 1
    assert stream.current["t2"].task_id == "t2"
    await stream.aclose()
    assert all(call.cancelled for call in calls.calls)


async def test_a_server_resync_empties_the_current_offers() -> None:
    resync = work_api.StreamOffersResponse(resync=work_api.Resync())
    calls = Calls(FakeCall([offer_changes(offered("t1")), resync, offer_changes(offered("t9"))]))
    stream = OfferStream(calls.open, method="o", policy=FAST, sleep=calls.sleep)
    events = [await anext(stream) for _ in range(3)]
    assert events[1] == Resync(reconnected=False)
    assert list(stream.current) == ["t9"]
    await stream.aclose()


def test_errors_are_crewline_errors() -> None:
    assert issubclass(Unavailable, CrewlineError)


class SilentCall(FakeCall):
    """A connection that went dead without closing: it never sends again."""

    async def _run(self) -> AsyncIterator[object]:
        for message in self.messages:
            yield message
        await asyncio.Event().wait()


async def test_a_silent_connection_is_taken_for_dead_and_replaced() -> None:
    calls = Calls(SilentCall(["a"]), FakeCall(["b"]))
    policy = Reconnect(initial_backoff=0.01, max_backoff=0.05, silence=0.05, give_up_after=60.0)
    stream = reconnecting(calls.open, method="m", policy=policy, sleep=calls.sleep)
    assert [await anext(stream) for _ in range(3)] == ["a", RECONNECTED, "b"]
    assert calls.calls[0].cancelled
    await stream.aclose()


async def test_connecting_a_watch_first_returns_where_it_starts_and_loses_nothing_after() -> None:
    calls = Calls(FakeCall([batch("c0"), batch("c1", "c1")]))
    watch: CursorStream[task_api.WatchResponse, task_api.WatchEvent] = CursorStream(
        calls.open, method="w", policy=FAST, sleep=calls.sleep
    )
    assert await watch.connect() == "c0"
    assert calls.opened == [""]
    assert (await anext(watch)).task_id == "c1"
    assert calls.opened == [""]  # the same call, not a second one
    await watch.aclose()


async def test_a_reconnection_is_told_why_and_how_long_it_waits() -> None:
    told: list[tuple[str, float]] = []
    policy = Reconnect(
        initial_backoff=0.01,
        max_backoff=0.05,
        give_up_after=60.0,
        on_reconnect=lambda why, delay: told.append((why, delay)),
    )
    calls = Calls(FakeCall(["a"], unavailable()), FakeCall(["b"]), FakeCall(["c"]))
    stream = reconnecting(calls.open, method="m", policy=policy, sleep=calls.sleep)

    got = [await anext(stream) for _ in range(5)]

    assert got == ["a", RECONNECTED, "b", RECONNECTED, "c"]
    assert [why for why, _ in told] == ["m: UNAVAILABLE: connection reset", "the stream ended"]
    assert [delay for _, delay in told] == calls.sleeps
    await stream.aclose()
