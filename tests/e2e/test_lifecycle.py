"""Claims end, tasks and projects live and die, and clients watch it happen (issue 7).

Every test here runs with two dispatcher replicas sharing one database, so each clock
is raced by both. The e2e stack lets durations be as short as 1 s
(CREWLINE_DISPATCHER_MIN_DURATION_SECONDS), so leases, lifetimes and auto-accept fire
within a test; the tests wait for outcomes, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf.message import Message

from crewline.client import Refused
from crewline.client.errors import error_reason
from crewline.events import CLAIMS_TOPIC, TASKS_TOPIC, PayloadTypes, parse_envelope
from crewline.v1 import claim_pb2, events_pb2, project_pb2, task_service_pb2_grpc
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import (
    as_client,
    as_contractor,
    claim,
    hourly,
    new_project,
    refused,
    submit_work,
    tasks_in,
    unique,
    wait_offered,
)
from harness import ServiceProcess, Stack
from stack import eventually, read_topic

ENDED = work_api.CLAIM_STATUS_ENDED


@pytest.fixture(scope="module")
async def second_dispatcher(stack: Stack) -> AsyncIterator[ServiceProcess]:
    """A second dispatcher on the same database: both race for every deadline."""
    second = stack.services["dispatcher"].replica("replica")
    second.start()
    stack.services["dispatcher-replica"] = second
    try:
        await stack.wait_healthy("dispatcher-replica")
        await eventually(second.holds_partitions)
        yield second
    finally:
        del stack.services["dispatcher-replica"]
        assert second.terminate() == 0


T = TypeVar("T", bound=Message)


async def events_of(stack: Stack, topic: str, kind: type[T]) -> list[T]:
    types = PayloadTypes.of([kind])
    found = []
    for record in await read_topic(stack.kafka, topic):
        event = types.unpack(parse_envelope(record.value))
        if isinstance(event, kind):
            found.append(event)
    return found


async def get_claim(stack: Stack, contractor: str, claim_id: str) -> work_api.Claim:
    reply = await stack.work.GetClaim(
        work_api.GetClaimRequest(claim_id=claim_id), metadata=await as_contractor(stack, contractor)
    )
    return reply.claim


async def wait_claim(stack: Stack, contractor: str, claim_id: str, status: int) -> work_api.Claim:
    async def reached() -> bool:
        return (await get_claim(stack, contractor, claim_id)).status == status

    await eventually(reached)
    return await get_claim(stack, contractor, claim_id)


async def get_task(stack: Stack, client: str, task_id: str) -> task_api.GetTaskResponse:
    return await stack.tasks.GetTask(
        task_api.GetTaskRequest(task_id=task_id), metadata=await as_client(stack, client)
    )


async def wait_task(stack: Stack, client: str, task_id: str, status: int) -> task_api.Task:
    async def reached() -> bool:
        return (await get_task(stack, client, task_id)).task.status == status

    await eventually(reached)
    return (await get_task(stack, client, task_id)).task


async def heartbeat(
    stack: Stack, contractor: str, claim_id: str, worked: int = 0
) -> work_api.Claim:
    reply = await stack.work.HeartbeatClaim(
        work_api.HeartbeatClaimRequest(claim_id=claim_id, worked_seconds=worked),
        metadata=await as_contractor(stack, contractor),
    )
    return reply.claim


async def free_slots(stack: Stack, task_id: str) -> int:
    """The task's free slots as offered to a fresh contractor (0 when not on offer)."""
    reply = await stack.work.ListOffers(
        work_api.ListOffersRequest(page_size=100),
        metadata=await as_contractor(stack, unique("probe")),
    )
    return next((o.free_slots for o in reply.offers if o.task_id == task_id), 0)


