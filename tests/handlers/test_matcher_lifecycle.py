"""The claim lifecycle through the matcher's handlers (issue 7): leases and heartbeats,
release, expiry by the dispatcher's LeaseElapsed, submission racing expiry, tasks that
are cancelled, expire or gain slots, projects paused, resumed and closed, settlement,
ListMyClaims, and every mistake refused with its reason, changing nothing.

Time moves by the fake clock; the dispatcher's events are handed to the handlers as
the consumer would, each in its own transaction, and redelivered to show they change
nothing the second time.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from google.protobuf.message import Message
from test_matcher_claims import CTX, _dsn, claim, contractor, next_item, project, task

from crewline.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from crewline.events import PayloadTypes, parse_envelope
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from crewline.protobuf import from_timestamp, timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import claim_pb2, events_pb2, project_pb2
from matcher.adapters import protobuf as pb
from matcher.adapters.offer_hub import OfferHub, Stream
from matcher.deps import Deps
from matcher.domain import commands
from matcher.domain.claims import Claim
from matcher.domain.offers import WithdrawalReason
from matcher.domain.statuses import ClaimStatus, EndReason, ReviewState
from matcher.handlers import claims, offers

M = TypeVar("M", bound=Message)
HOURLY = PayTerms(basis=Basis.HOURLY, rate=Money("USD", 3600), max_paid_seconds=3600, version=1)
PAUSED = project_pb2.PROJECT_STATE_PAUSED
CLOSED = project_pb2.PROJECT_STATE_CLOSED
ACTIVE = project_pb2.PROJECT_STATE_ACTIVE
_TYPES = PayloadTypes.of(
    [
        events_pb2.ClaimGranted,
        events_pb2.ClaimExtended,
        events_pb2.ClaimEnded,
        events_pb2.ClaimSettled,
        events_pb2.WorkSubmitted,
    ]
)


# --- helpers ---------------------------------------------------------------------------


async def events(deps: Deps, kind: type[M]) -> list[M]:
    rows = await deps.pool.fetch("SELECT envelope FROM outbox ORDER BY id")
    found = [_TYPES.unpack(parse_envelope(r["envelope"])) for r in rows]
    return [e for e in found if isinstance(e, kind)]


async def outbox_size(deps: Deps) -> int:
    return int(await deps.pool.fetchval("SELECT count(*) FROM outbox"))


async def deliver(deps: Deps, handler: Callable[..., Awaitable[None]], event: Message) -> None:
    """As the consumer applies an event: in a transaction of its own."""
    async with deps.pool.acquire() as conn, conn.transaction():
        await handler(conn, event, CTX, deps=deps)


async def elapse(deps: Deps, granted: Claim, deadline: datetime) -> None:
    """The dispatcher's lease clock for the claim fired for ``deadline``."""
    event = events_pb2.LeaseElapsed(
        claim_id=str(granted.claim_id),
        task_id=str(granted.task_id),
        deadline_at=timestamp(deadline),
    )
    await deliver(deps, claims.on_lease_elapsed, event)


async def task_changed(
    deps: Deps,
    task_id: uuid.UUID,
    *,
    revision: int,
    lifecycle: events_pb2.TaskLifecycle.ValueType = events_pb2.TASK_LIFECYCLE_LIVE,
    slots: int = 1,
    expires_at: datetime | None = None,
) -> events_pb2.TaskChanged:
    event = events_pb2.TaskChanged(
        task_id=str(task_id),
        client_id="acme",
        lifecycle=lifecycle,
        slots=slots,
        revision=revision,
        changed_at=timestamp(deps.clock.now()),
    )
    if expires_at is not None:
        event.expires_at.CopyFrom(timestamp(expires_at))
    await deliver(deps, claims.on_task_changed, event)
    return event


async def heartbeat(deps: Deps, who: str, granted: Claim, worked: int = 0) -> Claim:
    cmd = commands.heartbeat_claim(
        claim_id=str(granted.claim_id), contractor_id=who, worked_seconds=worked
    )
    return await claims.heartbeat_claim(cmd, deps)


async def release(deps: Deps, who: str, granted: Claim) -> Claim:
    cmd = commands.claim_ref(claim_id=str(granted.claim_id), contractor_id=who)
    return await claims.release_claim(cmd, deps)


async def submit(deps: Deps, who: str, granted: Claim, **time: Any) -> Claim:
    """Submit work; ``time`` is the time worked (segments=, worked_seconds=)."""
    cmd = commands.submit_work(
        claim_id=str(granted.claim_id), contractor_id=who, result=b"5", **time
    )
    return await claims.submit_work(cmd, deps)


async def current(deps: Deps, who: str, granted: Claim) -> Claim:
    cmd = commands.claim_ref(claim_id=str(granted.claim_id), contractor_id=who)
    return (await claims.get_claim(cmd, deps))[0]


async def free_slots(deps: Deps, task_id: uuid.UUID) -> int:
    return int(
        await deps.pool.fetchval("SELECT free_slots FROM open_tasks WHERE task_id = $1", task_id)
    )


