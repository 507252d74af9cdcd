"""An unpaid exam's questions in the matcher (TaskPublished.unpaid, with reserved_for):
their offers, on lists and streams, and their claims, granted, repeated, read, listed
and submitted, say unpaid and show no pay terms; the work earns nothing and a cut claim
is owed nothing, while the events to the dispatcher keep the project's terms. A paid
question beside it is unchanged. Through the matcher's handlers and offer hub, on a
real database and a fake clock."""

from __future__ import annotations

import uuid
from datetime import timedelta

from test_matcher_claims import (
    CTX,
    DERM,
    USD_25,
    contractor,
    hub,
    next_item,
    project,
    work_submitted,
)
from test_matcher_reserved_tasks import cancelled

from crewline.events import parse_envelope
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from crewline.protobuf import pay_terms_to_pb, timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from crewline.v1 import work_service_pb2 as api
from matcher.adapters import protobuf as pb
from matcher.adapters import repository as repo
from matcher.adapters.offer_hub import OfferHub
from matcher.deps import Deps
from matcher.domain import commands
from matcher.domain.claims import Claim
from matcher.domain.offers import Offer
from matcher.handlers import claims, offers

from stack import outbox_types

__all__ = ["hub"]  # the offer hub fixture, running on this test's database

HOURLY = PayTerms(basis=Basis.HOURLY, rate=Money("USD", 6000), max_paid_seconds=3600, version=1)


async def question(deps: Deps, project_id: str, *, unpaid: bool, to: str = "ana") -> uuid.UUID:
    """An exam's question as the dispatcher's TaskPublished brings it: reserved for its
    contractor, unpaid or not."""
    task_id = uuid.uuid4()
    event = events_pb2.TaskPublished(
        task_id=str(task_id),
        client_id="acme",
        project_id=project_id,
        slots=1,
        published_at=timestamp(deps.clock.now()),
        priority=10,
        payload_json='{"case": 3}',
        reserved_for=to,
        unpaid=unpaid,
    )
    async with deps.pool.acquire() as conn, conn.transaction():
        await claims.on_task_published(conn, event, CTX, deps=deps)
    deps.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]  # in order
    return task_id


def shows_no_pay(message: api.Offer | api.Claim) -> bool:
    return message.unpaid and not message.HasField("pay_terms")


def shows_pay(message: api.Offer | api.Claim, terms: PayTerms) -> bool:
    return not message.unpaid and message.pay_terms == pay_terms_to_pb(terms)


async def granted(deps: Deps, task_id: uuid.UUID, request: str) -> claims.Granted:
    cmd = commands.claim_task(request_id=request, contractor_id="ana", task_id=str(task_id))
    return await claims.claim_task(cmd, deps)


async def submit(deps: Deps, claim: Claim) -> Claim:
    cmd = commands.submit_work(claim_id=str(claim.claim_id), contractor_id="ana", result=b"4")
    return await claims.submit_work(cmd, deps)


async def test_an_unpaid_questions_offers_say_unpaid_and_show_no_pay_terms(
    matcher_deps: Deps, hub: OfferHub
) -> None:
    deps = matcher_deps
    p = await project(deps, requirements=DERM)
    await contractor(deps, "ana", derm=90)
    unpaid = await question(deps, p, unpaid=True)
    paid = await question(deps, p, unpaid=False)

    page, _ = await offers.list_offers(
        commands.list_offers(contractor_id="ana", page_size=10), deps
    )
    assert [(o.task_id, o.unpaid) for o in page] == [(unpaid, True), (paid, False)]
    free, priced = (pb.offer_to_pb(o) for o in page)
    assert shows_no_pay(free) and shows_pay(priced, USD_25)
    assert (free.title, free.free_slots) == (priced.title, priced.free_slots)

    stream = hub.open("ana", None)
    snapshot = await hub.snapshot(stream, 10)
    assert [shows_no_pay(pb.offer_to_pb(o)) for o in snapshot] == [True, False]
    live = await question(deps, p, unpaid=True)
    item = await next_item(stream)
    assert isinstance(item, tuple) and isinstance(item[0], Offer) and item[0].task_id == live
    change = pb.offer_change(item)  # as the stream sends it
    assert change.WhichOneof("change") == "offered" and shows_no_pay(change.offered)
    after = await question(deps, p, unpaid=False)
    item = await next_item(stream)
    assert isinstance(item, tuple) and isinstance(item[0], Offer) and item[0].task_id == after
    assert shows_pay(pb.offer_change(item).offered, USD_25)
    hub.close(stream)


