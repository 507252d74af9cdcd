"""Claims and offers through the matcher's handlers, on a real database and a fake clock.

Projects and tasks arrive as the dispatcher's events would; contractors and their
qualifications are written the way the operator handlers write them (rows, then an
eligibility refresh), so these tests exercise the claim path and the offer hub alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta

import asyncpg
import pytest

from crewline.consumer import EventContext
from crewline.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
)
from crewline.events import parse_envelope
from crewline.money import Money
from crewline.outbox import OutboxRow
from crewline.pay_terms import Basis, PayTerms
from crewline.protobuf import pay_terms_to_pb, requirement_to_pb, timestamp
from crewline.qualifications import Comparator, Requirement
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2, project_pb2
from matcher.adapters import eligibility
from matcher.adapters.offer_hub import OfferHub, ResyncNeeded, Stream
from matcher.deps import Deps
from matcher.domain import commands
from matcher.domain.claims import Claim
from matcher.domain.offers import WithdrawalReason
from matcher.domain.statuses import ClaimStatus
from matcher.handlers import claims, offers, projects

from stack import eventually, outbox_types

CTX = EventContext("e", "c", "dispatcher", "t", 0, 0)
DERM = [Requirement("domain.dermatology", Comparator.GREATER_OR_EQUAL, (80,))]
USD_25 = PayTerms(basis=Basis.PER_SUBMISSION, rate=Money("USD", 2500), version=1)


async def contractor(
    deps: Deps, contractor_id: str, *, derm: int | None = None, limit: int = 3
) -> str:
    async with deps.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO qualification_types (name, kind, description, created_at)"
            " VALUES ('domain.dermatology', 'score', '', now()) ON CONFLICT DO NOTHING"
        )
        await conn.execute(
            "INSERT INTO contractors (contractor_id, display_name, created_at, updated_at,"
            " max_concurrent_claims) VALUES ($1, $1, now(), now(), $2)",
            contractor_id,
            limit,
        )
        if derm is not None:
            await conn.execute(
                "INSERT INTO contractor_qualifications (contractor_id, qualification, score,"
                " granted_at, updated_at) VALUES ($1, 'domain.dermatology', $2, now(), now())",
                contractor_id,
                derm,
            )
        await eligibility.refresh_contractor(conn, contractor_id)
    return contractor_id


async def set_derm(deps: Deps, contractor_id: str, score: int | None) -> None:
    async with deps.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM contractor_qualifications WHERE contractor_id = $1", contractor_id
        )
        if score is not None:
            await conn.execute(
                "INSERT INTO contractor_qualifications (contractor_id, qualification, score,"
                " granted_at, updated_at) VALUES ($1, 'domain.dermatology', $2, now(), now())",
                contractor_id,
                score,
            )
        await eligibility.refresh_contractor(conn, contractor_id)


async def block(deps: Deps, contractor_id: str, project_id: str | None) -> None:
    async with deps.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO blocks (block_id, contractor_id, project_id, reason, blocked_at)"
            " VALUES ($1, $2, $3, 'test', now())",
            uuid.uuid4().hex,
            contractor_id,
            project_id,
        )
        await eligibility.refresh_contractor(conn, contractor_id)


async def project(
    deps: Deps,
    *,
    project_id: str | None = None,
    title: str = "Rate dermatology answers",
    requirements: list[Requirement] | None = None,
    terms: PayTerms = USD_25,
    revision: int = 1,
    priority: int = 10,
    max_claims: int = 0,
    claim_timeout: int = 3600,
    state: project_pb2.ProjectState.ValueType = project_pb2.PROJECT_STATE_ACTIVE,
) -> str:
    project_id = project_id or str(uuid.uuid4())
    pb = project_pb2.Project(
        project_id=project_id,
        client_id="acme",
        title=title,
        instructions="Rate each answer 1-5.",
        requirements=[requirement_to_pb(r) for r in requirements or []],
        pay_terms=pay_terms_to_pb(terms),
        assignments_per_task=3,
        priority=priority,
        max_claims_per_contractor=max_claims,
        claim_timeout_seconds=claim_timeout,
        state=state,
        revision=revision,
        updated_at=timestamp(deps.clock.now()),
    )
    async with deps.pool.acquire() as conn, conn.transaction():
        await projects.on_project_changed(
            conn, events_pb2.ProjectChanged(project=pb), CTX, deps=deps
        )
    return project_id


async def task(deps: Deps, project_id: str, *, slots: int = 1, priority: int = 10) -> uuid.UUID:
    task_id = uuid.uuid4()
    event = events_pb2.TaskPublished(
        task_id=str(task_id),
        client_id="acme",
        project_id=project_id,
        slots=slots,
        published_at=timestamp(deps.clock.now()),
        priority=priority,
        payload_json='{"answer": "..."}',
    )
    async with deps.pool.acquire() as conn, conn.transaction():
        await claims.on_task_published(conn, event, CTX, deps=deps)
    return task_id


async def claim(deps: Deps, contractor_id: str, task_id: uuid.UUID, request: str = "") -> Claim:
    cmd = commands.claim_task(
        request_id=request or uuid.uuid4().hex, contractor_id=contractor_id, task_id=str(task_id)
    )
    return (await claims.claim_task(cmd, deps)).claim


async def work_submitted(deps: Deps) -> list[events_pb2.WorkSubmitted]:
    """The WorkSubmitted events written so far, in order."""
    found = []
    for row in await deps.pool.fetch("SELECT envelope FROM outbox ORDER BY id"):
        envelope = parse_envelope(row["envelope"])
        if envelope.type == events_pb2.WorkSubmitted.DESCRIPTOR.full_name:
            event = events_pb2.WorkSubmitted()
            envelope.payload.Unpack(event)
            found.append(event)
    return found


async def refused(deps: Deps, contractor_id: str, task_id: uuid.UUID) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await claim(deps, contractor_id, task_id)
    return caught.value


async def test_a_grant_freezes_the_terms_and_carries_the_work(matcher_deps: Deps) -> None:
    p = await project(matcher_deps, requirements=DERM)
    t = await task(matcher_deps, p)
    await contractor(matcher_deps, "ana", derm=90)
    cmd = commands.claim_task(request_id="r-1", contractor_id="ana", task_id=str(t))
    made = await claims.claim_task(cmd, matcher_deps)
    granted, payload, instructions = made.claim, made.payload, made.instructions
    assert granted.status is ClaimStatus.ACTIVE and granted.terms == USD_25
    assert payload.json == '{"answer": "..."}' and instructions == "Rate each answer 1-5."
    again = await claims.claim_task(cmd, matcher_deps)
    assert again.claim == granted and made.free_slots == 0 and again.free_slots is None

    # New terms apply to claims granted after the change; this claim keeps its own.
    raised = PayTerms(basis=Basis.PER_SUBMISSION, rate=Money("USD", 3000), version=2)
    await project(matcher_deps, project_id=p, requirements=DERM, terms=raised, revision=2)
    await contractor(matcher_deps, "ben", derm=95)
    t2 = await task(matcher_deps, p)
    assert (await claim(matcher_deps, "ben", t2)).terms == raised
    submitted = await claims.submit_work(
        commands.submit_work(claim_id=str(granted.claim_id), contractor_id="ana", result=b"4"),
        matcher_deps,
    )
    assert submitted.terms == USD_25 and submitted.earned == Money("USD", 2500)
    assert await outbox_types(matcher_deps.pool) == [
        "crewline.v1.ClaimGranted",
        "crewline.v1.ClaimGranted",
        "crewline.v1.WorkSubmitted",
    ]


async def test_hourly_work_earns_the_frozen_rate_for_the_time_up_to_the_cap(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    hourly = PayTerms(basis=Basis.HOURLY, rate=Money("USD", 4500), max_paid_seconds=3600, version=1)
    p = await project(matcher_deps, terms=hourly, claim_timeout=4 * 3600)
    await contractor(matcher_deps, "ana")
    first = await claim(matcher_deps, "ana", await task(matcher_deps, p))
    # The rate doubles after the grant: the claim keeps the rate it was granted under.
    doubled = PayTerms(
        basis=Basis.HOURLY, rate=Money("USD", 9000), max_paid_seconds=3600, version=2
    )
    await project(matcher_deps, project_id=p, terms=doubled, claim_timeout=4 * 3600, revision=2)
    clock.advance(timedelta(minutes=30))
    done = await claims.submit_work(
        commands.submit_work(
            claim_id=str(first.claim_id), contractor_id="ana", result=b"x", worked_seconds=1200
        ),
        matcher_deps,
    )
    assert done.earned == Money("USD", 1500)  # 20 minutes at the frozen $45/h
    assert done.worked_seconds == 1200 and done.terms == hourly

    second = await claim(matcher_deps, "ana", await task(matcher_deps, p))
    start = clock.now()
    clock.advance(timedelta(hours=3))
    tracked = [
        (start, start + timedelta(hours=1)),
        (start + timedelta(hours=2), start + timedelta(hours=3)),
    ]
    late = await claims.submit_work(
        commands.submit_work(
            claim_id=str(second.claim_id), contractor_id="ana", result=b"x", segments=tracked
        ),
        matcher_deps,
    )
    assert late.terms == doubled and late.worked_seconds == 7200
    assert late.earned == Money("USD", 9000)  # capped at one hour, at the new claim's rate

    work = await work_submitted(matcher_deps)
    assert [(w.reward.amount_minor, w.worked_seconds, len(w.segments)) for w in work] == [
        (1500, 1200, 0),
        (9000, 7200, 2),
    ]
    assert work[1].client_id == "acme" and work[1].granted_at == timestamp(second.granted_at)
    assert work[1].segments[1].ended_at == timestamp(start + timedelta(hours=3))
    assert work[0].pay_terms.hourly.rate.amount_minor == 4500


async def test_each_refusal_names_its_reason_and_changes_nothing(matcher_deps: Deps) -> None:
    p = await project(matcher_deps, requirements=DERM)
    t = await task(matcher_deps, p, slots=1)
    await contractor(matcher_deps, "novice", derm=40)
    await contractor(matcher_deps, "barred", derm=99)
    await block(matcher_deps, "barred", p)
    await contractor(matcher_deps, "ana", derm=90)
    await contractor(matcher_deps, "ben", derm=90)

    not_qualified = await refused(matcher_deps, "novice", t)
    assert isinstance(not_qualified, PermissionDenied) and not_qualified.reason == "NOT_QUALIFIED"
    blocked = await refused(matcher_deps, "barred", t)
    assert isinstance(blocked, PermissionDenied) and blocked.reason == "BLOCKED"
    unknown = await refused(matcher_deps, "ana", uuid.uuid4())
    assert isinstance(unknown, NotFound)
    assert await outbox_types(matcher_deps.pool) == []

    await claim(matcher_deps, "ana", t)
    already = await refused(matcher_deps, "ana", t)
    assert isinstance(already, AlreadyExists) and already.reason == "ALREADY_CLAIMED"
    full = await refused(matcher_deps, "ben", t)
    assert isinstance(full, FailedPrecondition) and full.reason == "NO_FREE_SLOT"
    async with matcher_deps.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM claims") == 1
        assert await conn.fetchval("SELECT count(*) FROM claims WHERE contractor_id = 'ben'") == 0


async def test_a_global_block_refuses_every_project(matcher_deps: Deps) -> None:
    p = await project(matcher_deps)
    await contractor(matcher_deps, "ana")
    await block(matcher_deps, "ana", None)
    assert (await refused(matcher_deps, "ana", await task(matcher_deps, p))).reason == "BLOCKED"


async def test_claim_limits_concurrent_and_per_project(matcher_deps: Deps) -> None:
    p = await project(matcher_deps)
    await contractor(matcher_deps, "ana", limit=2)
    first = await claim(matcher_deps, "ana", await task(matcher_deps, p))
    await claim(matcher_deps, "ana", await task(matcher_deps, p))
    at_limit = await refused(matcher_deps, "ana", await task(matcher_deps, p))
    assert isinstance(at_limit, FailedPrecondition) and at_limit.reason == "AT_CLAIM_LIMIT"
    await claims.submit_work(
        commands.submit_work(claim_id=str(first.claim_id), contractor_id="ana", result=b"x"),
        matcher_deps,
    )
    await claim(
        matcher_deps, "ana", await task(matcher_deps, p)
    )  # a slot of the limit is free again

    capped = await project(matcher_deps, max_claims=1)
    await contractor(matcher_deps, "ben")
    await claim(matcher_deps, "ben", await task(matcher_deps, capped))
    assert (await refused(matcher_deps, "ben", await task(matcher_deps, capped))).reason == (
        "AT_CLAIM_LIMIT"
    )


async def test_many_racing_for_the_last_slots_never_overfill(matcher_deps: Deps) -> None:
    p = await project(matcher_deps)
    t = await task(matcher_deps, p, slots=3)
    racers = [await contractor(matcher_deps, f"c{i}") for i in range(30)]
    results = await asyncio.gather(
        *(claim(matcher_deps, c, t) for c in racers), return_exceptions=True
    )
    granted = [r for r in results if isinstance(r, Claim)]
    reasons = {r.reason for r in results if isinstance(r, DomainError)}
    assert len(granted) == 3 and len({g.contractor_id for g in granted}) == 3
    assert reasons == {"NO_FREE_SLOT"}
    assert all(isinstance(r, (Claim, DomainError)) for r in results)


def batches(deps: Deps) -> tuple[float, float]:
    """(batches sent, claims in them) so far, from the matcher's group-commit histogram."""
    read = deps.metrics.registry.get_sample_value
    return (
        read("crewline_matcher_claim_batch_rows_count") or 0.0,
        read("crewline_matcher_claim_batch_rows_sum") or 0.0,
    )