async def test_a_lease_a_lifetime_and_an_auto_accept_each_fire_once_across_a_restart(
    stack: Stack, second_dispatcher: ServiceProcess
) -> None:
    client = unique("lab")
    project = await new_project(
        stack,
        client=client,
        claim_timeout_seconds=3,
        task_lifetime_seconds=600,
        auto_accept_delay_seconds=3,
    )
    # Only `lapsing` has a short lifetime: had `leased` one too, its lifetime and its lease
    # would both be overdue when the dispatcher comes back, and either could end the claim.
    leased, reviewed = await tasks_in(stack, project, 2, client=client)
    [lapsing] = await tasks_in(stack, project, 1, client=client, lifetime_seconds=4)
    await wait_offered(stack, leased.task_id, reviewed.task_id)
    walker, worker = unique("walker"), unique("worker")
    lease = await claim(stack, walker, leased.task_id)  # never submitted: its lease elapses
    done = await claim(stack, worker, reviewed.task_id)
    await submit_work(stack, worker, done.claim_id)  # never reviewed: auto-accepted

    primary = stack.services["dispatcher"]
    assert primary.terminate() == 0  # the clocks are all pending while it is down
    primary.start()
    await stack.wait_healthy("dispatcher")

    ended = await wait_claim(stack, walker, lease.claim_id, ENDED)
    assert ended.end_reason == claim_pb2.CLAIM_END_REASON_EXPIRED
    assert ended.ended_at.ToDatetime() >= lease.deadline_at.ToDatetime()  # never early
    expired = await wait_task(stack, client, lapsing.task_id, task_api.TASK_STATUS_EXPIRED)
    assert expired.updated_at.ToDatetime() >= expired.expires_at.ToDatetime()

    async def accepted() -> bool:
        subs = (await get_task(stack, client, reviewed.task_id)).submissions
        return [s.status for s in subs] == [task_api.SUBMISSION_STATUS_ACCEPTED]

    await eventually(accepted)

    # Each event once. The states above are committed with the events in their outboxes;
    # the relays may put them on Kafka a moment later.
    async def once(topic: str, kind: type[Message], matches: Callable[[Any], bool]) -> bool:
        return sum(map(matches, await events_of(stack, topic, kind))) == 1

    def expired_lapsing(c: events_pb2.TaskChanged) -> bool:
        return c.task_id == lapsing.task_id and c.lifecycle == events_pb2.TASK_LIFECYCLE_EXPIRED

    for topic, kind, matches in (
        (TASKS_TOPIC, events_pb2.LeaseElapsed, lambda e: e.claim_id == lease.claim_id),
        (TASKS_TOPIC, events_pb2.TaskChanged, expired_lapsing),
        (TASKS_TOPIC, events_pb2.SubmissionAccepted, lambda a: a.submission_id == done.claim_id),
        (CLAIMS_TOPIC, events_pb2.ClaimEnded, lambda e: e.claim_id == lease.claim_id),
    ):
        await eventually(functools.partial(once, topic, kind, matches))


async def test_a_heartbeat_moves_the_lease_and_the_claim_ends_at_the_new_deadline(
    stack: Stack, second_dispatcher: ServiceProcess
) -> None:
    project = await new_project(stack, claim_timeout_seconds=5)
    (task,) = await tasks_in(stack, project)
    await wait_offered(stack, task.task_id)
    worker = unique("steady")
    granted = await claim(stack, worker, task.task_id)
    assert granted.deadline_at.ToDatetime() > granted.granted_at.ToDatetime()

    moved = await heartbeat(stack, worker, granted.claim_id, worked=0)
    assert moved.deadline_at.ToDatetime() > granted.deadline_at.ToDatetime()
    assert moved.max_deadline_at == granted.max_deadline_at

    ended = await wait_claim(stack, worker, granted.claim_id, ENDED)
    assert ended.end_reason == claim_pb2.CLAIM_END_REASON_EXPIRED
    assert ended.ended_at.ToDatetime() >= moved.deadline_at.ToDatetime()
    late = await refused(submit_work(stack, worker, granted.claim_id))
    assert late.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(late) == "CLAIM_EXPIRED"


