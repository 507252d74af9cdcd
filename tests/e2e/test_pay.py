"""Review and pay on the real stack (issue 8): every review path, every posting kind,
the books verified after each, and pay exactly once under kill -9.

The platform fee is the ledger's default, 20 %: a client pays earned + ceil(earned / 5).
"""

from __future__ import annotations

import asyncio
import random
import signal
import uuid
from datetime import UTC, datetime, timedelta

import grpc
from aiokafka import AIOKafkaProducer
from google.protobuf import field_mask_pb2

from crewline.client.errors import error_reason
from crewline.events import TASKS_TOPIC, wrap
from crewline.v1 import claim_pb2, events_pb2, ledger_service_pb2, money_pb2, project_pb2
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import (
    as_client,
    as_contractor,
    as_operator,
    balance,
    claim,
    hourly,
    new_project,
    refused,
    tasks_in,
    unique,
    verified,
    wait_balance,
    wait_offered,
)
from harness import Stack
from stack import eventually

FEE_DIVISOR = 5  # 20 %


def charged(earned: int) -> int:
    """What the client pays for ``earned``: the work plus the platform fee, rounded up."""
    return earned + -(-earned // FEE_DIVISOR)


def usd(minor: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="USD", amount_minor=minor)


async def hand_in(
    stack: Stack, contractor: str, claim_id: str, *, worked: int = 0
) -> work_api.Claim:
    reply = await stack.work.SubmitWork(
        work_api.SubmitWorkRequest(claim_id=claim_id, result=b"4/5", worked_seconds=worked),
        metadata=await as_contractor(stack, contractor),
    )
    return reply.claim


async def pending_review(stack: Stack, client: str, submission_id: str) -> None:
    """The dispatcher has the submission (it learns of it from the matcher's event)."""

    async def known() -> bool:
        try:
            await stack.tasks.GetSubmission(
                task_api.GetSubmissionRequest(submission_id=submission_id),
                metadata=await as_client(stack, client),
            )
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.NOT_FOUND, err
            return False
        return True

    await eventually(known)


async def reviewed_project(stack: Stack, client: str, **fields: object) -> str:
    """A project whose work waits for the client's review (auto-accept after a day)."""
    return await new_project(stack, client=client, auto_accept_delay_seconds=86_400, **fields)


async def test_accept_reject_and_override_each_pay_once_with_the_fee(stack: Stack) -> None:
    client = unique("lab")
    md = await as_client(stack, client)
    project = await reviewed_project(stack, client, reward=1000, assignments_per_task=3)
    (task,) = await tasks_in(stack, project, client=client)
    await wait_offered(stack, task.task_id)
    good, bad, lucky = unique("good"), unique("bad"), unique("lucky")
    claims = {w: await claim(stack, w, task.task_id) for w in (good, bad, lucky)}
    for worker, granted in claims.items():
        await hand_in(stack, worker, granted.claim_id)
        await pending_review(stack, client, granted.claim_id)

    accepted = await stack.tasks.AcceptSubmission(
        task_api.AcceptSubmissionRequest(submission_id=claims[good].claim_id, feedback="great"),
        metadata=md,
    )
    assert accepted.submission.status == task_api.SUBMISSION_STATUS_ACCEPTED
    again = await stack.tasks.AcceptSubmission(
        task_api.AcceptSubmissionRequest(submission_id=claims[good].claim_id), metadata=md
    )
    assert again.submission == accepted.submission
    for worker in (bad, lucky):
        rejected = await stack.tasks.RejectSubmission(
            task_api.RejectSubmissionRequest(
                submission_id=claims[worker].claim_id, feedback="ratings were random"
            ),
            metadata=md,
        )
        assert rejected.submission.status == task_api.SUBMISSION_STATUS_REJECTED
        assert rejected.submission.revert_until.ToDatetime() > datetime.now()
    no_override = await refused(
        stack.tasks.AcceptSubmission(
            task_api.AcceptSubmissionRequest(submission_id=claims[lucky].claim_id), metadata=md
        )
    )
    assert no_override.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(no_override) == "REJECTED"
    overridden = await stack.tasks.AcceptSubmission(
        task_api.AcceptSubmissionRequest(
            submission_id=claims[lucky].claim_id, override_rejection=True
        ),
        metadata=md,
    )
    assert overridden.submission.accepted_by == events_pb2.ACCEPTED_BY_OVERRIDE

    await wait_balance(stack, f"contractor:{good}", 1000)
    await wait_balance(stack, f"contractor:{lucky}", 1000)
    await wait_balance(stack, f"client:{client}", -2 * charged(1000))
    assert await balance(stack, f"contractor:{bad}") == 0

    # The contractor sees the review and its feedback on the claim.
    async def seen_by_contractor() -> bool:
        found = await stack.work.GetClaim(
            work_api.GetClaimRequest(claim_id=claims[bad].claim_id),
            metadata=await as_contractor(stack, bad),
        )
        return (
            found.claim.review == claim_pb2.REVIEW_STATE_REJECTED
            and found.claim.feedback == "ratings were random"
        )

    await eventually(seen_by_contractor)
    done = await stack.tasks.GetTask(task_api.GetTaskRequest(task_id=task.task_id), metadata=md)
    assert done.task.status == task_api.TASK_STATUS_COMPLETED
    await verified(stack)


async def test_bonuses_are_paid_once_per_key_forever(stack: Stack) -> None:
    client = unique("lab")
    md = await as_client(stack, client)
    project = await new_project(stack, client=client, reward=500)
    (task,) = await tasks_in(stack, project, client=client)
    await wait_offered(stack, task.task_id)
    worker = unique("star")
    granted = await claim(stack, worker, task.task_id)
    await hand_in(stack, worker, granted.claim_id)
    await pending_review(stack, client, granted.claim_id)

    request = task_api.GrantBonusRequest(
        submission_id=granted.claim_id,
        idempotency_key=unique("bonus"),
        amount=usd(250),
        reason="careful work",
    )
    bonuses = await asyncio.gather(
        *(stack.tasks.GrantBonus(request, metadata=md) for _ in range(5))
    )
    assert len({b.bonus.bonus_id for b in bonuses}) == 1
    reused = task_api.GrantBonusRequest()
    reused.CopyFrom(request)
    reused.amount.amount_minor = 999
    refusal = await refused(stack.tasks.GrantBonus(reused, metadata=md))
    assert refusal.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "idempotency_key" in (refusal.details() or "")

    await wait_balance(stack, f"contractor:{worker}", 500 + 250)  # auto-accepted after 1 s
    await wait_balance(stack, f"client:{client}", -(charged(500) + charged(250)))
    await verified(stack)


async def test_a_referrer_is_paid_once_when_the_referred_contractors_first_work_is_accepted(
    stack: Stack,
) -> None:
    referrer, referred = unique("referrer"), unique("referred")
    await as_contractor(stack, referrer)
    await as_contractor(stack, referred, referred_by=referrer)
    project = await new_project(stack, reward=300, assignments_per_task=1)
    tasks = await tasks_in(stack, project, 2)
    await wait_offered(stack, *(t.task_id for t in tasks))
    for task in tasks:
        granted = await claim(stack, referred, task.task_id)
        await hand_in(stack, referred, granted.claim_id)
    await wait_balance(stack, f"contractor:{referred}", 600)
    await wait_balance(stack, f"contractor:{referrer}", 25_000)  # $250, once, not twice
    statement = await stack.ledger.ListStatement(
        ledger_service_pb2.ListStatementRequest(account_id=f"contractor:{referrer}"),
        metadata=as_operator(stack),
    )
    assert [e.kind for e in statement.entries] == [events_pb2.POSTING_KIND_REFERRAL]
    await verified(stack)


async def test_hourly_pay_uses_the_claims_frozen_rate_and_the_tracked_time(
    stack: Stack,
) -> None:
    client = unique("lab")
    md = await as_client(stack, client)
    project = await new_project(
        stack, client=client, pay_terms=hourly(36_000, cap_seconds=60), assignments_per_task=2
    )
    (task,) = await tasks_in(stack, project, client=client)
    await wait_offered(stack, task.task_id)
    early, late = unique("early"), unique("late")
    first = await claim(stack, early, task.task_id)  # at $360/h: 10 minor units a second

    # A new rate applies to later claims only.
    change = project_pb2.Project(project_id=project, pay_terms=hourly(72_000, cap_seconds=60))
    await stack.tasks.UpdateProject(
        task_api.UpdateProjectRequest(
            project=change, update_mask=field_mask_pb2.FieldMask(paths=["pay_terms"])
        ),
        metadata=md,
    )

    async def new_rate_on_offer() -> bool:
        reply = await stack.work.ListOffers(
            work_api.ListOffersRequest(project_id=project, page_size=10),
            metadata=await as_contractor(stack, late),
        )
        return any(o.pay_terms.hourly.rate.amount_minor == 72_000 for o in reply.offers)

    await eventually(new_rate_on_offer)
    second = await claim(stack, late, task.task_id)

    async def live_for(contractor: str, claim_id: str, seconds: int) -> None:
        """Wait until the claim has been live ``seconds``, then hand in that much time."""

        async def handed_in() -> bool:
            try:
                await hand_in(stack, contractor, claim_id, worked=seconds)
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err
                return False
            return True

        await eventually(handed_in)

    await live_for(early, first.claim_id, 2)
    await live_for(late, second.claim_id, 2)
    await wait_balance(stack, f"contractor:{early}", 20)  # 2 s at the frozen 10/s
    await wait_balance(stack, f"contractor:{late}", 40)  # 2 s at the new 20/s
    earnings = await stack.ledger.GetEarnings(
        ledger_service_pb2.GetEarningsRequest(),
        metadata=await as_contractor(stack, early),
    )
    (total,) = earnings.total
    assert total.paid.amount_minor == 20 and total.tracked_seconds == 2
    assert total.per_tracked_hour.amount_minor == 36_000
    await verified(stack)


async def test_a_payout_batch_moves_balances_above_the_threshold_once(stack: Stack) -> None:
    rich, poor = unique("rich"), unique("poor")
    project = await new_project(stack, reward=5000)
    tasks = await tasks_in(stack, project, 2)
    await wait_offered(stack, *(t.task_id for t in tasks))
    for worker, task in ((rich, tasks[0]), (poor, tasks[1])):
        granted = await claim(stack, worker, task.task_id)
        await hand_in(stack, worker, granted.claim_id)
    await wait_balance(stack, f"contractor:{rich}", 5000)
    await wait_balance(stack, f"contractor:{poor}", 5000)
    # Only the rich one is above the threshold after a bonus-free second task.
    third = (await tasks_in(stack, project))[0]
    await wait_offered(stack, third.task_id)
    granted = await claim(stack, rich, third.task_id)
    await hand_in(stack, rich, granted.claim_id)
    await wait_balance(stack, f"contractor:{rich}", 10_000)

    batch_id = unique("batch")
    request = ledger_service_pb2.RunPayoutBatchRequest(batch_id=batch_id, threshold=usd(10_000))
    runs = await asyncio.gather(
        *(stack.ledger.RunPayoutBatch(request, metadata=as_operator(stack)) for _ in range(3))
    )
    assert all(r.batch == runs[0].batch for r in runs)
    ours = [p for p in runs[0].batch.payouts if p.contractor_id in (rich, poor)]
    assert [(p.contractor_id, p.amount.amount_minor) for p in ours] == [(rich, 10_000)]
    assert await balance(stack, f"contractor:{rich}") == 0
    assert await balance(stack, f"contractor:{poor}") == 5000
    other = ledger_service_pb2.RunPayoutBatchRequest(batch_id=batch_id, threshold=usd(1))
    refusal = await refused(stack.ledger.RunPayoutBatch(other, metadata=as_operator(stack)))
    assert refusal.code() == grpc.StatusCode.INVALID_ARGUMENT
    await verified(stack)


async def test_a_client_cut_hourly_claim_is_settled_in_the_books(stack: Stack) -> None:
    client = unique("lab")
    md = await as_client(stack, client)
    project = await new_project(
        stack, client=client, pay_terms=hourly(36_000), claim_timeout_seconds=3
    )
    (task,) = await tasks_in(stack, project, client=client)
    await wait_offered(stack, task.task_id)
    worker = unique("cut")
    granted = await claim(stack, worker, task.task_id)

    async def reported() -> bool:
        try:
            await stack.work.HeartbeatClaim(
                work_api.HeartbeatClaimRequest(claim_id=granted.claim_id, worked_seconds=1),
                metadata=await as_contractor(stack, worker),
            )
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err
            return False
        return True

    await eventually(reported)
    await stack.tasks.CancelTask(task_api.CancelTaskRequest(task_id=task.task_id), metadata=md)
    await wait_balance(stack, f"contractor:{worker}", 10)  # 1 s at 10/s, when the lease lapses
    await wait_balance(stack, f"client:{client}", -charged(10))
    await verified(stack)


async def test_kill_9_the_ledger_twenty_times_and_every_submission_is_paid_once(
    stack: Stack,
) -> None:
    """5,000 SubmissionAccepted events stream onto the tasks topic while the ledger is
    killed (SIGKILL: no drain, no commit) and restarted 20 times."""
    count, amount = 5000, 100
    client, worker = unique("lab"), unique("many")
    now = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka.bootstrap_servers, acks="all")
    await producer.start()
    ledger = stack.services["ledger"]

    async def stream() -> None:
        for i in range(count):
            event = events_pb2.SubmissionAccepted(
                submission_id=str(uuid.uuid4()),
                task_id=str(uuid.uuid4()),
                contractor_id=worker,
                client_id=client,
                project_id="kill9",
                reward=usd(amount),
                accepted_by=events_pb2.ACCEPTED_BY_CLIENT,
                worked_seconds=60,
                pay_terms=project_pb2.PayTerms(
                    version=1,
                    per_submission=project_pb2.PerSubmissionPay(reward=usd(amount)),
                ),
            )
            event.accepted_at.FromDatetime(now)
            event.granted_at.FromDatetime(now - timedelta(minutes=2))
            event.submitted_at.FromDatetime(now - timedelta(minutes=1))
            env = wrap(event, correlation_id=f"kill9-{i}", producer="test")
            await producer.send(
                stack.kafka.topic(TASKS_TOPIC),
                env.SerializeToString(),
                key=event.task_id.encode(),
            )
            if i % 250 == 0:
                await producer.flush()
        await producer.flush()

    async def killer() -> None:
        rng = random.Random(9)
        for _ in range(20):
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            assert ledger.proc is not None
            ledger.proc.send_signal(signal.SIGKILL)
            await asyncio.to_thread(ledger.proc.wait, 30)
            ledger.start()
            await stack.wait_healthy("ledger")

    try:
        await asyncio.gather(stream(), killer())
    finally:
        await producer.stop()

    async def all_paid() -> bool:
        return await balance(stack, f"contractor:{worker}") == count * amount

    await eventually(all_paid, timeout=300)
    assert await balance(stack, f"client:{client}") == -count * charged(amount)
    report = await verified(stack)
    assert report.accepted_submission_count >= count