async def test_an_unpaid_questions_claim_shows_no_pay_and_earns_nothing(
    matcher_deps: Deps,
) -> None:
    deps = matcher_deps
    p = await project(deps, requirements=DERM)
    await contractor(deps, "ana", derm=90)
    unpaid, paid = await question(deps, p, unpaid=True), await question(deps, p, unpaid=False)

    made = await granted(deps, unpaid, "r-unpaid")
    assert made.claim.unpaid and made.claim.terms == USD_25  # the terms it does not pay
    assert shows_no_pay(pb.claim_to_pb(made.claim, made.payload, made.instructions))
    again = await granted(deps, unpaid, "r-unpaid")  # a repeat reads it from the database
    assert again.claim == made.claim and shows_no_pay(pb.claim_to_pb(again.claim))
    priced = await granted(deps, paid, "r-paid")
    assert not priced.claim.unpaid and shows_pay(pb.claim_to_pb(priced.claim), USD_25)

    got, _payload, _ = await claims.get_claim(
        commands.claim_ref(claim_id=str(made.claim.claim_id), contractor_id="ana"), deps
    )
    assert got.unpaid and shows_no_pay(pb.claim_to_pb(got))

    done = await submit(deps, made.claim)
    assert done.earned == Money("USD", 0)
    shown = pb.claim_to_pb(done)
    assert shows_no_pay(shown) and not shown.HasField("earned")
    paid_done = await submit(deps, priced.claim)
    assert paid_done.earned == Money("USD", 2500)
    assert pb.claim_to_pb(paid_done).earned.amount_minor == 2500

    mine, _ = await claims.list_my_claims(
        commands.list_claims(contractor_id="ana", page_size=10), deps
    )
    assert {c.task_id: c.unpaid for c in mine} == {unpaid: True, paid: False}
    assert {c.task_id: shows_no_pay(pb.claim_to_pb(c)) for c in mine} == {
        unpaid: True,
        paid: False,
    }

    # The dispatcher hears the project's terms with both, and a zero reward for the
    # unpaid work (it records it unpaid by its own note of the question).
    work = {uuid.UUID(w.task_id): w for w in await work_submitted(deps)}
    assert work[unpaid].reward.amount_minor == 0 and work[unpaid].reward.currency_code == "USD"
    assert work[paid].reward.amount_minor == 2500
    assert work[unpaid].pay_terms == work[paid].pay_terms == pay_terms_to_pb(USD_25)


async def test_the_batch_path_reads_each_claims_task_as_unpaid_or_not(
    matcher_deps: Deps,
) -> None:
    deps = matcher_deps
    p = await project(deps, requirements=DERM)
    await contractor(deps, "ana", derm=90)
    unpaid, paid = await question(deps, p, unpaid=True), await question(deps, p, unpaid=False)
    requests = [
        repo.ClaimRequest(
            claim_id=uuid.uuid4(),
            task_id=task_id,
            contractor_id="ana",
            request_id=uuid.uuid4().hex,
            now=deps.clock.now(),
            expected=None,
            proposed=None,
            event=None,
        )
        for task_id in (paid, unpaid, paid)
    ]
    async with deps.pool.acquire() as conn, conn.transaction():
        rows = await repo.claim_many(conn, requests)
        one = await repo.claim(conn, requests[1])
    assert [r["unpaid"] for r in rows] == [False, True, False]
    assert one["unpaid"] is True


async def test_a_cut_unpaid_hourly_claim_is_owed_nothing_and_a_paid_one_its_time(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    """Hourly terms track time on an unpaid question as on any (heartbeats, the lease),
    but a claim its client cut short is settled only when the work is paid."""
    deps = matcher_deps
    p = await project(deps, terms=HOURLY, claim_timeout=3600)
    await contractor(deps, "ana")
    unpaid, paid = await question(deps, p, unpaid=True), await question(deps, p, unpaid=False)
    held = [(await granted(deps, t, uuid.uuid4().hex)).claim for t in (unpaid, paid)]
    assert held[0].max_deadline_at == held[1].max_deadline_at  # the same lease
    clock.advance(timedelta(minutes=20))
    for c in held:
        beat = await claims.heartbeat_claim(
            commands.heartbeat_claim(
                claim_id=str(c.claim_id), contractor_id="ana", worked_seconds=600
            ),
            deps,
        )
        assert beat.worked_seconds == 600
    await cancelled(deps, unpaid)
    await cancelled(deps, paid)
    ended = [
        await claims.release_claim(
            commands.claim_ref(claim_id=str(c.claim_id), contractor_id="ana"), deps
        )
        for c in held
    ]
    assert ended[0].settlement is None and ended[1].settlement == Money("USD", 1000)
    assert (await outbox_types(deps.pool)).count("crewline.v1.ClaimSettled") == 1
    assert [s.claim_id for s in await settlements(deps)] == [str(held[1].claim_id)]


async def settlements(deps: Deps) -> list[events_pb2.ClaimSettled]:
    found = []
    for row in await deps.pool.fetch("SELECT envelope FROM outbox ORDER BY id"):
        envelope = parse_envelope(row["envelope"])
        if envelope.type == events_pb2.ClaimSettled.DESCRIPTOR.full_name:
            event = events_pb2.ClaimSettled()
            envelope.payload.Unpack(event)
            found.append(event)
    return found