async def test_submission_racing_expiry_has_exactly_one_outcome_every_time(
    stack: Stack, second_dispatcher: ServiceProcess
) -> None:
    racers = [unique("racer") for _ in range(50)]
    project = await new_project(stack, claim_timeout_seconds=1)
    tasks = await tasks_in(stack, project, 4, slots=len(racers))
    await wait_offered(stack, *(t.task_id for t in tasks))
    for racer in racers:
        await as_contractor(stack, racer)

    async def race(racer: str, task: task_api.Task, jitter: float) -> tuple[str, str, str]:
        granted = await claim(stack, racer, task.task_id)
        deadline = granted.deadline_at.ToDatetime(tzinfo=UTC)
        await asyncio.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds() + jitter))
        try:
            await submit_work(stack, racer, granted.claim_id)
            return task.task_id, granted.claim_id, "submitted"
        except Refused as err:
            assert err.code == grpc.StatusCode.FAILED_PRECONDITION, err
            assert err.reason == "CLAIM_EXPIRED", err
            return task.task_id, granted.claim_id, "expired"

    # Each racer takes each task once (3 claims at a time at most), submitting around its
    # deadline, while both dispatchers' lease clocks fire.
    async def racer_run(i: int, racer: str) -> list[tuple[str, str, str]]:
        results = []
        for j, task in enumerate(tasks):
            results.append(await race(racer, task, ((i + j) % 9 - 4) * 0.05))
        return results

    runs = await asyncio.gather(*(racer_run(i, r) for i, r in enumerate(racers)))
    outcomes = [(racer, o) for racer, run in zip(racers, runs, strict=True) for o in run]
    print(f"\n{len(outcomes)} races: {Counter(o[2] for _, o in outcomes)}")
    assert len(outcomes) == len(racers) * len(tasks)

    for racer, (_task_id, claim_id, outcome) in outcomes:
        want = work_api.CLAIM_STATUS_SUBMITTED if outcome == "submitted" else ENDED
        final = await wait_claim(stack, racer, claim_id, want)
        if outcome == "expired":
            assert final.end_reason == claim_pb2.CLAIM_END_REASON_EXPIRED

    for task in tasks:
        expired = sum(1 for _, o in outcomes if o[0] == task.task_id and o[2] == "expired")
        await eventually(lambda t=task.task_id, e=expired: settled(stack, t, e, len(racers) - e))


async def settled(stack: Stack, task_id: str, expired: int, submitted: int) -> bool:
    """No claim live on the task, its work counted, and every expired slot on offer again."""
    task = (await get_task(stack, "acme", task_id)).task
    return (
        task.live_claims == 0
        and task.submitted_count == submitted
        and await free_slots(stack, task_id) == expired
    )


async def test_a_released_and_an_expired_slot_are_offered_again_and_taken_by_others(
    stack: Stack, second_dispatcher: ServiceProcess
) -> None:
    project = await new_project(stack, claim_timeout_seconds=2)
    (task,) = await tasks_in(stack, project)
    await wait_offered(stack, task.task_id)
    first, second, third = unique("first"), unique("second"), unique("third")
    watcher = await as_contractor(stack, third)

    held = await claim(stack, first, task.task_id)
    offers = stack.work.StreamOffers(
        work_api.StreamOffersRequest(project_id=project), metadata=watcher
    )
    released = await stack.work.ReleaseClaim(
        work_api.ReleaseClaimRequest(claim_id=held.claim_id),
        metadata=await as_contractor(stack, first),
    )
    assert released.claim.status == ENDED
    assert released.claim.end_reason == claim_pb2.CLAIM_END_REASON_RELEASED
    again = await stack.work.ReleaseClaim(
        work_api.ReleaseClaimRequest(claim_id=held.claim_id),
        metadata=await as_contractor(stack, first),
    )
    assert again.claim == released.claim  # a repeat changes nothing

    lapsing = await claim(stack, second, task.task_id)  # the released slot, taken at once
    assert lapsing.claim_id != held.claim_id
    # The third contractor's stream sees the task come back when the second lease lapses.
    reoffered = False
    async for message in offers:
        for change in message.changes.changes if message.HasField("changes") else []:
            if change.HasField("offered") and change.offered.task_id == task.task_id:
                reoffered = (await get_claim(stack, second, lapsing.claim_id)).status == ENDED
        if reoffered:
            break
    offers.cancel()
    taken = await claim(stack, third, task.task_id)
    assert taken.status == work_api.CLAIM_STATUS_ACTIVE
    ended = await get_claim(stack, second, lapsing.claim_id)
    assert ended.end_reason == claim_pb2.CLAIM_END_REASON_EXPIRED


