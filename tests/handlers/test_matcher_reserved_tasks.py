"""Reserved (gold) tasks in the matcher: offered to their contractor alone, on lists and
streams, as any offer; to anyone else they do not exist, in ClaimTask as in the batch
path. Through the matcher's handlers and offer hub, on a real database and a fake clock."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from test_matcher_claims import CTX, DERM, claim, contractor, hub, next_item, project

from crewline.errors import AlreadyExists, DomainError, FailedPrecondition, NotFound
from crewline.protobuf import timestamp
from crewline.v1 import events_pb2
from matcher.adapters import protobuf as pb
from matcher.adapters import repository as repo
from matcher.adapters.offer_hub import OfferHub, Stream
from matcher.deps import Deps
from matcher.domain import commands
from matcher.domain.claims import Claim
from matcher.domain.offers import Offer
from matcher.domain.statuses import ClaimStatus
from matcher.handlers import claims, offers

from stack import outbox_types

__all__ = ["hub"]  # the offer hub fixture, running on this test's database


async def published(
    deps: Deps, project_id: str, *, reserved_for: str = "", slots: int = 3
) -> uuid.UUID:
    """A task as the dispatcher's TaskPublished brings it (a gold one: reserved_for)."""
    task_id = uuid.uuid4()
    event = events_pb2.TaskPublished(
        task_id=str(task_id),
        client_id="acme",
        project_id=project_id,
        slots=slots,
        published_at=timestamp(deps.clock.now()),
        priority=10,
        payload_json='{"case": 17}',
        reserved_for=reserved_for,
    )
    async with deps.pool.acquire() as conn, conn.transaction():
        await claims.on_task_published(conn, event, CTX, deps=deps)
    deps.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]  # in publishing order
    return task_id


async def cancelled(deps: Deps, task_id: uuid.UUID, *, revision: int = 1) -> None:
    """The dispatcher's TaskChanged(CANCELLED): a client's cancel, or a reserved task's
    end once its contractor's claim ended."""
    event = events_pb2.TaskChanged(
        task_id=str(task_id),
        client_id="acme",
        lifecycle=events_pb2.TASK_LIFECYCLE_CANCELLED,
        slots=3,
        revision=revision,
        changed_at=timestamp(deps.clock.now()),
    )
    async with deps.pool.acquire() as conn, conn.transaction():
        await claims.on_task_changed(conn, event, CTX, deps=deps)


async def offered(deps: Deps, who: str) -> list[uuid.UUID]:
    page, _ = await offers.list_offers(commands.list_offers(contractor_id=who, page_size=50), deps)
    return [o.task_id for o in page]


async def refusal(deps: Deps, who: str, task_id: uuid.UUID) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await claim(deps, who, task_id)
    return caught.value


async def next_offer(stream: Stream) -> Offer:
    item = await next_item(stream)
    assert isinstance(item, tuple) and isinstance(item[0], Offer), item
    return item[0]


def shape(error: DomainError, task_id: uuid.UUID) -> tuple[object, ...]:
    """All a caller gets of a refusal, with the task id it names taken out."""
    message = error.message.replace(str(task_id), "<task>")
    return type(error), error.code, error.reason, message, error.metadata


async def submit(deps: Deps, who: str, granted: Claim) -> Claim:
    cmd = commands.submit_work(
        claim_id=str(granted.claim_id), contractor_id=who, result=b'{"rating": 4}'
    )
    return await claims.submit_work(cmd, deps)


async def test_a_reserved_task_is_offered_to_its_contractor_only_as_any_offer(
    matcher_deps: Deps,
) -> None:
    deps = matcher_deps
    p = await project(deps, requirements=DERM)
    for who, derm in (("ana", 90), ("ben", 90), ("novice", 10)):
        await contractor(deps, who, derm=derm)
    ordinary = await published(deps, p)
    gold = await published(deps, p, reserved_for="ana")
    unqualified = await published(deps, p, reserved_for="novice")

    assert await offered(deps, "ana") == [ordinary, gold]
    assert await offered(deps, "ben") == [ordinary]
    assert await offered(deps, "novice") == []  # reserved, but not eligible: as any task
    assert unqualified not in await offered(deps, "ana")

    page, _ = await offers.list_offers(
        commands.list_offers(contractor_id="ana", page_size=50), deps
    )
    plain, reserved = (pb.offer_to_pb(o) for o in page)
    assert [f.name for f, _ in reserved.ListFields()] == [f.name for f, _ in plain.ListFields()]
    assert reserved.free_slots == plain.free_slots == 3
    assert (reserved.priority, reserved.title) == (plain.priority, plain.title)


async def test_a_reserved_task_reaches_its_contractors_stream_only(
    matcher_deps: Deps, hub: OfferHub
) -> None:
    deps = matcher_deps
    p = await project(deps, requirements=DERM)
    await contractor(deps, "ana", derm=90)
    await contractor(deps, "ben", derm=90)
    before = await published(deps, p, reserved_for="ana")
    ana, ben = hub.open("ana", None), hub.open("ben", None)
    assert [o.task_id for o in await hub.snapshot(ana, 10)] == [before]
    assert await hub.snapshot(ben, 10) == []

    live = await published(deps, p, reserved_for="ana")
    offer = await next_offer(ana)
    assert offer.task_id == live and offer.free_slots == 3
    ordinary = await published(deps, p)
    # Ben's next item is the ordinary task: the reserved one never reached his stream.
    assert (await next_offer(ben)).task_id == ordinary
    assert (await next_offer(ana)).task_id == ordinary
    await asyncio.sleep(0.2)  # any stray notice would have arrived by now
    assert ben.queue.empty() and ana.queue.empty()
    # A stream read again (a resync) holds what a snapshot holds.
    assert {o.task_id for o in await hub.snapshot(ben, 10)} == {ordinary}
    assert {o.task_id for o in await hub.snapshot(ana, 10)} == {before, live, ordinary}
    hub.close(ana)
    hub.close(ben)