async def test_claims_that_arrive_together_share_a_commit_in_arrival_order(
    matcher_deps: Deps,
) -> None:
    p = await project(matcher_deps, requirements=DERM)
    t = await task(matcher_deps, p, slots=3)
    await contractor(matcher_deps, "novice", derm=10)
    assert (await refused(matcher_deps, "novice", t)).reason == "NOT_QUALIFIED"  # cache warm
    racers = [await contractor(matcher_deps, f"c{i}", derm=90) for i in range(8)]
    before = batches(matcher_deps)

    # All reach the batcher before its first batch goes (nothing else awaits on the way):
    # one statement, decided in arrival order as if one by one.
    calls = [claim(matcher_deps, c, t, request=f"r-{c}") for c in racers]
    calls += [
        claim(matcher_deps, "c0", t, request="r-c0"),  # a copy of c0's request
        claim(matcher_deps, "c1", t),  # c1 again, another request
        claim(matcher_deps, "novice", t),
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)

    assert batches(matcher_deps) == (before[0] + 1, before[1] + len(calls))
    granted = results[:3]
    assert [r.contractor_id for r in granted if isinstance(r, Claim)] == ["c0", "c1", "c2"]
    assert [getattr(r, "reason", r) for r in results[3:8]] == ["NO_FREE_SLOT"] * 5
    assert results[8] == results[0]  # the same request: the same claim
    assert [getattr(r, "reason", r) for r in results[9:]] == ["ALREADY_CLAIMED", "NOT_QUALIFIED"]
    async with matcher_deps.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM claims") == 3
        assert await conn.fetchval("SELECT free_slots FROM open_tasks WHERE task_id = $1", t) == 0
    assert await outbox_types(matcher_deps.pool) == ["crewline.v1.ClaimGranted"] * 3