async def test_cancel_and_pause_mid_claim_follow_the_work_in_progress_policy(
    stack: Stack, second_dispatcher: ServiceProcess
) -> None:
    client = unique("lab")
    md = await as_client(stack, client)
    rate = 36_000  # USD 360.00 an hour: 10 minor units a second
    project = await new_project(
        stack, client=client, pay_terms=hourly(rate), claim_timeout_seconds=5
    )
    cancelled_task, paused_task = await tasks_in(stack, project, 2, client=client, slots=2)
    await wait_offered(stack, cancelled_task.task_id, paused_task.task_id)
    cut, finisher, late = unique("cut"), unique("finisher"), unique("late")

    # Cancel: both claims are cut; one still submits in time, the other lapses and is settled.
    a = await claim(stack, cut, cancelled_task.task_id)
    b = await claim(stack, finisher, cancelled_task.task_id)

    # The leases are 5 s so that a lapses soon after the cancel. Until the cancel reaches
    # the matcher, every wait renews both, so neither lapses first on a slow machine.
    async def renewed_until_cut() -> bool:
        """Renews a (1 s worked) and b; true once the matcher refuses both as cut."""
        refused_as_cut = 0
        for who, claim_id, worked in ((cut, a.claim_id, 1), (finisher, b.claim_id, 0)):
            try:
                await heartbeat(stack, who, claim_id, worked=worked)
            except grpc.aio.AioRpcError as err:
                assert error_reason(err) == "TASK_CANCELLED", err
                refused_as_cut += 1
        return refused_as_cut == 2

    async def reported_a_second() -> bool:
        """A report of 1 s worked is accepted once the claim has been live that long."""
        await heartbeat(stack, finisher, b.claim_id)
        try:
            await heartbeat(stack, cut, a.claim_id, worked=1)
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err
            return False
        return True

    await eventually(reported_a_second)

    async def both_claims_known() -> bool:  # so the task's counts hold still below
        assert not await renewed_until_cut()
        return (await get_task(stack, client, cancelled_task.task_id)).task.live_claims == 2

    await eventually(both_claims_known)
    cancelled = await stack.tasks.CancelTask(
        task_api.CancelTaskRequest(task_id=cancelled_task.task_id, reason="wrong batch"),
        metadata=md,
    )
    assert cancelled.task.status == task_api.TASK_STATUS_CANCELLED
    twice = await stack.tasks.CancelTask(
        task_api.CancelTaskRequest(task_id=cancelled_task.task_id), metadata=md
    )
    assert twice.task == cancelled.task  # a no-op returning the same task

    await eventually(renewed_until_cut)
    # b was renewed a moment ago, so this is before its deadline: kept.
    submitted = await submit_work(stack, finisher, b.claim_id)
    assert submitted.status == work_api.CLAIM_STATUS_SUBMITTED
    a_now = await get_claim(stack, cut, a.claim_id)
    assert a_now.cut == claim_pb2.CLAIM_END_REASON_TASK_CANCELLED
    refused_beat = await refused(heartbeat(stack, cut, a.claim_id, worked=1))
    assert refused_beat.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(refused_beat) == "TASK_CANCELLED"
    no_claim = await refused(claim(stack, late, cancelled_task.task_id))
    assert error_reason(no_claim) == "TASK_CLOSED"
    lapsed = await wait_claim(stack, cut, a.claim_id, ENDED)
    assert lapsed.end_reason == claim_pb2.CLAIM_END_REASON_TASK_CANCELLED

    async def settled_once() -> bool:
        found = await events_of(stack, CLAIMS_TOPIC, events_pb2.ClaimSettled)
        return [s.claim_id for s in found].count(a.claim_id) == 1

    await eventually(settled_once)
    (settlement,) = [
        s
        for s in await events_of(stack, CLAIMS_TOPIC, events_pb2.ClaimSettled)
        if s.claim_id == a.claim_id
    ]
    assert settlement.worked_seconds == 1
    assert settlement.amount.amount_minor == 10 and settlement.amount.currency_code == "USD"
    assert settlement.reason == claim_pb2.CLAIM_END_REASON_TASK_CANCELLED
    assert not [
        s
        for s in await events_of(stack, CLAIMS_TOPIC, events_pb2.ClaimSettled)
        if s.claim_id == b.claim_id
    ]

    # Pause: the claim is cut and lapses; resume offers its slot again.
    p = await claim(stack, cut, paused_task.task_id)
    paused = await stack.tasks.PauseProject(
        task_api.PauseProjectRequest(project_id=project), metadata=md
    )
    assert paused.project.state == project_pb2.PROJECT_STATE_PAUSED

    async def paused_in_matcher() -> bool:
        """Renews p until the pause reaches the matcher, which then refuses it as cut."""
        try:
            await heartbeat(stack, cut, p.claim_id)
        except grpc.aio.AioRpcError as err:
            assert error_reason(err) == "PROJECT_PAUSED", err
            return True
        return False

    await eventually(paused_in_matcher)
    p_now = await get_claim(stack, cut, p.claim_id)
    assert p_now.cut == claim_pb2.CLAIM_END_REASON_PROJECT_PAUSED
    no_claim = await refused(claim(stack, late, paused_task.task_id))
    assert error_reason(no_claim) == "TASK_CLOSED"
    lapsed = await wait_claim(stack, cut, p.claim_id, ENDED)
    assert lapsed.end_reason == claim_pb2.CLAIM_END_REASON_PROJECT_PAUSED
    await stack.tasks.ResumeProject(task_api.ResumeProjectRequest(project_id=project), metadata=md)

    async def back_on_offer() -> bool:
        return await free_slots(stack, paused_task.task_id) == 2

    await eventually(back_on_offer)
    assert (await claim(stack, late, paused_task.task_id)).status == work_api.CLAIM_STATUS_ACTIVE


