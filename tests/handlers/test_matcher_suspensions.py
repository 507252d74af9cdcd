"""Quality suspensions in the matcher, on a real database: SanctionChanged(SUSPEND)
delivered through the matcher's routes blocks the contractor in the sanction's project
exactly as an operator's block does (ClaimTask refused alike, offers gone from lists
and live streams, claims already granted running on), until the sanction ends or is
lifted; the highest version wins; operators' blocks and sanctions' blocks leave each
other alone; other actions change nothing here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from test_matcher_claims import claim, contractor, hub, next_item, project, refused, task
from test_matcher_qualifications import published

from crewline.consumer import EventContext
from crewline.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from crewline.events import CONTRACTORS_TOPIC, QUALITY_TOPIC
from crewline.protobuf import timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from matcher.adapters.offer_hub import OfferHub, Stream
from matcher.deps import Deps
from matcher.domain import blocks, commands
from matcher.domain.offers import Offer, WithdrawalReason
from matcher.handlers import blocks as block_handlers
from matcher.handlers import claims, event_routes, offers

from stack import outbox_types

__all__ = ["hub"]  # the offer hub fixture, running on this test's database

CTX = EventContext("e", "c", "quality", QUALITY_TOPIC, 0, 0)
ACTIVE = quality_api.SANCTION_STATE_ACTIVE
ENDED = quality_api.SANCTION_STATE_ENDED
LIFTED = quality_api.SANCTION_STATE_LIFTED
SUSPEND = quality_api.RULE_ACTION_SUSPEND
WEEK = timedelta(days=7)


def sanction(
    sanction_id: str,
    project_id: str,
    state: quality_api.SanctionState.ValueType,
    version: int,
    *,
    who: str = "ana",
    action: quality_api.RuleAction.ValueType = SUSPEND,
    imposed_at: datetime | None = None,
) -> events_pb2.SanctionChanged:
    """As the quality service publishes it: the whole sanction, without evidence."""
    imposed = imposed_at or datetime(2030, 1, 6, 9, 30, tzinfo=UTC)
    s = quality_api.Sanction(
        sanction_id=sanction_id,
        contractor_id=who,
        project_id=project_id,
        client_id="acme",
        rule=quality_api.QualityRule(rule_id="gold-floor", below=70, action=action),
        action=action,
        measured_value=55,
        sample=10,
        state=state,
        imposed_at=timestamp(imposed),
    )
    if action != quality_api.RULE_ACTION_NOTIFY:
        s.ends_at.CopyFrom(timestamp(imposed + WEEK))
    if state != ACTIVE:
        s.ended_at.CopyFrom(timestamp(imposed + WEEK if state == ENDED else imposed))
    return events_pb2.SanctionChanged(sanction=s, version=version)


async def deliver(deps: Deps, event: events_pb2.SanctionChanged) -> None:
    """As the consumer applies it, through the matcher's routes, in its own transaction."""
    async with deps.pool.acquire() as conn, conn.transaction():
        await event_routes(deps)[events_pb2.SanctionChanged](conn, event, CTX)


async def offered(deps: Deps, who: str = "ana") -> set[uuid.UUID]:
    page, _ = await offers.list_offers(commands.list_offers(contractor_id=who, page_size=100), deps)
    return {o.task_id for o in page}


async def block_events(deps: Deps, who: str = "ana") -> list[tuple[str, bool]]:
    """(block id, in force) of each BlockChanged of the contractor's, in order."""
    found = []
    for topic, key, event in await published(deps, events_pb2.BlockChanged):
        assert isinstance(event, events_pb2.BlockChanged) and topic == CONTRACTORS_TOPIC
        if key == who:
            found.append((event.block.block_id, not event.block.HasField("lifted_at")))
    return found


async def next_offer(stream: Stream) -> Offer:
    item = await next_item(stream)
    assert isinstance(item, tuple) and isinstance(item[0], Offer), item
    return item[0]


async def operator_block(deps: Deps, block_id: str, who: str, project_id: str) -> blocks.Block:
    cmd = blocks.block_contractor(
        block_id=block_id, contractor_id=who, project_id=project_id, reason="conflict"
    )
    return await block_handlers.block_contractor(cmd, deps)


