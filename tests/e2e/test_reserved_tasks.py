"""Reserved (gold) tasks on the real stack. A GoldIssued goes onto crewline.quality.v1
as the quality service's outbox would send it (the kernel's envelope, topic and key):
the dispatcher publishes the task reserved for one contractor, whose live StreamOffers
gets it as any offer; another contractor's stream never does and ClaimTask answers them
what an unknown task id gets; the client sees reserved_for; the work is accepted and
paid as any, and the task ends with the claim."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from test_score_routing import LiveOffers  # one StreamOffers call, read as it comes

from crewline.client import build
from crewline.client.errors import error_reason
from crewline.events import CORRELATION_HEADER, QUALITY_TOPIC
from crewline.kafka import make_producer
from crewline.publisher import Publisher, Route
from crewline.v1 import events_pb2
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import as_client, as_contractor, client_sdk, contractor_sdk, unique
from harness import Stack
from stack import eventually

WAIT = 60.0  # bounds a broken run only: no speed is asserted here

# What the quality service declares for GoldIssued: its topic, keyed by contractor.
QUALITY = Publisher(
    producer="quality",
    routes={events_pb2.GoldIssued: Route(QUALITY_TOPIC, key=lambda e: e.contractor_id)},
)


@pytest.fixture
async def streams() -> AsyncIterator[list[LiveOffers]]:
    opened: list[LiveOffers] = []
    yield opened
    for s in opened:
        await s.close()


async def issue_gold(stack: Stack, event: events_pb2.GoldIssued) -> None:
    """Send the event as the quality service's outbox relay sends a row."""
    row = QUALITY.prepare(event)
    producer = make_producer(stack.kafka, client_id=unique("quality-test"))
    await producer.start()
    try:
        await producer.send_and_wait(
            stack.kafka.topic(row.topic),
            value=row.envelope,
            key=row.key,
            headers=[(CORRELATION_HEADER, row.correlation_id.encode())],
        )
    finally:
        await producer.stop()


def about(items: list[tuple[str, Any]], *task_ids: str) -> list[tuple[str, Any]]:
    """The stream items about these tasks."""
    return [(k, i) for k, i in items if getattr(i, "task_id", "") in task_ids]


async def stream_of(stack: Stack, contractor: str, streams: list[LiveOffers]) -> LiveOffers:
    call = stack.work.StreamOffers(
        work_api.StreamOffersRequest(), metadata=await as_contractor(stack, contractor)
    )
    live = LiveOffers(call)
    streams.append(live)
    await live.until("snapshot_end")
    return live


async def claim_refused(stack: Stack, contractor: str, task_id: str) -> tuple[object, ...]:
    """All a contractor is told of a refused claim, with the task id taken out."""
    try:
        await stack.work.ClaimTask(
            work_api.ClaimTaskRequest(request_id=unique("c"), task_id=task_id),
            metadata=await as_contractor(stack, contractor),
        )
    except grpc.aio.AioRpcError as err:
        details = (err.details() or "").replace(task_id, "<task>")
        return err.code(), details, error_reason(err)
    raise AssertionError(f"{contractor} claimed {task_id}")


def field_names(message: object) -> set[str]:
    return {f.name for f, _ in message.ListFields()}  # type: ignore[attr-defined]


async def test_a_gold_task_reaches_its_contractor_only_and_is_paid_as_any(
    stack: Stack, streams: list[LiveOffers]
) -> None:
    client_id, ann, bob = unique("gold-client"), unique("gold-ann"), unique("gold-bob")
    client = await client_sdk(stack, client_id)
    worker = await contractor_sdk(stack, ann)
    await contractor_sdk(stack, bob)
    project = await client.create_project(
        title="Gold in the pool",
        instructions="Rate the answer from 1 to 5.",
        pay_terms=build.per_submission(build.usd(300)),
        assignments_per_task=2,
        auto_accept_delay_seconds=86_400,  # reviewed by the client, not the clock
    )
    project_id = project.project_id
    ann_live, bob_live = await stream_of(stack, ann, streams), await stream_of(stack, bob, streams)

    gold_id = str(uuid.uuid4())
    await issue_gold(
        stack,
        events_pb2.GoldIssued(
            task_id=gold_id,
            project_id=project_id,
            client_id=client_id,
            contractor_id=ann,
            payload_json='{"case": 17}',
        ),
    )
    gold_offer, _ = await ann_live.until("offered", gold_id)
    (ordinary,) = await client.submit_tasks(project_id, [build.task({"case": 18})])
    plain_offer, before = await ann_live.until("offered", ordinary.task_id)
    assert about(before, gold_id, ordinary.task_id) == []
    # Bob's stream gets the ordinary task, and nothing of the project before it: never
    # the gold one. (Other tests' tasks may come and go on these unfiltered streams: a
    # lease of theirs that lapses offers its slot again.)
    bob_plain, bob_before = await bob_live.until("offered", ordinary.task_id)
    assert about(bob_before, gold_id, ordinary.task_id) == []
    assert bob_plain.task_id == ordinary.task_id
    bob_offers = [o.task_id async for o in (await contractor_sdk(stack, bob)).offers()]
    assert gold_id not in bob_offers and ordinary.task_id in bob_offers

    # The gold offer is any offer: the same fields, the project's slots free.
    assert field_names(gold_offer) == field_names(plain_offer)
    assert gold_offer.free_slots == plain_offer.free_slots == 2
    assert (gold_offer.priority, gold_offer.title) == (plain_offer.priority, plain_offer.title)

    # Bob claiming it is told what a task id never published gets.
    refused = await claim_refused(stack, bob, gold_id)
    assert refused == await claim_refused(stack, bob, str(uuid.uuid4()))
    assert refused[0] == grpc.StatusCode.NOT_FOUND

    # The client sees its gold task, and whom it is reserved for.
    seen = await stack.tasks.GetTask(
        task_api.GetTaskRequest(task_id=gold_id), metadata=await as_client(stack, client_id)
    )
    assert (seen.task.reserved_for, seen.task.idempotency_key) == (ann, f"gold/{gold_id}")
    assert (seen.task.slots, seen.task.payload_json) == (2, '{"case": 17}')
    assert seen.task.status == task_api.TASK_STATUS_OPEN

    claim = await worker.claim(gold_id)
    assert claim.raw.payload_json == '{"case": 17}'
    withdrawn, _ = await ann_live.until("withdrawn", gold_id)
    assert withdrawn.reason == work_api.WITHDRAWAL_REASON_CLAIMED_BY_YOU
    await worker.submit(claim.claim_id, "4")

    async def ended() -> bool:
        task = (await client.get_task(gold_id)).raw.task
        return task.status == task_api.TASK_STATUS_CANCELLED and task.submitted_count == 1

    await eventually(ended, timeout=WAIT)
    details = await client.get_task(gold_id)
    (submission,) = details.submissions
    await client.accept(submission.submission_id)

    async def paid() -> bool:
        entries = [e async for e in worker.statement()]
        return any(e.source == f"submission:{claim.claim_id}" for e in entries)

    await eventually(paid, timeout=WAIT)
    (entry,) = [e async for e in worker.statement() if e.source == f"submission:{claim.claim_id}"]
    assert entry.amount is not None and entry.amount.minor == 300
    assert await claim_refused(stack, bob, gold_id) == refused
    assert gold_id not in [o.task_id async for o in worker.offers()]