async def test_watch_resumes_after_a_dropped_connection_with_nothing_missed_or_doubled(
    stack: Stack, second_dispatcher: ServiceProcess
) -> None:
    client = unique("lab")
    md = await as_client(stack, client)
    project = await new_project(stack, client=client, auto_accept_delay_seconds=1)
    replica = task_service_pb2_grpc.TaskServiceStub(
        grpc.aio.insecure_channel(second_dispatcher.grpc_addr)
    )

    # One watcher stays connected throughout, on the other replica: the reference.
    reference = replica.Watch(task_api.WatchRequest(project_id=project), metadata=md)
    dropped = stack.tasks.Watch(task_api.WatchRequest(project_id=project), metadata=md)
    # Each stream answers at once with where it starts: nothing after that is missed.
    for stream in (reference, dropped):
        start = await stream.read()
        assert isinstance(start, task_api.WatchResponse)
        assert not start.events and start.cursor
    first_tasks = await tasks_in(stack, project, 3, client=client)
    await wait_offered(stack, *(t.task_id for t in first_tasks))

    seen: list[task_api.WatchEvent] = []
    await read_until(dropped, seen, lambda: sum(e.HasField("task_changed") for e in seen) >= 3)
    dropped.cancel()  # the connection drops; work goes on meanwhile

    workers = [unique("w") for _ in range(3)]
    for worker, task in zip(workers, first_tasks, strict=True):
        granted = await claim(stack, worker, task.task_id)
        await submit_work(stack, worker, granted.claim_id)
    await tasks_in(stack, project, 2, client=client)

    resumed = stack.tasks.Watch(
        task_api.WatchRequest(project_id=project, cursor=seen[-1].cursor), metadata=md
    )

    def complete() -> bool:
        accepted = sum(e.HasField("submission_accepted") for e in seen)
        return accepted == 3 and sum(e.HasField("task_changed") for e in seen) >= 5

    await read_until(resumed, seen, complete)
    resumed.cancel()

    expected: list[task_api.WatchEvent] = []
    await read_until(reference, expected, lambda: len(expected) >= len(seen))
    reference.cancel()

    cursors = [e.cursor for e in seen]
    assert len(set(cursors)) == len(cursors)  # nothing doubled
    assert [e.cursor for e in expected[: len(seen)]] == cursors  # nothing missed, same order
    assert expected[: len(seen)] == seen
    kinds = Counter(e.WhichOneof("event") for e in seen)
    assert kinds["claim_granted"] == 3 and kinds["work_submitted"] == 3