@pytest.mark.parametrize("end", [ENDED, LIFTED], ids=["ended", "lifted"])
async def test_a_suspension_blocks_its_project_alone_until_it_ends(
    matcher_deps: Deps, clock: FakeClock, end: quality_api.SanctionState.ValueType
) -> None:
    deps = matcher_deps
    p, other = await project(deps), await project(deps)
    await contractor(deps, "ana")
    await contractor(deps, "ben")
    await operator_block(deps, "ops-1", "ben", p)  # ben: blocked by an operator, to compare
    t, elsewhere = await task(deps, p, slots=3), await task(deps, other, slots=3)
    assert await offered(deps) == {t, elsewhere}

    sid = str(uuid.uuid4())
    imposed = clock.now()
    await deliver(deps, sanction(sid, p, ACTIVE, 1, imposed_at=imposed))
    suspended, operators = await refused(deps, "ana", t), await refused(deps, "ben", t)
    assert isinstance(suspended, PermissionDenied) and suspended.reason == "BLOCKED"
    assert (type(suspended), suspended.message) == (type(operators), operators.message)
    assert await offered(deps) == {elsewhere}
    assert (await claim(deps, "ana", elsewhere)).task_id == elsewhere  # another project: as before

    [held] = await block_handlers.list_blocks("ana", deps)  # ListBlocks shows it
    until = (imposed + WEEK).isoformat()
    assert (held.block_id, held.project_id, held.in_force) == (f"sanction:{sid}", p, True)
    assert held.reason == f"suspended by quality rule gold-floor until {until}"
    assert held.blocked_at == clock.now()

    clock.advance(timedelta(hours=2))
    await deliver(deps, sanction(sid, p, end, 2, imposed_at=imposed))
    assert await offered(deps) == {t}  # elsewhere is claimed already
    assert (await claim(deps, "ana", t)).task_id == t
    [lifted] = await block_handlers.list_blocks("ana", deps)
    assert (lifted.block_id, lifted.lifted_at) == (f"sanction:{sid}", clock.now())
    # Published as an operator's block is: the contractors topic keeps every block.
    assert await block_events(deps) == [(f"sanction:{sid}", True), (f"sanction:{sid}", False)]
    assert await block_events(deps, "ben") == [("ops-1", True)]  # untouched


async def test_a_live_stream_loses_the_offer_and_a_live_claim_runs_on(
    matcher_deps: Deps, hub: OfferHub
) -> None:
    deps = matcher_deps
    p = await project(deps)
    await contractor(deps, "ana")
    held_task = await task(deps, p)
    held = await claim(deps, "ana", held_task)
    stream = hub.open("ana", None)
    assert await hub.snapshot(stream, 10) == []
    t = await task(deps, p)
    assert (await next_offer(stream)).task_id == t

    sid = str(uuid.uuid4())
    await deliver(deps, sanction(sid, p, ACTIVE, 1))
    assert await next_item(stream) == (t, WithdrawalReason.NOT_ELIGIBLE)
    # Work in progress is not taken away: the claim granted before is submitted.
    done = await claims.submit_work(
        commands.submit_work(claim_id=str(held.claim_id), contractor_id="ana", result=b"4"),
        deps,
    )
    assert done.claim_id == held.claim_id
    assert "crewline.v1.WorkSubmitted" in await outbox_types(deps.pool)

    await deliver(deps, sanction(sid, p, LIFTED, 2))
    assert (await next_offer(stream)).task_id == t
    hub.close(stream)


async def test_the_highest_version_wins_and_a_redelivery_changes_nothing(
    matcher_deps: Deps,
) -> None:
    deps = matcher_deps
    p = await project(deps)
    await contractor(deps, "ana")
    t = await task(deps, p, slots=3)
    sid = str(uuid.uuid4())

    await deliver(deps, sanction(sid, p, ACTIVE, 1))
    await deliver(deps, sanction(sid, p, ACTIVE, 1))  # redelivered
    assert (await refused(deps, "ana", t)).reason == "BLOCKED"
    await deliver(deps, sanction(sid, p, ENDED, 2))
    await deliver(deps, sanction(sid, p, ENDED, 2))  # redelivered
    await deliver(deps, sanction(sid, p, ACTIVE, 1))  # older, late
    assert await offered(deps) == {t}
    assert await block_events(deps) == [(f"sanction:{sid}", True), (f"sanction:{sid}", False)]
    assert await deps.pool.fetchval("SELECT version FROM suspensions") == 2

    # The end arriving before the imposition: the imposition is older, and never blocks.
    late = str(uuid.uuid4())
    await deliver(deps, sanction(late, p, LIFTED, 2))
    await deliver(deps, sanction(late, p, ACTIVE, 1))
    assert await offered(deps) == {t}
    assert [b.block_id for b in await block_handlers.list_blocks("ana", deps)] == [
        f"sanction:{sid}"
    ]
    assert (await claim(deps, "ana", t)).task_id == t