async def test_a_batch_that_fails_as_a_whole_goes_again_one_claim_at_a_time(
    matcher_deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One claim's error (here its event's id is taken, so the outbox insert fails) aborts
    the batch's transaction: the others are applied again alone and granted."""
    p = await project(matcher_deps, requirements=DERM)
    tasks = [await task(matcher_deps, p) for _ in range(3)]
    await claim(matcher_deps, await contractor(matcher_deps, "first", derm=90), tasks[0])
    taken = (await matcher_deps.pool.fetchrow("SELECT event_id FROM outbox"))["event_id"]
    await contractor(matcher_deps, "novice", derm=10)
    for t in tasks[1:]:  # their terms cached: the three claims below reach the batcher at once
        assert (await refused(matcher_deps, "novice", t)).reason == "NOT_QUALIFIED"
    prepare = matcher_deps.publisher.prepare

    def colliding(event: events_pb2.ClaimGranted) -> OutboxRow:
        row = prepare(event)
        return dataclasses.replace(row, event_id=taken) if event.contractor_id == "ben" else row

    monkeypatch.setattr(matcher_deps.publisher, "prepare", colliding)
    ana, ben, cyd = [await contractor(matcher_deps, c, derm=90) for c in ("ana", "ben", "cyd")]
    splits = matcher_deps.metrics.batch_splits._value.get()
    results = await asyncio.gather(
        claim(matcher_deps, ana, tasks[1]),
        claim(matcher_deps, ben, tasks[2]),
        claim(matcher_deps, cyd, tasks[2]),
        return_exceptions=True,
    )

    assert matcher_deps.metrics.batch_splits._value.get() == splits + 1
    assert isinstance(results[0], Claim) and isinstance(results[2], Claim)
    assert isinstance(results[1], asyncpg.UniqueViolationError)
    holders = await matcher_deps.pool.fetch("SELECT contractor_id FROM claims")
    assert sorted(r["contractor_id"] for r in holders) == ["ana", "cyd", "first"]