async def refused(call: Awaitable[Any]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await call
    return caught.value


async def unchanged(deps: Deps, call: Awaitable[Any]) -> DomainError:
    """The call is refused and changes nothing: no event, no claim row touched."""
    before = (await outbox_size(deps), await deps.pool.fetch("SELECT * FROM claims ORDER BY 1"))
    error = await refused(call)
    after = (await outbox_size(deps), await deps.pool.fetch("SELECT * FROM claims ORDER BY 1"))
    assert before == after
    return error


@pytest.fixture
async def hub(matcher_deps: Deps) -> AsyncIterator[OfferHub]:
    from crewline.health import WorkerHealth
    from crewline.metrics import Metrics

    metrics = Metrics.create("matcher_lifecycle_test")
    offer_hub = OfferHub(
        pool=matcher_deps.pool,
        dsn=await _dsn(matcher_deps),
        clock=matcher_deps.clock,
        registry=metrics.registry,
        service="matcher_lifecycle_test",
        worker_health=WorkerHealth(metrics=metrics),
        buffer=50,
    )
    runner = asyncio.create_task(offer_hub.run())
    await asyncio.wait_for(offer_hub.listening.wait(), 10)
    yield offer_hub
    offer_hub.stop()
    await runner


async def until(stream: Stream, wanted: Callable[[Any], bool]) -> Any:
    """The stream's next item that ``wanted`` accepts (others are skipped)."""
    while True:
        item = await next_item(stream)
        if wanted(item):
            return item


def offered(task_id: uuid.UUID) -> Callable[[Any], bool]:
    return lambda item: isinstance(item, tuple) and item[1] is None and item[0].task_id == task_id


def withdrawn(task_id: uuid.UUID, reason: WithdrawalReason) -> Callable[[Any], bool]:
    return lambda item: item == (task_id, reason)


# --- leases and heartbeats -------------------------------------------------------------


async def test_a_grant_carries_its_lease_and_heartbeats_move_it_up_to_the_maximum(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    p = await project(matcher_deps, claim_timeout=600)
    t = await task(matcher_deps, p)
    await contractor(matcher_deps, "ana")
    start = clock.now()
    granted = await claim(matcher_deps, "ana", t)
    assert granted.deadline_at == start + timedelta(seconds=600)
    assert granted.max_deadline_at == start + timedelta(seconds=2400)  # 4 claim timeouts
    (event,) = await events(matcher_deps, events_pb2.ClaimGranted)
    assert from_timestamp(event.deadline_at) == granted.deadline_at
    assert from_timestamp(event.max_deadline_at) == granted.max_deadline_at
    assert event.client_id == "acme"

    clock.advance(timedelta(seconds=500))
    moved = await heartbeat(matcher_deps, "ana", granted, worked=450)
    assert moved.deadline_at == start + timedelta(seconds=1100) and moved.worked_seconds == 450
    (extended,) = await events(matcher_deps, events_pb2.ClaimExtended)
    assert from_timestamp(extended.deadline_at) == moved.deadline_at
    assert extended.worked_seconds == 450
    # The same report at the same moment changes nothing and says nothing.
    assert await heartbeat(matcher_deps, "ana", granted, worked=450) == moved
    assert len(await events(matcher_deps, events_pb2.ClaimExtended)) == 1

    for at in (1000, 1500, 2000):  # the last one reaches the maximum, no further
        clock.set(start + timedelta(seconds=at))
        moved = await heartbeat(matcher_deps, "ana", granted, worked=at - 100)
    assert moved.deadline_at == moved.max_deadline_at == start + timedelta(seconds=2400)
    clock.advance(timedelta(seconds=10))
    at_max = await unchanged(matcher_deps, heartbeat(matcher_deps, "ana", granted, worked=1950))
    assert isinstance(at_max, FailedPrecondition) and at_max.reason == "LEASE_AT_MAXIMUM"
    assert await current(matcher_deps, "ana", granted) == moved


async def test_a_changed_claim_timeout_is_never_applied_from_a_stale_cache(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    p = await project(matcher_deps, claim_timeout=600)
    await contractor(matcher_deps, "ana")
    first = await claim(matcher_deps, "ana", await task(matcher_deps, p))  # cached: 600 s
    assert first.deadline_at - first.granted_at == timedelta(seconds=600)
    await project(matcher_deps, project_id=p, claim_timeout=1200, revision=2)
    second = await claim(matcher_deps, "ana", await task(matcher_deps, p))
    assert second.deadline_at - second.granted_at == timedelta(seconds=1200)
    assert second.lease_seconds == 1200
    granted = await events(matcher_deps, events_pb2.ClaimGranted)
    assert from_timestamp(granted[1].deadline_at) == second.deadline_at
    stored = await current(matcher_deps, "ana", second)
    assert stored.deadline_at == second.deadline_at and stored.lease_seconds == 1200


# --- release and expiry ----------------------------------------------------------------


async def test_a_release_gives_the_slot_back_at_once_and_streams_offer_it_again(
    matcher_deps: Deps, hub: OfferHub, clock: FakeClock
) -> None:
    p = await project(matcher_deps)
    t = await task(matcher_deps, p)
    await contractor(matcher_deps, "ana")
    await contractor(matcher_deps, "ben")
    ben = hub.open("ben", None)
    assert [o.task_id for o in await hub.snapshot(ben, 10)] == [t]
    granted = await claim(matcher_deps, "ana", t)
    await until(ben, withdrawn(t, WithdrawalReason.FILLED))

    clock.advance(timedelta(seconds=30))
    released = await release(matcher_deps, "ana", granted)
    assert released.status is ClaimStatus.ENDED and released.end_reason is EndReason.RELEASED
    assert released.ended_at == clock.now()
    offer, _ = await until(ben, offered(t))
    assert offer.free_slots == 1 and await free_slots(matcher_deps, t) == 1
    (ended,) = await events(matcher_deps, events_pb2.ClaimEnded)
    assert ended.reason == claim_pb2.CLAIM_END_REASON_RELEASED
    assert ended.reoffered and ended.client_id == "acme"
    assert not await events(matcher_deps, events_pb2.ClaimSettled)

    # A repeat returns the released claim and changes nothing.
    size = await outbox_size(matcher_deps)
    assert await release(matcher_deps, "ana", granted) == released
    assert await outbox_size(matcher_deps) == size and await free_slots(matcher_deps, t) == 1
    taken = await claim(matcher_deps, "ben", t)
    assert taken.status is ClaimStatus.ACTIVE
    hub.close(ben)


async def test_lease_elapsed_ends_only_a_passed_deadline_and_a_heartbeat_wins(
    matcher_deps: Deps, hub: OfferHub, clock: FakeClock
) -> None:
    p = await project(matcher_deps, claim_timeout=600)
    t = await task(matcher_deps, p)
    await contractor(matcher_deps, "ana")
    await contractor(matcher_deps, "ben")
    start = clock.now()
    granted = await claim(matcher_deps, "ana", t)
    ben = hub.open("ben", None)
    assert await hub.snapshot(ben, 10) == []

    clock.set(start + timedelta(seconds=300))
    moved = await heartbeat(matcher_deps, "ana", granted)  # deadline: +900
    clock.set(start + timedelta(seconds=600))
    size = await outbox_size(matcher_deps)
    await elapse(matcher_deps, granted, granted.deadline_at)  # the clock fired for +600
    assert await current(matcher_deps, "ana", granted) == moved  # the heartbeat won
    assert await outbox_size(matcher_deps) == size and await free_slots(matcher_deps, t) == 0

    # The clock, set again from ClaimExtended, fires for +900; ours lags a little.
    clock.set(start + timedelta(seconds=899))
    await elapse(matcher_deps, granted, moved.deadline_at)
    ended = await current(matcher_deps, "ana", granted)
    assert ended.status is ClaimStatus.ENDED and ended.end_reason is EndReason.EXPIRED
    assert ended.ended_at == moved.deadline_at  # never before the deadline
    assert await free_slots(matcher_deps, t) == 1
    offer, _ = await until(ben, offered(t))
    assert offer.free_slots == 1
    (event,) = await events(matcher_deps, events_pb2.ClaimEnded)
    assert event.reoffered and from_timestamp(event.ended_at) == moved.deadline_at

    # Redelivered: nothing changes, nothing is said.
    size = await outbox_size(matcher_deps)
    await elapse(matcher_deps, granted, moved.deadline_at)
    assert await current(matcher_deps, "ana", granted) == ended
    assert await outbox_size(matcher_deps) == size and await free_slots(matcher_deps, t) == 1
    late = await unchanged(matcher_deps, submit(matcher_deps, "ana", granted))
    assert isinstance(late, FailedPrecondition) and late.reason == "CLAIM_EXPIRED"
    hub.close(ben)


async def test_a_submission_before_the_deadline_makes_a_later_lease_elapsed_a_no_op(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    p = await project(matcher_deps, claim_timeout=600)
    t = await task(matcher_deps, p)
    await contractor(matcher_deps, "ana")
    granted = await claim(matcher_deps, "ana", t)
    clock.advance(timedelta(seconds=599))
    done = await submit(matcher_deps, "ana", granted)
    clock.advance(timedelta(seconds=5))
    assert await submit(matcher_deps, "ana", granted) == done  # a repeat, even after it
    size = await outbox_size(matcher_deps)
    await elapse(matcher_deps, granted, granted.deadline_at)
    assert await current(matcher_deps, "ana", granted) == done
    assert await outbox_size(matcher_deps) == size and await free_slots(matcher_deps, t) == 0


async def test_submission_racing_expiry_has_exactly_one_winner_every_time(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    """Each round: a claim at its last moment, submitted while the lease clock's event for
    that very deadline is applied. Exactly one wins; the slot count follows it."""
    p = await project(matcher_deps, claim_timeout=600)
    await contractor(matcher_deps, "ana", limit=5)
    outcomes = {"submitted": 0, "expired": 0}
    for round_ in range(200):
        t = await task(matcher_deps, p)
        granted = await claim(matcher_deps, "ana", t)
        clock.set(granted.deadline_at - timedelta(microseconds=1))

        async def late_submit(delay: float, granted: Claim = granted) -> Claim:
            await asyncio.sleep(delay)  # varies who gets there first; asserts nothing
            return await submit(matcher_deps, "ana", granted)

        results = await asyncio.gather(
            late_submit((round_ % 4) * 0.001),
            elapse(matcher_deps, granted, granted.deadline_at),
            return_exceptions=True,
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        final = await current(matcher_deps, "ana", granted)
        if final.status is ClaimStatus.SUBMITTED:
            assert errors == [] and await free_slots(matcher_deps, t) == 0
            outcomes["submitted"] += 1
        else:
            assert final.status is ClaimStatus.ENDED and final.end_reason is EndReason.EXPIRED
            (error,) = errors
            assert isinstance(error, FailedPrecondition) and error.reason == "CLAIM_EXPIRED"
            assert await free_slots(matcher_deps, t) == 1
            outcomes["expired"] += 1
    print(f"\n200 races: {outcomes}")
    assert sum(outcomes.values()) == 200
    submitted = await events(matcher_deps, events_pb2.WorkSubmitted)
    ended = await events(matcher_deps, events_pb2.ClaimEnded)
    assert (len(submitted), len(ended)) == (outcomes["submitted"], outcomes["expired"])
    assert not {e.claim_id for e in submitted} & {e.claim_id for e in ended}


# --- tasks: cancel, lifetime, added slots ----------------------------------------------


async def test_a_cancel_cuts_live_claims_withdraws_offers_and_refuses_new_claims(
    matcher_deps: Deps, hub: OfferHub, clock: FakeClock
) -> None:
    p = await project(matcher_deps, claim_timeout=600)
    t = await task(matcher_deps, p, slots=3)
    for who in ("ana", "ben", "cara"):
        await contractor(matcher_deps, who)
    cara = hub.open("cara", None)
    assert [o.task_id for o in await hub.snapshot(cara, 10)] == [t]
    a = await claim(matcher_deps, "ana", t)
    b = await claim(matcher_deps, "ben", t)

    cancel = await task_changed(
        matcher_deps, t, revision=1, lifecycle=events_pb2.TASK_LIFECYCLE_CANCELLED, slots=3
    )
    await until(cara, withdrawn(t, WithdrawalReason.CLOSED))
    cut = await current(matcher_deps, "ana", a)
    assert cut.status is ClaimStatus.ACTIVE and cut.cut is EndReason.TASK_CANCELLED
    assert cut.deadline_at == a.deadline_at  # it keeps its deadline
    beat = await unchanged(matcher_deps, heartbeat(matcher_deps, "ana", a))
    assert isinstance(beat, FailedPrecondition) and beat.reason == "TASK_CANCELLED"
    closed = await unchanged(matcher_deps, claim(matcher_deps, "cara", t))
    assert isinstance(closed, FailedPrecondition) and closed.reason == "TASK_CLOSED"

    # Redelivered: nothing changes.
    rows = await matcher_deps.pool.fetch("SELECT * FROM claims ORDER BY 1")
    await deliver(matcher_deps, claims.on_task_changed, cancel)
    assert await matcher_deps.pool.fetch("SELECT * FROM claims ORDER BY 1") == rows

    # Work may still be handed in before the deadline; a lapse ends with the cut reason.
    clock.advance(timedelta(seconds=100))
    assert (await submit(matcher_deps, "ben", b)).status is ClaimStatus.SUBMITTED
    clock.advance(timedelta(seconds=500))
    await elapse(matcher_deps, a, a.deadline_at)
    lapsed = await current(matcher_deps, "ana", a)
    assert lapsed.end_reason is EndReason.TASK_CANCELLED
    (ended,) = await events(matcher_deps, events_pb2.ClaimEnded)
    assert not ended.reoffered  # a cancelled task takes no claims again
    assert not await events(matcher_deps, events_pb2.ClaimSettled)  # per submission terms
    assert cara.queue.empty()
    hub.close(cara)


async def test_a_cut_hourly_claim_is_settled_for_the_time_reported_and_nothing_else_is(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    p = await project(matcher_deps, terms=HOURLY, claim_timeout=600)  # $36/h: 1 cent a second
    cancelled = await task(matcher_deps, p, slots=3)
    ordinary = await task(matcher_deps, p)
    for who in ("ana", "ben", "cara"):
        await contractor(matcher_deps, who)
    start = clock.now()
    a = await claim(matcher_deps, "ana", cancelled)
    b = await claim(matcher_deps, "ben", cancelled)  # reports nothing
    c = await claim(matcher_deps, "cara", cancelled)  # releases after the cut
    o = await claim(matcher_deps, "ana", ordinary)  # never cut: its expiry settles nothing
    clock.advance(timedelta(seconds=130))
    await heartbeat(matcher_deps, "ana", a, worked=125)
    await heartbeat(matcher_deps, "cara", c, worked=47)
    await heartbeat(matcher_deps, "ana", o, worked=100)
    await task_changed(
        matcher_deps, cancelled, revision=1, lifecycle=events_pb2.TASK_LIFECYCLE_CANCELLED, slots=3
    )
    await release(matcher_deps, "cara", c)
    clock.set(start + timedelta(seconds=730))
    for who, granted in (("ana", a), ("ben", b), ("ana", o)):
        await elapse(matcher_deps, granted, (await current(matcher_deps, who, granted)).deadline_at)
    ends = {e.claim_id: e for e in await events(matcher_deps, events_pb2.ClaimEnded)}
    assert ends[str(a.claim_id)].reason == claim_pb2.CLAIM_END_REASON_TASK_CANCELLED
    assert ends[str(b.claim_id)].reason == claim_pb2.CLAIM_END_REASON_TASK_CANCELLED
    assert ends[str(o.claim_id)].reason == claim_pb2.CLAIM_END_REASON_EXPIRED
    settled = {s.claim_id: s for s in await events(matcher_deps, events_pb2.ClaimSettled)}
    assert set(settled) == {str(a.claim_id), str(c.claim_id)}
    paid = settled[str(a.claim_id)]
    assert (paid.amount.currency_code, paid.amount.amount_minor, paid.worked_seconds) == (
        "USD",
        125,
        125,
    )
    assert paid.reason == claim_pb2.CLAIM_END_REASON_TASK_CANCELLED
    assert paid.client_id == "acme" and paid.pay_terms.hourly.max_paid_seconds == 3600
    assert settled[str(c.claim_id)].amount.amount_minor == 47
    # Released after the cut: it ended without work all the same, with the cut's reason,
    # which explains its settlement; a repeat of the release changes nothing.
    assert ends[str(c.claim_id)].reason == claim_pb2.CLAIM_END_REASON_TASK_CANCELLED
    assert settled[str(c.claim_id)].reason == claim_pb2.CLAIM_END_REASON_TASK_CANCELLED
    again = await release(matcher_deps, "cara", c)
    assert again.end_reason is EndReason.TASK_CANCELLED
    assert len(await events(matcher_deps, events_pb2.ClaimEnded)) == len(ends)


async def test_a_task_whose_lifetime_ends_takes_no_claims_but_running_ones_go_on(
    matcher_deps: Deps, hub: OfferHub, clock: FakeClock
) -> None:
    p = await project(matcher_deps, claim_timeout=600)
    t = await task(matcher_deps, p, slots=2)
    for who in ("ana", "ben"):
        await contractor(matcher_deps, who)
    ben = hub.open("ben", None)
    assert [o.task_id for o in await hub.snapshot(ben, 10)] == [t]
    a = await claim(matcher_deps, "ana", t)
    await task_changed(
        matcher_deps, t, revision=1, lifecycle=events_pb2.TASK_LIFECYCLE_EXPIRED, slots=2
    )
    await until(ben, withdrawn(t, WithdrawalReason.CLOSED))
    closed = await unchanged(matcher_deps, claim(matcher_deps, "ben", t))
    assert isinstance(closed, FailedPrecondition) and closed.reason == "TASK_CLOSED"
    clock.advance(timedelta(seconds=60))
    beat = await heartbeat(matcher_deps, "ana", a, worked=50)  # not cut: it may go on
    assert beat.cut is None and beat.deadline_at > a.deadline_at
    clock.advance(timedelta(seconds=600))
    await elapse(matcher_deps, a, beat.deadline_at)
    lapsed = await current(matcher_deps, "ana", a)
    assert lapsed.end_reason is EndReason.TASK_EXPIRED
    (ended,) = await events(matcher_deps, events_pb2.ClaimEnded)
    assert ended.reason == claim_pb2.CLAIM_END_REASON_TASK_EXPIRED and not ended.reoffered
    assert await free_slots(matcher_deps, t) == 2  # in the pool, should the task revive

    # A new lifetime revives it: both slots are offered again.
    await task_changed(
        matcher_deps, t, revision=2, slots=2, expires_at=clock.now() + timedelta(days=1)
    )
    offer, _ = await until(ben, offered(t))
    assert offer.free_slots == 2
    assert (await claim(matcher_deps, "ben", t)).status is ClaimStatus.ACTIVE
    hub.close(ben)


async def test_added_slots_are_offered_and_older_or_repeated_changes_are_ignored(
    matcher_deps: Deps, hub: OfferHub
) -> None:
    p = await project(matcher_deps)
    t = await task(matcher_deps, p)
    for who in ("ana", "ben"):
        await contractor(matcher_deps, who)
    ben = hub.open("ben", None)
    assert [o.task_id for o in await hub.snapshot(ben, 10)] == [t]
    await claim(matcher_deps, "ana", t)
    await until(ben, withdrawn(t, WithdrawalReason.FILLED))

    added = await task_changed(matcher_deps, t, revision=2, slots=3)
    offer, _ = await until(ben, offered(t))
    assert offer.free_slots == 2
    await deliver(matcher_deps, claims.on_task_changed, added)  # redelivered
    await task_changed(matcher_deps, t, revision=1, slots=5)  # older: ignored
    await task_changed(  # older still, and a cancel: ignored
        matcher_deps, t, revision=1, lifecycle=events_pb2.TASK_LIFECYCLE_CANCELLED, slots=3
    )
    row = await matcher_deps.pool.fetchrow(
        "SELECT slots, free_slots, lifecycle, revision FROM open_tasks WHERE task_id = $1", t
    )
    assert tuple(row) == (3, 2, "live", 2)
    assert (await claim(matcher_deps, "ben", t)).status is ClaimStatus.ACTIVE
    hub.close(ben)


# --- projects: pause, resume, close ----------------------------------------------------


async def test_pause_cuts_and_withdraws_resume_offers_again_and_close_ends_it(
    matcher_deps: Deps, hub: OfferHub, clock: FakeClock
) -> None:
    p = await project(matcher_deps, claim_timeout=600)
    t = await task(matcher_deps, p, slots=2)
    for who in ("ana", "ben", "cara"):
        await contractor(matcher_deps, who)
    ben = hub.open("ben", None)
    assert [o.task_id for o in await hub.snapshot(ben, 10)] == [t]
    a = await claim(matcher_deps, "ana", t)

    await project(matcher_deps, project_id=p, claim_timeout=600, revision=2, state=PAUSED)
    await until(ben, withdrawn(t, WithdrawalReason.CLOSED))
    assert (await current(matcher_deps, "ana", a)).cut is EndReason.PROJECT_PAUSED
    closed = await unchanged(matcher_deps, claim(matcher_deps, "ben", t))
    assert isinstance(closed, FailedPrecondition) and closed.reason == "TASK_CLOSED"
    page, _ = await offers.list_offers(
        commands.list_offers(contractor_id="cara", page_size=10), matcher_deps
    )
    assert page == []
    # Redelivered: nothing changes.
    rows = await matcher_deps.pool.fetch("SELECT * FROM claims ORDER BY 1")
    await project(matcher_deps, project_id=p, claim_timeout=600, revision=2, state=PAUSED)
    assert await matcher_deps.pool.fetch("SELECT * FROM claims ORDER BY 1") == rows

    clock.advance(timedelta(seconds=600))
    await elapse(matcher_deps, a, a.deadline_at)
    lapsed = await current(matcher_deps, "ana", a)
    assert lapsed.end_reason is EndReason.PROJECT_PAUSED
    (ended,) = await events(matcher_deps, events_pb2.ClaimEnded)
    assert not ended.reoffered and await free_slots(matcher_deps, t) == 2

    await project(matcher_deps, project_id=p, claim_timeout=600, revision=3, state=ACTIVE)
    offer, _ = await until(ben, offered(t))
    assert offer.free_slots == 2
    b = await claim(matcher_deps, "ben", t)
    assert b.cut is None and (await current(matcher_deps, "ana", a)).cut is EndReason.PROJECT_PAUSED

    await project(matcher_deps, project_id=p, claim_timeout=600, revision=4, state=CLOSED)
    assert (await current(matcher_deps, "ben", b)).cut is EndReason.PROJECT_CLOSED
    cara = hub.open("cara", None)
    assert await hub.snapshot(cara, 10) == []
    closed = await refused(claim(matcher_deps, "cara", t))
    assert isinstance(closed, FailedPrecondition) and closed.reason == "TASK_CLOSED"
    hub.close(ben)
    hub.close(cara)


async def test_a_pause_racing_claims_leaves_no_claim_uncut(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    """Every claim granted before the pause is cut; none is granted after it."""
    p = await project(matcher_deps)
    t = await task(matcher_deps, p, slots=40)
    racers = [await contractor(matcher_deps, f"c{i}") for i in range(40)]
    pause = project(matcher_deps, project_id=p, revision=2, state=PAUSED)
    results = await asyncio.gather(
        *(claim(matcher_deps, c, t) for c in racers[:20]),
        pause,
        *(claim(matcher_deps, c, t) for c in racers[20:]),
        return_exceptions=True,
    )
    granted = [r for r in results if isinstance(r, Claim)]
    refusals = {r.reason for r in results if isinstance(r, DomainError)}
    assert refusals <= {"TASK_CLOSED"}
    assert len(granted) + sum(isinstance(r, DomainError) for r in results) == 40
    rows = await matcher_deps.pool.fetch("SELECT cut FROM claims")
    assert len(rows) == len(granted) and {r["cut"] for r in rows} <= {"project_paused"}


# --- the contractor's view -------------------------------------------------------------


async def test_list_my_claims_is_newest_first_paged_and_filtered(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    p = await project(matcher_deps)
    q = await project(matcher_deps)
    await contractor(matcher_deps, "ana", limit=10)
    await contractor(matcher_deps, "ben")
    mine = []
    for i in range(5):
        clock.advance(timedelta(seconds=1))
        t = await task(matcher_deps, p if i < 3 else q, slots=2)
        mine.append(await claim(matcher_deps, "ana", t))
    await claim(matcher_deps, "ben", mine[0].task_id)  # not ana's
    clock.advance(timedelta(seconds=1))
    await submit(matcher_deps, "ana", mine[1])
    await release(matcher_deps, "ana", mine[2])

    async def listed(**filters: Any) -> list[uuid.UUID]:
        found: list[uuid.UUID] = []
        token = ""
        while True:
            query = commands.list_claims(
                contractor_id="ana", page_size=2, page_token=token, **filters
            )
            page, more = await claims.list_my_claims(query, matcher_deps)
            assert len(page) <= 2
            found += [c.claim_id for c in page]
            if more is None:
                return found
            token = commands.claim_cursor(*more)

    newest_first = [c.claim_id for c in reversed(mine)]
    assert await listed() == newest_first
    assert await listed(status=ClaimStatus.ACTIVE) == [
        mine[4].claim_id,
        mine[3].claim_id,
        mine[0].claim_id,
    ]
    assert await listed(status=ClaimStatus.ENDED) == [mine[2].claim_id]
    assert await listed(status=ClaimStatus.SUBMITTED) == [mine[1].claim_id]
    assert await listed(project_id=q) == [mine[4].claim_id, mine[3].claim_id]
    assert await listed(task_id=str(mine[0].task_id)) == [mine[0].claim_id]
    query = commands.list_claims(contractor_id="ben", page_size=10)
    page, _ = await claims.list_my_claims(query, matcher_deps)
    assert [c.contractor_id for c in page] == ["ben"]


# --- mistakes --------------------------------------------------------------------------


async def test_every_mistake_gets_its_code_and_reason_and_changes_nothing(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    p = await project(matcher_deps, claim_timeout=600)
    await contractor(matcher_deps, "ana")
    await contractor(matcher_deps, "eve")
    granted = await claim(matcher_deps, "ana", await task(matcher_deps, p))

    # Someone else's claim: not found, whatever they try.
    for call in (
        heartbeat(matcher_deps, "eve", granted),
        release(matcher_deps, "eve", granted),
        submit(matcher_deps, "eve", granted),
        current(matcher_deps, "eve", granted),
    ):
        assert isinstance(await unchanged(matcher_deps, call), NotFound)

    # Time worked: never negative, never more than the claim has been live, never less
    # than reported before.
    clock.advance(timedelta(seconds=100))
    for worked in (101, 10**12):
        bad = await unchanged(matcher_deps, heartbeat(matcher_deps, "ana", granted, worked=worked))
        assert isinstance(bad, InvalidArgument) and bad.field == "worked_seconds"
    with pytest.raises(InvalidArgument) as err:
        commands.heartbeat_claim(
            claim_id=str(granted.claim_id), contractor_id="ana", worked_seconds=-5
        )
    assert err.value.field == "worked_seconds"
    await heartbeat(matcher_deps, "ana", granted, worked=80)
    less = await unchanged(matcher_deps, heartbeat(matcher_deps, "ana", granted, worked=79))
    assert isinstance(less, InvalidArgument) and less.field == "worked_seconds"

    # Past the deadline (the clock has not fired yet): expired, for anything.
    clock.advance(timedelta(seconds=700))
    for call in (
        heartbeat(matcher_deps, "ana", granted, worked=80),
        release(matcher_deps, "ana", granted),
        submit(matcher_deps, "ana", granted),
    ):
        late = await unchanged(matcher_deps, call)
        assert isinstance(late, FailedPrecondition) and late.reason == "CLAIM_EXPIRED"

    # Ended: released ones say CLAIM_ENDED, expired ones CLAIM_EXPIRED.
    other = await claim(matcher_deps, "ana", await task(matcher_deps, p))
    await release(matcher_deps, "ana", other)
    for call in (heartbeat(matcher_deps, "ana", other), submit(matcher_deps, "ana", other)):
        gone = await unchanged(matcher_deps, call)
        assert isinstance(gone, FailedPrecondition) and gone.reason == "CLAIM_ENDED"
    await elapse(matcher_deps, granted, granted.deadline_at)
    for call in (heartbeat(matcher_deps, "ana", granted), release(matcher_deps, "ana", granted)):
        gone = await unchanged(matcher_deps, call)
        assert isinstance(gone, FailedPrecondition) and gone.reason == "CLAIM_EXPIRED"
    done = await claim(matcher_deps, "ana", await task(matcher_deps, p))
    await submit(matcher_deps, "ana", done)
    for call in (heartbeat(matcher_deps, "ana", done), release(matcher_deps, "ana", done)):
        gone = await unchanged(matcher_deps, call)
        assert isinstance(gone, FailedPrecondition) and gone.reason == "CLAIM_ENDED"


async def test_a_claim_whose_lease_ran_out_before_the_cut_lapses_as_it_would_have(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    p = await project(matcher_deps, terms=HOURLY, claim_timeout=600)
    t = await task(matcher_deps, p)
    await contractor(matcher_deps, "ana")
    granted = await claim(matcher_deps, "ana", t)
    clock.advance(timedelta(seconds=60))
    await heartbeat(matcher_deps, "ana", granted, worked=60)
    clock.advance(timedelta(seconds=600))  # past the deadline; the clock has not fired yet
    await task_changed(matcher_deps, t, revision=1, lifecycle=events_pb2.TASK_LIFECYCLE_CANCELLED)
    assert (await current(matcher_deps, "ana", granted)).cut is None
    await elapse(matcher_deps, granted, (await current(matcher_deps, "ana", granted)).deadline_at)
    lapsed = await current(matcher_deps, "ana", granted)
    assert lapsed.end_reason is EndReason.EXPIRED
    assert not await events(matcher_deps, events_pb2.ClaimSettled)


# --- time worked and review ------------------------------------------------------------


async def test_time_worked_mistakes_name_the_field_and_change_nothing(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    p = await project(matcher_deps, terms=HOURLY, claim_timeout=600)
    await contractor(matcher_deps, "ana")
    granted = await claim(matcher_deps, "ana", await task(matcher_deps, p))
    start = granted.granted_at
    clock.advance(timedelta(seconds=300))
    now = clock.now()

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    mistakes: list[tuple[dict[str, Any], str]] = [
        ({"worked_seconds": 301}, "worked_seconds"),  # longer than the claim has been live
        ({"worked_seconds": -1}, "worked_seconds"),
        ({"worked_seconds": 10, "segments": [(at(0), at(10))]}, "worked_seconds"),
        ({"segments": [(at(-1), at(10))]}, "segments[0].started_at"),  # before the grant
        ({"segments": [(at(0), at(10)), (at(200), at(301))]}, "segments[1].ended_at"),  # future
        ({"segments": [(at(0), at(100)), (at(50), at(150))]}, "segments[1].started_at"),
        ({"segments": [(at(10), at(10))]}, "segments[0].ended_at"),
        ({"segments": [(None, at(10))]}, "segments[0].started_at"),
    ]
    for time, field in mistakes:
        bad = await unchanged(matcher_deps, submit(matcher_deps, "ana", granted, **time))
        assert isinstance(bad, InvalidArgument) and bad.field == field, (time, bad)
    assert (await current(matcher_deps, "ana", granted)).status is ClaimStatus.ACTIVE

    # Segments up to now, from the very grant: 100 + 180.5 s; hourly at $36/h, 1 cent a second.
    tracked = [(at(0), at(100)), (at(119.5), now)]
    done = await submit(matcher_deps, "ana", granted, segments=tracked)
    assert (done.worked_seconds, done.earned) == (280, Money("USD", 280))
    assert await current(matcher_deps, "ana", granted) == done
    # The same again returns the submission unchanged; other figures are refused.
    assert await submit(matcher_deps, "ana", granted, segments=tracked) == done
    other = await unchanged(matcher_deps, submit(matcher_deps, "ana", granted, worked_seconds=5))
    assert isinstance(other, FailedPrecondition) and other.reason == "ALREADY_SUBMITTED"
    (work,) = await events(matcher_deps, events_pb2.WorkSubmitted)
    assert (work.reward.amount_minor, work.worked_seconds, len(work.segments)) == (280, 280, 2)
    assert from_timestamp(work.segments[1].started_at) == at(119.5)


async def test_other_work_for_a_submitted_claim_is_refused_and_the_first_stands(
    matcher_deps: Deps,
) -> None:
    p = await project(matcher_deps)
    await contractor(matcher_deps, "ana")
    granted = await claim(matcher_deps, "ana", await task(matcher_deps, p))

    def work(result: bytes) -> commands.SubmitWork:
        return commands.submit_work(
            claim_id=str(granted.claim_id), contractor_id="ana", result=result
        )

    done = await claims.submit_work(work(b"first"), matcher_deps)
    # A retry of the same request (the same result, no time given) gets the same answer.
    assert await claims.submit_work(work(b"first"), matcher_deps) == done
    edited = await unchanged(matcher_deps, claims.submit_work(work(b"edited"), matcher_deps))
    assert isinstance(edited, FailedPrecondition) and edited.reason == "ALREADY_SUBMITTED"
    (submitted,) = await events(matcher_deps, events_pb2.WorkSubmitted)
    assert submitted.result == b"first"
    kept = await matcher_deps.pool.fetchval(
        "SELECT result FROM claims WHERE claim_id = $1", granted.claim_id
    )
    assert kept == b"first"


async def test_with_no_time_given_the_last_heartbeat_report_counts(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    p = await project(matcher_deps, terms=HOURLY, claim_timeout=600)
    await contractor(matcher_deps, "ana")
    reported = await claim(matcher_deps, "ana", await task(matcher_deps, p))
    silent = await claim(matcher_deps, "ana", await task(matcher_deps, p))
    clock.advance(timedelta(seconds=400))
    await heartbeat(matcher_deps, "ana", reported, worked=350)
    clock.advance(timedelta(seconds=100))
    assert (await submit(matcher_deps, "ana", reported)).earned == Money("USD", 350)
    nothing = await submit(matcher_deps, "ana", silent)  # never reported: one second's pay
    assert (nothing.worked_seconds, nothing.earned) == (0, Money("USD", 1))


def review_event(granted: Claim, review: ReviewState, at: datetime, feedback: str = "") -> Message:
    if review is ReviewState.ACCEPTED:
        return events_pb2.SubmissionAccepted(
            submission_id=str(granted.claim_id),
            task_id=str(granted.task_id),
            contractor_id=granted.contractor_id,
            client_id="acme",
            accepted_by=events_pb2.ACCEPTED_BY_CLIENT,
            accepted_at=timestamp(at),
        )
    return events_pb2.SubmissionRejected(
        submission_id=str(granted.claim_id),
        task_id=str(granted.task_id),
        contractor_id=granted.contractor_id,
        client_id="acme",
        feedback=feedback,
        rejected_at=timestamp(at),
        revert_until=timestamp(at + timedelta(days=30)),
    )


async def review(deps: Deps, event: Message) -> None:
    handler = (
        claims.on_submission_accepted
        if isinstance(event, events_pb2.SubmissionAccepted)
        else claims.on_submission_rejected
    )
    await deliver(deps, handler, event)


async def test_reviews_reach_the_contractors_claim_once_and_accepted_is_final(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    p = await project(matcher_deps, claim_timeout=600)
    await contractor(matcher_deps, "ana", limit=5)
    kept, overridden, rejected, live = [
        await claim(matcher_deps, "ana", await task(matcher_deps, p)) for _ in range(4)
    ]
    clock.advance(timedelta(seconds=60))
    for granted in (kept, overridden, rejected):
        done = await submit(matcher_deps, "ana", granted)
        assert done.review is ReviewState.PENDING
        shown = pb.claim_to_pb(done)
        assert shown.review == claim_pb2.REVIEW_STATE_PENDING and shown.earned.amount_minor == 2500
    size = await outbox_size(matcher_deps)
    now = clock.now()

    accept = review_event(kept, ReviewState.ACCEPTED, now)
    reject_then_override = review_event(overridden, ReviewState.REJECTED, now, "missing units")
    override = review_event(overridden, ReviewState.ACCEPTED, now + timedelta(days=1))
    reject = review_event(rejected, ReviewState.REJECTED, now, "off topic")
    for event in (accept, reject_then_override, reject, override):
        await review(matcher_deps, event)
    rows = await matcher_deps.pool.fetch("SELECT * FROM claims ORDER BY 1")

    # Each event redelivered five times, in any order, changes nothing: accepted is
    # final (a rejection delivered again after the override does not undo it).
    for _ in range(5):
        for event in (override, reject_then_override, accept, reject):
            await review(matcher_deps, event)
    assert await matcher_deps.pool.fetch("SELECT * FROM claims ORDER BY 1") == rows
    # A review of work never submitted here, or of a claim this pool never had: nothing.
    await review(matcher_deps, review_event(live, ReviewState.ACCEPTED, now))
    stranger = replace(kept, claim_id=uuid.uuid4())
    await review(matcher_deps, review_event(stranger, ReviewState.REJECTED, now, "?"))
    assert await matcher_deps.pool.fetch("SELECT * FROM claims ORDER BY 1") == rows
    assert await outbox_size(matcher_deps) == size  # reviews publish nothing

    seen = {
        c.claim_id: c
        for c in [await current(matcher_deps, "ana", g) for g in (kept, overridden, rejected, live)]
    }
    assert (seen[kept.claim_id].review, seen[kept.claim_id].feedback) == (ReviewState.ACCEPTED, "")
    assert (seen[overridden.claim_id].review, seen[overridden.claim_id].feedback) == (
        ReviewState.ACCEPTED,
        "",
    )
    assert seen[overridden.claim_id].reviewed_at == now + timedelta(days=1)
    assert (seen[rejected.claim_id].review, seen[rejected.claim_id].feedback) == (
        ReviewState.REJECTED,
        "off topic",
    )
    assert seen[live.claim_id].review is None
    shown = pb.claim_to_pb(seen[rejected.claim_id])
    assert (shown.review, shown.feedback) == (claim_pb2.REVIEW_STATE_REJECTED, "off topic")
    assert not pb.claim_to_pb(seen[live.claim_id]).HasField("earned")

    # ListMyClaims shows the same.
    page, _ = await claims.list_my_claims(
        commands.list_claims(contractor_id="ana", page_size=10), matcher_deps
    )
    assert {c.claim_id: c.review for c in page} == {c.claim_id: c.review for c in seen.values()}