async def test_anyone_else_claiming_a_reserved_task_is_told_what_an_unknown_task_gets(
    matcher_deps: Deps,
) -> None:
    deps = matcher_deps
    p = await project(deps, requirements=DERM)
    await contractor(deps, "ana", derm=90)
    await contractor(deps, "ben", derm=90)
    gold = await published(deps, p, reserved_for="ana")
    unknown = uuid.uuid4()

    refused = await refusal(deps, "ben", gold)
    never = await refusal(deps, "ben", unknown)
    assert isinstance(refused, NotFound)
    assert shape(refused, gold) == shape(never, unknown)
    # Asked again (the project's terms now cached), the answer is the same.
    assert shape(await refusal(deps, "ben", gold), gold) == shape(never, unknown)

    # The batch path (claim_tasks()): the same NOT_FOUND for ben, while ana's claim
    # on it gets as far as any visible task's (STALE: no expected terms were sent).
    requests = [
        repo.ClaimRequest(
            claim_id=uuid.uuid4(),
            task_id=task_id,
            contractor_id=who,
            request_id=uuid.uuid4().hex,
            now=deps.clock.now(),
            expected=None,
            proposed=None,
            event=None,
        )
        for who, task_id in (("ben", gold), ("ben", unknown), ("ana", gold))
    ]
    async with deps.pool.acquire() as conn, conn.transaction():
        rows = await repo.claim_many(conn, requests)
    assert [r["outcome"] for r in rows] == ["NOT_FOUND", "NOT_FOUND", "STALE"]
    assert rows[0]["project_id"] is None and rows[0]["free_slots"] is None


async def test_the_reserved_contractor_claims_and_submits_as_for_any_task(
    matcher_deps: Deps,
) -> None:
    deps = matcher_deps
    p = await project(deps, requirements=DERM)
    await contractor(deps, "ana", derm=90)
    gold = await published(deps, p, reserved_for="ana")
    ordinary = await published(deps, p)

    def names(message: object) -> set[str]:
        return {f.name for f, _ in message.ListFields()}  # type: ignore[attr-defined]

    made = []
    for task_id in (gold, ordinary):
        cmd = commands.claim_task(
            request_id=uuid.uuid4().hex, contractor_id="ana", task_id=str(task_id)
        )
        made.append(await claims.claim_task(cmd, deps))
    assert [m.free_slots for m in made] == [2, 2]
    assert made[0].claim.status is ClaimStatus.ACTIVE and made[0].payload.json == '{"case": 17}'
    granted = [pb.claim_to_pb(m.claim, m.payload, m.instructions) for m in made]
    assert names(granted[0]) == names(granted[1])

    done = [await submit(deps, "ana", m.claim) for m in made]
    assert [d.status for d in done] == [ClaimStatus.SUBMITTED] * 2
    assert names(pb.claim_to_pb(done[0])) == names(pb.claim_to_pb(done[1]))
    assert (await outbox_types(deps.pool)).count("crewline.v1.WorkSubmitted") == 2
    mine, _ = await claims.list_my_claims(
        commands.list_claims(contractor_id="ana", page_size=10), deps
    )
    assert {c.task_id for c in mine} == {gold, ordinary}
    assert names(pb.claim_to_pb(mine[0])) == names(pb.claim_to_pb(mine[1]))


async def test_a_reserved_task_ended_by_its_claim_reads_to_them_as_any_task_they_claimed(
    matcher_deps: Deps,
) -> None:
    """Once the dispatcher ends the task (its contractor's claim ended), claiming it again
    answers ALREADY_CLAIMED, as an open task they claimed does, not TASK_CLOSED. A task
    its client cancelled is closed to them, reserved or not."""
    deps = matcher_deps
    p = await project(deps, requirements=DERM)
    await contractor(deps, "ana", derm=90)
    gold = await published(deps, p, reserved_for="ana")
    ordinary = await published(deps, p)
    await submit(deps, "ana", await claim(deps, "ana", gold))
    await submit(deps, "ana", await claim(deps, "ana", ordinary))
    await cancelled(deps, gold)

    again, like = await refusal(deps, "ana", gold), await refusal(deps, "ana", ordinary)
    assert isinstance(again, AlreadyExists) and again.reason == "ALREADY_CLAIMED"
    assert shape(again, gold) == shape(like, ordinary)
    async with deps.pool.acquire() as conn:
        assert await repo.ended_with_its_claim(conn, gold)
        assert not await repo.ended_with_its_claim(conn, ordinary)
    assert await offered(deps, "ana") == []

    # Cancelled by its client while the claim was live: closed, as any cancelled task.
    cut = await published(deps, p, reserved_for="ana")
    await claim(deps, "ana", cut)
    await cancelled(deps, cut)
    closed = await refusal(deps, "ana", cut)
    assert isinstance(closed, FailedPrecondition) and closed.reason == "TASK_CLOSED"