async def test_two_replicas_batches_on_the_same_tasks_in_opposite_orders_never_deadlock(
    matcher_deps: Deps,
) -> None:
    """Replica A's batch claims t1 then t2, replica B's t2 then t1. Were each claim's locks
    taken as it is decided, A would hold t1 and wait for t2 while B held t2 and waited for
    t1: PostgreSQL would abort one batch (a split, after a second). Each batch takes all
    its locks first, in one order, so one simply waits for the other."""
    replica_b = Deps.build(
        pool=matcher_deps.pool, clock=matcher_deps.clock, settings=matcher_deps.settings
    )
    p = await project(matcher_deps)
    t1, t2 = await task(matcher_deps, p, slots=2), await task(matcher_deps, p, slots=2)
    for deps in (matcher_deps, replica_b):  # both know the tasks' terms: no lookups on the way
        for t in (t1, t2):
            await deps.claim_terms.expected(deps.pool, t)
    for c in ("c1", "c2", "c3", "c4"):
        await contractor(matcher_deps, c)

    async with matcher_deps.pool.acquire() as blocker, blocker.transaction():
        # c2 and c4 held: each batch stops at its second claim's contractor (without the
        # up-front locks: holding its first claim's task).
        await blocker.execute(
            "SELECT 1 FROM contractors WHERE contractor_id IN ('c2', 'c4') FOR UPDATE"
        )
        a = asyncio.gather(claim(matcher_deps, "c1", t1), claim(matcher_deps, "c2", t2))
        b = asyncio.gather(claim(replica_b, "c3", t2), claim(replica_b, "c4", t1))

        async def both_waiting() -> bool:
            await blocker.execute("SELECT pg_stat_clear_snapshot()")  # else one per transaction
            waiting = await blocker.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
            return bool(waiting == 2)

        await eventually(both_waiting)
    granted = [*await a, *await b]

    assert sorted(g.contractor_id for g in granted) == ["c1", "c2", "c3", "c4"]
    for deps in (matcher_deps, replica_b):
        assert batches(deps) == (1, 2)  # each replica's two claims went as one batch
        assert deps.metrics.batch_splits._value.get() == 0