@pytest.mark.parametrize(
    "action",
    [quality_api.RULE_ACTION_REVIEW_ALL, quality_api.RULE_ACTION_NOTIFY],
    ids=["review_all", "notify"],
)
async def test_other_actions_change_nothing_here(
    matcher_deps: Deps, action: quality_api.RuleAction.ValueType
) -> None:
    deps = matcher_deps
    p = await project(deps)
    await contractor(deps, "ana")
    t = await task(deps, p)
    sid = str(uuid.uuid4())
    state = ENDED if action == quality_api.RULE_ACTION_NOTIFY else ACTIVE
    await deliver(deps, sanction(sid, p, state, 1, action=action))
    assert await offered(deps) == {t}
    assert await block_handlers.list_blocks("ana", deps) == []
    assert await outbox_types(deps.pool) == []
    assert await deps.pool.fetchval("SELECT count(*) FROM suspensions") == 0
    assert (await claim(deps, "ana", t)).task_id == t


async def test_operators_blocks_and_sanctions_blocks_leave_each_other_alone(
    matcher_deps: Deps,
) -> None:
    deps = matcher_deps
    p = await project(deps)
    await contractor(deps, "ana")
    t = await task(deps, p)
    sid = str(uuid.uuid4())
    await operator_block(deps, "ops-1", "ana", p)
    await deliver(deps, sanction(sid, p, ACTIVE, 1))

    # An operator can neither lift a sanction's block nor take its id.
    with pytest.raises(FailedPrecondition) as caught:
        await block_handlers.lift_block(f"sanction:{sid}", deps)
    assert caught.value.reason == "SANCTION_BLOCK"
    with pytest.raises(InvalidArgument) as taken:
        await operator_block(deps, f"sanction:{sid}", "ana", p)
    assert taken.value.field == "block_id"

    await deliver(deps, sanction(sid, p, ENDED, 2))  # the operator's block holds on
    assert (await refused(deps, "ana", t)).reason == "BLOCKED"
    assert [(b.block_id, b.in_force) for b in await block_handlers.list_blocks("ana", deps)] == [
        ("ops-1", True),
        (f"sanction:{sid}", False),
    ]
    await block_handlers.lift_block("ops-1", deps)
    assert (await claim(deps, "ana", t)).task_id == t

    # And the other way: lifting an operator's block leaves a sanction's in force.
    again = str(uuid.uuid4())
    await deliver(deps, sanction(again, p, ACTIVE, 1))
    await operator_block(deps, "ops-2", "ana", p)
    await block_handlers.lift_block("ops-2", deps)
    assert (await refused(deps, "ana", await task(deps, p))).reason == "BLOCKED"


async def test_a_suspension_of_an_unknown_contractor_or_without_an_end_is_refused(
    matcher_deps: Deps,
) -> None:
    deps = matcher_deps
    p = await project(deps)
    await contractor(deps, "ana")
    with pytest.raises(NotFound):  # dead-lettered: replayed once the contractor is here
        await deliver(deps, sanction(str(uuid.uuid4()), p, ACTIVE, 1, who="ghost"))
    endless = sanction(str(uuid.uuid4()), p, ACTIVE, 1)
    endless.sanction.ClearField("ends_at")
    with pytest.raises(InvalidArgument) as caught:
        await deliver(deps, endless)
    assert caught.value.field == "sanction.ends_at"
    assert await deps.pool.fetchval("SELECT count(*) FROM suspensions") == 0
    assert await outbox_types(deps.pool) == []