async def read_until(
    stream: Any, into: list[task_api.WatchEvent], done: Callable[[], bool]
) -> None:
    """Read the Watch stream's events into ``into`` until ``done()``."""
    while not done():
        reply = await stream.read()
        assert isinstance(reply, task_api.WatchResponse), "the stream ended"
        into.extend(reply.events)


async def test_lifecycle_mistakes_get_precise_answers_and_change_nothing(
    stack: Stack, second_dispatcher: ServiceProcess
) -> None:
    client = unique("lab")
    md = await as_client(stack, client)
    project = await new_project(stack, client=client, claim_timeout_seconds=60)
    (task,) = await tasks_in(stack, project, client=client)
    await wait_offered(stack, task.task_id)
    owner, stranger = unique("owner"), unique("stranger")
    granted = await claim(stack, owner, task.task_id)

    for call in (
        stack.work.HeartbeatClaim(
            work_api.HeartbeatClaimRequest(claim_id=granted.claim_id),
            metadata=await as_contractor(stack, stranger),
        ),
        stack.work.ReleaseClaim(
            work_api.ReleaseClaimRequest(claim_id=granted.claim_id),
            metadata=await as_contractor(stack, stranger),
        ),
    ):
        assert (await refused(call)).code() == grpc.StatusCode.NOT_FOUND
    absurd = await refused(heartbeat(stack, owner, granted.claim_id, worked=-5))
    assert absurd.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "worked_seconds" in (absurd.details() or "")
    assert await get_claim(stack, owner, granted.claim_id) == granted

    await submit_work(stack, owner, granted.claim_id)
    ended = await refused(heartbeat(stack, owner, granted.claim_id))
    assert ended.code() == grpc.StatusCode.FAILED_PRECONDITION

    short = await refused(
        stack.tasks.UpdateTaskLifetime(
            task_api.UpdateTaskLifetimeRequest(task_id=task.task_id, expires_at=task.created_at),
            metadata=md,
        )
    )
    assert short.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "expires_at" in (short.details() or "")
    too_many = await refused(
        stack.tasks.AddSlots(
            task_api.AddSlotsRequest(request_id=unique("add"), task_id=task.task_id, slots=5000),
            metadata=md,
        )
    )
    assert too_many.code() == grpc.StatusCode.INVALID_ARGUMENT

    await stack.tasks.CloseProject(task_api.CloseProjectRequest(project_id=project), metadata=md)
    closed = await refused(
        stack.tasks.PauseProject(task_api.PauseProjectRequest(project_id=project), metadata=md)
    )
    assert closed.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(closed) == "PROJECT_CLOSED"
    other = await refused(
        stack.tasks.CancelTask(
            task_api.CancelTaskRequest(task_id=task.task_id),
            metadata=await as_client(stack, unique("other")),
        )
    )
    assert other.code() == grpc.StatusCode.NOT_FOUND