async def test_offers_follow_eligibility_priority_and_age(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    p = await project(matcher_deps, requirements=DERM, priority=10)
    urgent = await project(matcher_deps, priority=90)
    older = await task(matcher_deps, p)
    clock.advance(timedelta(seconds=1))
    newer = await task(matcher_deps, p)
    first = await task(matcher_deps, urgent, priority=90)
    await contractor(matcher_deps, "ana", derm=90)
    await contractor(matcher_deps, "novice", derm=10)

    async def offered(who: str, size: int = 50) -> list[uuid.UUID]:
        query = commands.list_offers(contractor_id=who, page_size=size)
        page, _ = await offers.list_offers(query, matcher_deps)
        return [o.task_id for o in page]

    assert await offered("ana") == [first, older, newer]
    assert await offered("novice") == [first]
    page, cursor = await offers.list_offers(
        commands.list_offers(contractor_id="ana", page_size=2), matcher_deps
    )
    assert cursor is not None
    rest, end = await offers.list_offers(
        commands.list_offers(contractor_id="ana", page_size=2, page_token=cursor.token()),
        matcher_deps,
    )
    assert [o.task_id for o in page + rest] == [first, older, newer] and end is None

    await claim(matcher_deps, "ana", older)
    assert await offered("ana") == [first, newer]
    await set_derm(matcher_deps, "ana", 50)
    assert await offered("ana") == [first]


# --- the offer hub: live changes, delivered through PostgreSQL notifications ----------


@pytest.fixture
async def hub(matcher_deps: Deps) -> object:
    from crewline.health import WorkerHealth
    from crewline.metrics import Metrics

    metrics = Metrics.create("matcher_test")
    hub = OfferHub(
        pool=matcher_deps.pool,
        dsn=await _dsn(matcher_deps),
        clock=matcher_deps.clock,
        registry=metrics.registry,
        service="matcher_test",
        worker_health=WorkerHealth(metrics=metrics),
        buffer=8,
    )
    runner = asyncio.create_task(hub.run())
    await asyncio.wait_for(hub.listening.wait(), 10)
    yield hub
    hub.stop()
    await runner


async def _dsn(deps: Deps) -> str:
    async with deps.pool.acquire() as conn:
        params = conn._params  # type: ignore[attr-defined]
        addr = conn._addr  # type: ignore[attr-defined]
    return f"postgresql://{params.user}@{addr[0]}:{addr[1]}/{params.database}"


async def next_item(stream: Stream) -> object:
    return await asyncio.wait_for(stream.queue.get(), 10)


async def test_a_stream_gets_new_tasks_and_loses_them_when_filled_claimed_or_ineligible(
    matcher_deps: Deps, hub: OfferHub
) -> None:
    p = await project(matcher_deps, requirements=DERM)
    await contractor(matcher_deps, "ana", derm=90)
    await contractor(matcher_deps, "ben", derm=90)
    await contractor(matcher_deps, "novice", derm=10)
    ana, ben, novice = (hub.open(c, None) for c in ("ana", "ben", "novice"))
    for s in (ana, ben, novice):
        assert await hub.snapshot(s, 10) == []

    async def claim_here(who: str, task_id: uuid.UUID) -> None:
        """As the servicer does: claim, then tell this replica's hub."""
        cmd = commands.claim_task(
            request_id=uuid.uuid4().hex, contractor_id=who, task_id=str(task_id)
        )
        made = await claims.claim_task(cmd, matcher_deps)
        assert made.free_slots is not None
        hub.claimed(task_id, who, made.free_slots)

    t = await task(matcher_deps, p, slots=2)
    for s in (ana, ben):
        offer, _ = await next_item(s)
        assert offer.task_id == t and offer.terms == USD_25
    await claim_here("ana", t)
    assert await next_item(ana) == (t, WithdrawalReason.CLAIMED_BY_YOU)
    await claim_here("ben", t)
    assert await next_item(ben) == (t, WithdrawalReason.CLAIMED_BY_YOU)

    t2 = await task(matcher_deps, p)
    assert (await next_item(ana))[0].task_id == t2
    assert (await next_item(ben))[0].task_id == t2
    await set_derm(matcher_deps, "ben", 20)
    assert await next_item(ben) == (t2, WithdrawalReason.NOT_ELIGIBLE)
    await set_derm(matcher_deps, "ben", 85)
    assert (await next_item(ben))[0].task_id == t2
    # A claim through another replica reaches this one's streams by NOTIFY, which a
    # claim that fills its task sends, naming the claimer.
    await claim(matcher_deps, "ana", t2)
    assert await next_item(ana) == (t2, WithdrawalReason.CLAIMED_BY_YOU)
    assert await next_item(ben) == (t2, WithdrawalReason.FILLED)
    assert novice.queue.empty()  # never offered anything it may not claim
    for s in (ana, ben, novice):
        hub.close(s)


async def test_a_new_requirement_withdraws_and_a_slow_reader_is_told_to_resync(
    matcher_deps: Deps, hub: OfferHub
) -> None:
    p = await project(matcher_deps)
    await contractor(matcher_deps, "ana", derm=50)
    stream = hub.open("ana", None)
    t = await task(matcher_deps, p)
    assert [o.task_id for o in await hub.snapshot(stream, 10)] == [t]
    # The project now requires 80 in dermatology: ana no longer qualifies.
    await project(matcher_deps, project_id=p, requirements=DERM, revision=2)
    items = [await next_item(stream)]
    while items[-1] != (t, WithdrawalReason.NOT_ELIGIBLE):
        items.append(await next_item(stream))

    # A reader that never reads overflows its buffer of 8 and gets one Resync.
    await project(matcher_deps, project_id=p, revision=3)
    for _ in range(12):
        await task(matcher_deps, p)
    for _ in range(1000):  # 13 offers into a buffer of 8, nobody reading
        if stream.loading:
            break
        await asyncio.sleep(0.01)
    assert isinstance(await next_item(stream), ResyncNeeded)
    resynced = await hub.snapshot(stream, 100)
    assert len(resynced) == 13
    # On a busy machine some notices reach the stream only after the resync was read:
    # they repeat offers the snapshot already holds, nothing the reader lacks.
    while not stream.queue.empty():
        late, _ = stream.queue.get_nowait()
        assert late.task_id in {o.task_id for o in resynced}
    hub.close(stream)


async def test_a_project_priority_change_reorders_its_tasks_but_not_their_own(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    low = await project(matcher_deps, priority=10)
    high = await project(matcher_deps, priority=20)
    follows = await task(matcher_deps, low, priority=10)
    own = await task(matcher_deps, low, priority=5)
    await mark_own_priority(matcher_deps, own)
    other = await task(matcher_deps, high, priority=20)
    await contractor(matcher_deps, "ana")

    async def order() -> list[uuid.UUID]:
        page, _ = await offers.list_offers(
            commands.list_offers(contractor_id="ana", page_size=10), matcher_deps
        )
        return [o.task_id for o in page]

    assert await order() == [other, follows, own]
    await project(matcher_deps, project_id=low, priority=30, revision=2)
    assert await order() == [follows, other, own]


async def mark_own_priority(deps: Deps, task_id: uuid.UUID) -> None:
    """As TaskPublished.own_priority does for a task that set its own priority."""
    async with deps.pool.acquire() as conn:
        await conn.execute("UPDATE open_tasks SET own_priority = true WHERE task_id = $1", task_id)
