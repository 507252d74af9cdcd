"""Task lifecycle, the dispatcher's clocks and the Watch log, through the dispatcher's
handlers on a real database of the test's own, with a fake clock that the kernel's
deadline clock fires by."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.protobuf.message import Message

from crewline import clock as kernel_clock
from crewline.clock import DeadlineClock
from crewline.consumer import Batched, EventContext
from crewline.errors import FailedPrecondition, InvalidArgument, NotFound
from crewline.events import PayloadTypes, parse_envelope
from crewline.health import WorkerHealth
from crewline.metrics import Metrics
from crewline.money import Money
from crewline.paging import PageCursor, encode_token
from crewline.pay_terms import Basis, PayTerms
from crewline.protobuf import from_timestamp, money_to_pb, timestamp
from crewline.settings import PostgresSettings
from crewline.timekeeping import FakeClock
from crewline.v1 import claim_pb2, events_pb2, task_service_pb2
from dispatcher import handlers
from dispatcher.adapters.watch_hub import WatchHub
from dispatcher.deps import PUBLISHES, Deps
from dispatcher.domain import lifecycle, model, projects
from dispatcher.domain.projects import ProjectFields
from dispatcher.domain.tasks import Lifecycle, Task, TaskStatus
from dispatcher.entrypoints import watch as watch_stream
from dispatcher.handlers import tasks as task_handlers
from dispatcher.handlers import watch as watch_handlers

from stack import PG_HOST, PG_PORT, PG_USER

FIELDS = ProjectFields(
    title="Dermatology ratings",
    instructions="Rate the answer.",
    requirements=(),
    pay_terms=PayTerms(basis=Basis.PER_SUBMISSION, rate=Money("USD", 1250)),
    assignments_per_task=2,
    claim_timeout_seconds=600,
    task_lifetime_seconds=86_400,
    auto_accept_delay_seconds=7200,
    priority=10,
    max_claims_per_contractor=0,
)
TYPES = PayloadTypes.of(PUBLISHES)


# --- helpers -----------------------------------------------------------------------------


async def new_project(deps: Deps, client: str = "acme", request_id: str = "p") -> str:
    from dispatcher.handlers import projects as project_handlers

    cmd = projects.create_project(request_id=request_id, client_id=client, fields=FIELDS)
    return (await project_handlers.create_project(cmd, deps)).project_id


async def new_tasks(
    deps: Deps, project_id: str, *keys: str, client: str = "acme", **spec: Any
) -> list[Task]:
    specs = [
        model.task_spec(
            idempotency_key=key,
            payload_json='{"q": 1}',
            payload_bytes=None,
            slots=spec.get("slots", 0),
            priority=None,
            lifetime_seconds=spec.get("lifetime_seconds", 0),
            field="task",
        )
        for key in keys
    ]
    cmd = model.submit_tasks(client_id=client, project_id=project_id, tasks=specs)
    return await task_handlers.submit_tasks(cmd, deps)


async def task_now(deps: Deps, task: Task) -> Task:
    from dispatcher.adapters import repository

    async with deps.pool.acquire() as conn:
        found = await repository.get_task(conn, task.task_id)
    assert found is not None
    return found


async def consume(deps: Deps, *events: Message) -> None:
    """What the consumer does with the matcher's events: each in a transaction."""
    routes = handlers.event_routes(deps)
    for event in events:
        ctx = EventContext(str(uuid.uuid4()), "c", "matcher", "t", 0, 0)
        async with deps.pool.acquire() as conn, conn.transaction():
            await routes[type(event)](conn, event, ctx)


def granted(task: Task, claim: str, deadline: datetime) -> events_pb2.ClaimGranted:
    return events_pb2.ClaimGranted(
        claim_id=claim,
        task_id=str(task.task_id),
        contractor_id="ann",
        granted_at=timestamp(deadline - timedelta(minutes=10)),
        project_id=task.project_id,
        deadline_at=timestamp(deadline),
        max_deadline_at=timestamp(deadline + timedelta(hours=1)),
        client_id=task.client_id,
    )


def extended(task: Task, claim: str, deadline: datetime) -> events_pb2.ClaimExtended:
    return events_pb2.ClaimExtended(
        claim_id=claim,
        task_id=str(task.task_id),
        contractor_id="ann",
        deadline_at=timestamp(deadline),
    )


def ended(task: Task, claim: str) -> events_pb2.ClaimEnded:
    return events_pb2.ClaimEnded(
        claim_id=claim,
        task_id=str(task.task_id),
        contractor_id="ann",
        project_id=task.project_id,
        reason=claim_pb2.CLAIM_END_REASON_RELEASED,
        client_id=task.client_id,
    )


def submitted(task: Task, claim: str, at: datetime) -> events_pb2.WorkSubmitted:
    return events_pb2.WorkSubmitted(
        claim_id=claim,
        task_id=str(task.task_id),
        contractor_id="ann",
        reward=money_to_pb(Money("USD", 1250)),
        result=b"done",
        submitted_at=timestamp(at),
        project_id=task.project_id,
    )


def new_claim() -> str:
    return str(uuid.uuid4())


async def fire(deps: Deps, clock: FakeClock) -> int:
    """One pass of the kernel's deadline clock at the fake clock's time."""
    ticker = DeadlineClock(
        pool=deps.pool,
        handlers=handlers.deadline_routes(deps),
        metrics=Metrics.create("dispatcher_test"),
        clock=clock,
    )
    return await ticker.fire_due()


async def published(deps: Deps, kind: type[Message] | None = None) -> list[Any]:
    """The events in the outbox (of one type, when given), oldest first."""
    rows = await deps.pool.fetch("SELECT envelope FROM outbox ORDER BY id")
    found = []
    for row in rows:
        env = parse_envelope(row["envelope"])
        if kind is None or env.type == kind.DESCRIPTOR.full_name:
            found.append(TYPES.unpack(env))
    return found


async def logged(deps: Deps, client: str = "acme", after: int = 0) -> list[Any]:
    """The client's Watch log after ``after``, as (number, kind, event)."""
    query = lifecycle.watch(client_id=client, cursor="", project_id="")
    out = []
    for seq, body in await watch_handlers.read(query, after, deps):
        event = task_service_pb2.WatchEvent.FromString(body)
        out.append((seq, event.WhichOneof("event"), event))
    return out


async def lease_clock(deps: Deps, claim: str) -> kernel_clock.DeadlineRecord | None:
    async with deps.pool.acquire() as conn:
        return await kernel_clock.find(conn, kind="lease", ref=claim)


# --- claims move a task through its states ----------------------------------------------


async def test_claims_and_submissions_move_a_task_through_its_states(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    [task] = await new_tasks(deps, await new_project(deps), "t")
    deadline = clock.now() + timedelta(minutes=10)
    a, b, c = new_claim(), new_claim(), new_claim()

    await consume(deps, granted(task, a, deadline))
    assert ((t := await task_now(deps, task)).status, t.live_claims) == (TaskStatus.OPEN, 1)
    await consume(deps, granted(task, b, deadline))
    assert (t := await task_now(deps, task)).status is TaskStatus.IN_PROGRESS
    await consume(deps, ended(task, a))
    assert ((t := await task_now(deps, task)).status, t.live_claims) == (TaskStatus.OPEN, 1)
    await consume(deps, submitted(task, b, clock.now()))
    t = await task_now(deps, task)
    assert (t.status, t.live_claims, t.submitted_count) == (TaskStatus.OPEN, 0, 1)
    await consume(deps, granted(task, c, deadline), submitted(task, c, clock.now()))
    t = await task_now(deps, task)
    assert (t.status, t.claimed_count, t.submitted_count) == (TaskStatus.IN_PROGRESS, 3, 2)

    # Auto-accept after the project's delay (2 h), not before.
    clock.advance(timedelta(hours=2) - timedelta(seconds=1))
    assert await fire(deps, clock) == 0
    clock.advance(timedelta(seconds=1))
    assert await fire(deps, clock) == 2
    t = await task_now(deps, task)
    assert (t.status, t.accepted_count) == (TaskStatus.COMPLETED, 2)
    accepted = await published(deps, events_pb2.SubmissionAccepted)
    assert sorted(e.submission_id for e in accepted) == sorted([b, c])

    statuses = [
        e.task_changed.status for _, kind, e in await logged(deps) if kind == "task_changed"
    ]
    assert statuses == [
        task_service_pb2.TASK_STATUS_OPEN,  # new
        task_service_pb2.TASK_STATUS_IN_PROGRESS,
        task_service_pb2.TASK_STATUS_OPEN,
        task_service_pb2.TASK_STATUS_IN_PROGRESS,
        task_service_pb2.TASK_STATUS_COMPLETED,
    ]
    kinds = [kind for _, kind, _ in await logged(deps)]
    assert kinds.count("claim_granted") == 3 and kinds.count("work_submitted") == 2
    assert kinds.count("claim_ended") == 1 and kinds.count("submission_accepted") == 2


async def test_a_run_of_grants_in_one_call_does_what_each_grant_alone_does(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    """The consumer hands a run of ClaimGranted to ``on_claims_granted`` in one call: the
    tasks, lease clocks and Watch log end as they do when each is applied alone, a
    repeated claim included, and each clock keeps its own event's correlation id."""
    deps = dispatcher_deps
    grant = handlers.event_routes(deps)[events_pb2.ClaimGranted]
    assert isinstance(grant, Batched)
    project = await new_project(deps)
    alone = await new_tasks(deps, project, "a1", "a2")
    together = await new_tasks(deps, project, "b1", "b2")
    deadline = clock.now() + timedelta(minutes=10)
    contexts = [
        EventContext(str(uuid.uuid4()), f"corr-{i}", "matcher", "t", 0, i) for i in range(4)
    ]

    def grants(tasks: list[Task]) -> tuple[list[str], list[events_pb2.ClaimGranted]]:
        claims = [new_claim() for _ in range(3)]
        return claims, [
            granted(tasks[0], claims[0], deadline),
            granted(tasks[1], claims[1], deadline),
            granted(tasks[0], claims[2], deadline + timedelta(minutes=1)),  # fills it
            granted(tasks[0], claims[0], deadline),  # the first claim again
        ]

    alone_claims, alone_events = grants(alone)
    async with deps.pool.acquire() as conn, conn.transaction():
        for event, ctx in zip(alone_events, contexts, strict=True):
            await grant(conn, event, ctx)
    together_claims, together_events = grants(together)
    async with deps.pool.acquire() as conn, conn.transaction():
        await grant.many(conn, list(zip(together_events, contexts, strict=True)))

    for a, b in zip(alone, together, strict=True):
        a, b = await task_now(deps, a), await task_now(deps, b)
        assert (b.status, b.claimed_count, b.live_claims, b.revision) == (
            a.status,
            a.claimed_count,
            a.live_claims,
            a.revision,
        )
    assert (await task_now(deps, together[0])).status is TaskStatus.IN_PROGRESS
    for a_claim, b_claim, ctx in zip(alone_claims, together_claims, contexts[:3], strict=True):
        a_clock, b_clock = await lease_clock(deps, a_claim), await lease_clock(deps, b_claim)
        assert a_clock is not None and b_clock is not None
        assert b_clock.deadline.due_at == a_clock.deadline.due_at
        assert b_clock.deadline.correlation_id == ctx.correlation_id

    def shape(tasks: list[Task]) -> list[tuple[int, str | None]]:
        """The Watch log of ``tasks``: which task (by position) and what, in order."""
        where = {str(t.task_id): i for i, t in enumerate(tasks)}
        return [(where[e.task_id], kind) for _, kind, e in log if e.task_id in where]

    log = await logged(deps)
    assert shape(together) == shape(alone)
    assert [kind for _, kind in shape(alone)].count("claim_granted") == 3


async def test_redelivered_claim_events_change_nothing(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    [task] = await new_tasks(deps, await new_project(deps), "t")
    deadline = clock.now() + timedelta(minutes=10)
    a, b = new_claim(), new_claim()
    events: list[Message] = [
        granted(task, a, deadline),
        extended(task, a, deadline + timedelta(minutes=5)),
        granted(task, b, deadline),
        ended(task, b),
        submitted(task, a, clock.now()),
        events_pb2.ClaimSettled(claim_id=b, task_id=str(task.task_id), client_id="acme"),
    ]
    await consume(deps, *events)
    before = (await task_now(deps, task), await logged(deps), await published(deps))
    # Every event again (new event ids: the inbox would not catch these), and again.
    await consume(deps, *events, *events)
    after = (await task_now(deps, task), await logged(deps), await published(deps))
    assert after == before
    t = before[0]
    assert (t.claimed_count, t.live_claims, t.submitted_count) == (2, 0, 1)
    assert [kind for _, kind, _ in before[1]].count("claim_settled") == 1


# --- the lease clock ---------------------------------------------------------------------


async def test_lease_clock_follows_grants_heartbeats_and_ends(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    [task] = await new_tasks(deps, await new_project(deps), "t", slots=3)
    start = clock.now()
    a, b, c = new_claim(), new_claim(), new_claim()
    await consume(deps, granted(task, a, start + timedelta(minutes=10)))
    lease = await lease_clock(deps, a)
    assert lease is not None and lease.deadline.due_at == start + timedelta(minutes=10)

    # A heartbeat moves it: nothing fires at the old deadline.
    await consume(deps, extended(task, a, start + timedelta(minutes=20)))
    clock.advance(timedelta(minutes=10))
    assert await fire(deps, clock) == 0
    clock.advance(timedelta(minutes=10))
    assert await fire(deps, clock) == 1
    assert await fire(deps, clock) == 0  # once
    [elapsed] = await published(deps, events_pb2.LeaseElapsed)
    assert (elapsed.claim_id, elapsed.task_id) == (a, str(task.task_id))
    assert from_timestamp(elapsed.deadline_at) == start + timedelta(minutes=20)

    # A heartbeat after the clock fired (the matcher kept the claim) re-arms it.
    await consume(deps, extended(task, a, start + timedelta(minutes=30)))
    rearmed = await lease_clock(deps, a)
    assert rearmed is not None and rearmed.state == "pending"
    assert rearmed.deadline.generation == 2
    clock.advance(timedelta(minutes=10))
    assert await fire(deps, clock) == 1
    assert len(await published(deps, events_pb2.LeaseElapsed)) == 2

    # Submitted or ended: the clock is gone, and nothing elapses.
    await consume(deps, granted(task, b, clock.now() + timedelta(minutes=5)))
    await consume(deps, granted(task, c, clock.now() + timedelta(minutes=5)))
    await consume(deps, submitted(task, b, clock.now()), ended(task, c))
    assert await lease_clock(deps, b) is None and await lease_clock(deps, c) is None
    clock.advance(timedelta(hours=1))
    await fire(deps, clock)
    assert len(await published(deps, events_pb2.LeaseElapsed)) == 2


async def test_a_lease_that_fires_after_its_claim_ended_elapses_nothing(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    [task] = await new_tasks(deps, await new_project(deps), "t")
    a = new_claim()
    await consume(deps, granted(task, a, clock.now() + timedelta(minutes=1)))
    # The claim ends in the same moment its clock is due: whichever commits first,
    # LeaseElapsed is sent only for a claim still live.
    async with deps.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE claim_leases SET state = 'ended' WHERE claim_id = $1", uuid.UUID(a)
        )
    clock.advance(timedelta(minutes=1))
    assert await fire(deps, clock) == 1
    assert await published(deps, events_pb2.LeaseElapsed) == []


# --- task lifetime -----------------------------------------------------------------------


async def test_lifetime_ends_a_task_once_and_an_update_revives_it(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    project = await new_project(deps)
    tasks = await new_tasks(deps, project, *(f"k{i}" for i in range(5)), lifetime_seconds=3600)
    assert (
        await deps.pool.fetchval("SELECT count(*) FROM deadlines WHERE kind = 'task_lifetime'") == 5
    )
    await new_tasks(deps, project, "k0", "k1", lifetime_seconds=3600)  # repeats arm nothing
    assert await deps.pool.fetchval("SELECT count(*) FROM deadlines") == 5
    task = tasks[0]

    clock.advance(timedelta(hours=1))
    assert await fire(deps, clock) == 5
    assert await fire(deps, clock) == 0
    expired = await task_now(deps, task)
    assert (expired.status, expired.lifetime_over) == (TaskStatus.EXPIRED, True)
    changes = await published(deps, events_pb2.TaskChanged)
    assert len(changes) == 5
    assert {c.lifecycle for c in changes} == {events_pb2.TASK_LIFECYCLE_EXPIRED}

    # Extending revives it: LIVE again, and the fired clock is re-armed for the new end.
    new_end = clock.now() + timedelta(hours=2)
    cmd = lifecycle.update_task_lifetime(
        client_id="acme", task_id=str(task.task_id), expires_at=new_end
    )
    revived = await task_handlers.update_task_lifetime(cmd, deps)
    assert (revived.status, revived.expires_at, revived.lifetime_over) == (
        TaskStatus.OPEN,
        new_end,
        False,
    )
    [*_, change] = await published(deps, events_pb2.TaskChanged)
    assert (change.lifecycle, change.revision) == (events_pb2.TASK_LIFECYCLE_LIVE, revived.revision)
    assert await task_handlers.update_task_lifetime(cmd, deps) == revived  # a repeat: no-op
    assert len(await published(deps, events_pb2.TaskChanged)) == 6
    clock.advance(timedelta(hours=2))
    assert await fire(deps, clock) == 1
    assert (await task_now(deps, task)).status is TaskStatus.EXPIRED


async def test_a_task_fully_claimed_at_its_end_expires_when_a_claim_ends(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    [task] = await new_tasks(deps, await new_project(deps), "t", slots=1, lifetime_seconds=3600)
    a = new_claim()
    await consume(deps, granted(task, a, clock.now() + timedelta(hours=2)))
    clock.advance(timedelta(hours=1))
    await fire(deps, clock)
    t = await task_now(deps, task)
    assert (t.status, t.lifecycle) == (TaskStatus.IN_PROGRESS, Lifecycle.EXPIRED)
    [change] = await published(deps, events_pb2.TaskChanged)
    assert change.lifecycle == events_pb2.TASK_LIFECYCLE_EXPIRED
    await consume(deps, ended(task, a))
    assert (await task_now(deps, task)).status is TaskStatus.EXPIRED


async def test_shortening_a_lifetime_moves_its_clock(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    [task] = await new_tasks(deps, await new_project(deps), "t")
    sooner = clock.now() + timedelta(minutes=5)
    cmd = lifecycle.update_task_lifetime(
        client_id="acme", task_id=str(task.task_id), expires_at=sooner
    )
    await task_handlers.update_task_lifetime(cmd, deps)
    clock.advance(timedelta(minutes=5))
    assert await fire(deps, clock) == 1
    assert (await task_now(deps, task)).status is TaskStatus.EXPIRED


# --- client commands ---------------------------------------------------------------------


async def test_cancel_is_announced_once_and_a_repeat_returns_the_same_task(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    project = await new_project(deps)
    [task] = await new_tasks(deps, project, "t", lifetime_seconds=3600)
    [done] = await new_tasks(deps, project, "done", slots=1)
    cmd = lifecycle.cancel_task(client_id="acme", task_id=str(task.task_id), reason="wrong data")
    cancelled = await task_handlers.cancel_task(cmd, deps)
    assert (cancelled.status, cancelled.cancelled_at, cancelled.cancel_reason) == (
        TaskStatus.CANCELLED,
        clock.now(),
        "wrong data",
    )
    clock.advance(timedelta(minutes=1))
    assert await task_handlers.cancel_task(cmd, deps) == cancelled
    [change] = await published(deps, events_pb2.TaskChanged)
    assert (change.lifecycle, change.task_id) == (
        events_pb2.TASK_LIFECYCLE_CANCELLED,
        str(task.task_id),
    )
    # Its lifetime clock still fires, and finds nothing to do.
    clock.advance(timedelta(hours=1))
    assert await fire(deps, clock) == 1
    assert await task_now(deps, task) == cancelled
    assert len(await published(deps, events_pb2.TaskChanged)) == 1
    log = await logged(deps)
    assert [kind for _, kind, _ in log] == ["task_changed"] * 3  # two new tasks, a cancel
    assert log[-1][2].task_changed.status == task_service_pb2.TASK_STATUS_CANCELLED

    # A completed task cannot be cancelled.
    a = new_claim()
    await consume(deps, granted(done, a, clock.now() + timedelta(minutes=5)))
    await consume(deps, submitted(done, a, clock.now()))
    clock.advance(timedelta(hours=2))
    await fire(deps, clock)
    assert (await task_now(deps, done)).status is TaskStatus.COMPLETED
    with pytest.raises(FailedPrecondition) as err:
        await task_handlers.cancel_task(
            lifecycle.cancel_task(client_id="acme", task_id=str(done.task_id), reason=""), deps
        )
    assert err.value.reason == "TASK_FINISHED"


async def test_an_expired_task_can_be_cancelled(dispatcher_deps: Deps, clock: FakeClock) -> None:
    deps = dispatcher_deps
    [task] = await new_tasks(deps, await new_project(deps), "t", lifetime_seconds=3600)
    clock.advance(timedelta(hours=1))
    await fire(deps, clock)
    cmd = lifecycle.cancel_task(client_id="acme", task_id=str(task.task_id), reason="")
    assert (await task_handlers.cancel_task(cmd, deps)).status is TaskStatus.CANCELLED


async def test_closing_a_project_cancels_its_unfinished_tasks_in_batches(
    dispatcher_deps: Deps, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """None of a closed project's tasks takes a claim again, so none stays OPEN: the
    close arms a clock that cancels them, a batch per firing. Tasks that ended stay."""
    from dispatcher.handlers import deadlines
    from dispatcher.handlers import projects as project_handlers

    deps = dispatcher_deps
    monkeypatch.setattr(deadlines, "CANCEL_BATCH", 2)
    project, other = await new_project(deps), await new_project(deps, request_id="other")
    waiting = await new_tasks(deps, project, "a", "b", "c", slots=1)
    [done, expired] = await new_tasks(deps, project, "done", "expired", slots=1)
    [elsewhere] = await new_tasks(deps, other, "elsewhere", slots=1)
    claim = new_claim()
    await consume(deps, granted(done, claim, clock.now() + timedelta(minutes=5)))
    await consume(deps, submitted(done, claim, clock.now()))
    await task_handlers.update_task_lifetime(
        lifecycle.update_task_lifetime(
            client_id="acme",
            task_id=str(expired.task_id),
            expires_at=clock.now() + timedelta(minutes=1),
        ),
        deps,
    )
    clock.advance(timedelta(hours=3))  # auto-accept completes one, the lifetime ends one
    await fire(deps, clock)
    before = len(await published(deps, events_pb2.TaskChanged))

    close = projects.change_project_state(
        project_id=project, client_id="acme", state=projects.ProjectState.CLOSED
    )
    await project_handlers.change_state(close, deps)
    assert await fire(deps, clock) == 0  # two tasks, and the clock moves on: not fired yet
    assert len(await published(deps, events_pb2.TaskChanged)) == before + 2
    clock.advance(timedelta(seconds=1))
    assert await fire(deps, clock) == 1  # the third, and the clock is done
    clock.advance(timedelta(seconds=1))
    assert await fire(deps, clock) == 0
    for task in waiting:
        now = await task_now(deps, task)
        assert (now.status, now.cancel_reason) == (TaskStatus.CANCELLED, "project closed")
    assert (await task_now(deps, done)).status is TaskStatus.COMPLETED
    assert (await task_now(deps, expired)).status is TaskStatus.EXPIRED
    assert (await task_now(deps, elsewhere)).status is TaskStatus.OPEN
    changes = (await published(deps, events_pb2.TaskChanged))[before:]
    assert sorted(c.task_id for c in changes) == sorted(str(t.task_id) for t in waiting)
    assert {c.lifecycle for c in changes} == {events_pb2.TASK_LIFECYCLE_CANCELLED}
    # Closing again changes nothing and arms nothing.
    await project_handlers.change_state(close, deps)
    assert await fire(deps, clock) == 0


def slots_cmd(task: Task, request_id: str, slots: int, client: str = "acme") -> lifecycle.AddSlots:
    return lifecycle.add_slots(
        client_id=client, request_id=request_id, task_id=str(task.task_id), slots=slots
    )


async def test_add_slots_is_idempotent_on_its_request_id_forever(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    [task, other] = await new_tasks(deps, await new_project(deps), "t", "u", slots=1)
    await consume(deps, granted(task, new_claim(), clock.now() + timedelta(minutes=5)))
    assert (await task_now(deps, task)).status is TaskStatus.IN_PROGRESS
    more = await task_handlers.add_slots(slots_cmd(task, "r-1", 2), deps)
    assert (more.slots, more.status) == (3, TaskStatus.OPEN)
    [change] = await published(deps, events_pb2.TaskChanged)
    assert (change.slots, change.lifecycle) == (3, events_pb2.TASK_LIFECYCLE_LIVE)

    # The same request again, even after the task finished, returns it and adds nothing.
    await task_handlers.cancel_task(
        lifecycle.cancel_task(client_id="acme", task_id=str(task.task_id), reason=""), deps
    )
    again = await task_handlers.add_slots(slots_cmd(task, "r-1", 2), deps)
    assert (again.slots, again.status) == (3, TaskStatus.CANCELLED)
    assert len(await published(deps, events_pb2.TaskChanged)) == 2  # + the cancel
    with pytest.raises(InvalidArgument) as bad:
        await task_handlers.add_slots(slots_cmd(task, "r-1", 5), deps)
    assert bad.value.field == "request_id"
    # A request id is per task.
    assert (await task_handlers.add_slots(slots_cmd(other, "r-1", 2), deps)).slots == 3


async def test_concurrent_copies_of_an_add_slots_add_once(dispatcher_deps: Deps) -> None:
    deps = dispatcher_deps
    [task] = await new_tasks(deps, await new_project(deps), "t", slots=1)
    results = await asyncio.gather(
        *(task_handlers.add_slots(slots_cmd(task, "r", 4), deps) for _ in range(5))
    )
    assert {r.slots for r in results} == {5}
    assert len(await published(deps, events_pb2.TaskChanged)) == 1


async def test_bad_commands_are_refused_precisely_and_change_nothing(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    [task, full] = await new_tasks(deps, await new_project(deps), "t", "full", slots=1)
    await task_handlers.add_slots(slots_cmd(full, "fill", 999), deps)
    before = (await task_now(deps, task), await task_now(deps, full), await published(deps))
    tid = str(task.task_id)

    async def refused(call: Any, error: type[Exception]) -> Any:
        with pytest.raises(error) as err:
            await call
        return err.value

    def lifetime(at: datetime, task_id: str = tid, client: str = "acme") -> Any:
        cmd = lifecycle.update_task_lifetime(client_id=client, task_id=task_id, expires_at=at)
        return task_handlers.update_task_lifetime(cmd, deps)

    now = clock.now()
    for at in (now - timedelta(seconds=1), now + timedelta(seconds=59), now + timedelta(days=366)):
        assert (await refused(lifetime(at), InvalidArgument)).field == "expires_at"
    over = await refused(task_handlers.add_slots(slots_cmd(full, "more", 1), deps), InvalidArgument)
    assert over.field == "slots"
    globex = "globex"
    await refused(task_handlers.add_slots(slots_cmd(task, "x", 1, client=globex), deps), NotFound)
    await refused(lifetime(now + timedelta(hours=2), client=globex), NotFound)
    await refused(
        task_handlers.cancel_task(
            lifecycle.cancel_task(client_id=globex, task_id=tid, reason=""), deps
        ),
        NotFound,
    )
    assert (await task_now(deps, task), await task_now(deps, full), await published(deps)) == before

    await task_handlers.cancel_task(
        lifecycle.cancel_task(client_id="acme", task_id=tid, reason=""), deps
    )
    finished = await refused(
        task_handlers.add_slots(slots_cmd(task, "y", 1), deps), FailedPrecondition
    )
    assert finished.reason == "TASK_FINISHED"
    finished = await refused(lifetime(now + timedelta(hours=2)), FailedPrecondition)
    assert finished.reason == "TASK_FINISHED"
    # The refused lifetime update left the clock as it was.
    async with deps.pool.acquire() as conn:
        found = await kernel_clock.find(conn, kind="task_lifetime", ref=tid)
    assert found is not None and found.deadline.due_at == task.expires_at


async def test_a_closed_projects_tasks_take_no_more_slots_or_life(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    from dispatcher.handlers import projects as project_handlers

    deps = dispatcher_deps
    project = await new_project(deps)
    [task] = await new_tasks(deps, project, "t")
    close = projects.change_project_state(
        project_id=project, client_id="acme", state=projects.ProjectState.CLOSED
    )
    await project_handlers.change_state(close, deps)
    with pytest.raises(FailedPrecondition) as err:
        await task_handlers.add_slots(slots_cmd(task, "r", 1), deps)
    assert err.value.reason == "PROJECT_CLOSED"
    cmd = lifecycle.update_task_lifetime(
        client_id="acme", task_id=str(task.task_id), expires_at=clock.now() + timedelta(hours=3)
    )
    with pytest.raises(FailedPrecondition) as err:
        await task_handlers.update_task_lifetime(cmd, deps)
    assert err.value.reason == "PROJECT_CLOSED"
    cancel = lifecycle.cancel_task(client_id="acme", task_id=str(task.task_id), reason="")
    assert (await task_handlers.cancel_task(cancel, deps)).status is TaskStatus.CANCELLED


# --- Watch -------------------------------------------------------------------------------


async def test_watch_numbers_events_in_commit_order_with_no_gaps(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    project = await new_project(deps)
    tasks = await new_tasks(deps, project, *(f"k{i}" for i in range(20)), slots=1)
    new = await logged(deps)
    assert [(seq, e.task_id) for seq, _, e in new] == [
        (i + 1, str(t.task_id)) for i, t in enumerate(tasks)
    ]

    # A transaction that logged first but commits last is numbered last.
    async with deps.pool.acquire() as slow:
        tx = slow.transaction()
        await tx.start()
        routes = handlers.event_routes(deps)
        ctx = EventContext(str(uuid.uuid4()), "c", "matcher", "t", 0, 0)
        await routes[events_pb2.ClaimGranted](
            slow, granted(tasks[0], new_claim(), clock.now() + timedelta(hours=1)), ctx
        )
        await task_handlers.add_slots(slots_cmd(tasks[1], "r", 1), deps)
        assert [kind for _, kind, _ in await logged(deps, after=20)] == ["task_changed"]
        await tx.commit()
    log = await logged(deps, after=20)
    assert [(seq, kind) for seq, kind, _ in log] == [
        (21, "task_changed"),
        (22, "claim_granted"),
        (23, "task_changed"),
    ]
    assert log[0][2].task_id == str(tasks[1].task_id)

    # Many concurrent transactions (commands and events, one task each): 1..N, no gap.
    async def busy(i: int, task: Task) -> None:
        if i % 2:
            await task_handlers.add_slots(slots_cmd(task, f"r{i}", 1), deps)
        else:
            await consume(deps, granted(task, new_claim(), clock.now() + timedelta(hours=1)))

    await asyncio.gather(*(busy(i, t) for i, t in enumerate(tasks[2:])))
    log = await logged(deps)
    assert [seq for seq, _, _ in log] == list(range(1, len(log) + 1))
    # 20 new tasks, 3 events above; then add slots: a snapshot; a grant: the event + a snapshot
    assert len(log) == 20 + 3 + 9 * 1 + 9 * 2
    # Resuming after any number gives exactly the rest.
    assert [seq for seq, _, _ in await logged(deps, after=37)] == list(range(38, len(log) + 1))
    assert await logged(deps, client="globex") == []


async def test_one_transaction_may_log_for_many_clients_in_any_order(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    """As the consumer applies a group of events, or the clock a batch of deadlines:
    heads are locked at commit, in one order, so opposite orders cannot deadlock."""
    deps = dispatcher_deps
    acme = await new_tasks(deps, await new_project(deps), *(f"a{i}" for i in range(10)))
    globex = await new_tasks(
        deps,
        await new_project(deps, client="globex"),
        *(f"g{i}" for i in range(10)),
        client="globex",
    )
    routes = handlers.event_routes(deps)
    hour = clock.now() + timedelta(hours=1)

    async def group(tasks: list[Task], *, immediate_at: int = -1) -> None:
        async with deps.pool.acquire() as conn, conn.transaction():
            for i, task in enumerate(tasks):
                ctx = EventContext(str(uuid.uuid4()), "c", "matcher", "t", 0, i)
                await routes[events_pb2.ClaimGranted](conn, granted(task, new_claim(), hour), ctx)
                if i == immediate_at:  # numbering mid-transaction, then more events
                    await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")

    await asyncio.gather(
        *(group([acme[i], globex[i]] if i % 2 else [globex[i], acme[i]]) for i in range(9))
    )
    # Numbered early (constraints made immediate), then more events: all are numbered.
    await group([acme[9], globex[9]], immediate_at=0)
    for client in ("acme", "globex"):
        log = await logged(deps, client=client)
        assert [seq for seq, _, _ in log] == list(range(1, 21))  # 10 new tasks, 10 claims
        assert [kind for _, kind, _ in log[10:]] == ["claim_granted"] * 10
    assert await deps.pool.fetchval("SELECT count(*) FROM watch_events WHERE seq IS NULL") == 0


async def test_watch_stream_replays_then_follows_and_resumes_after_a_drop(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = replace(
        dispatcher_deps,
        settings=replace(dispatcher_deps.settings, watch_keepalive_seconds=0.05),
    )
    project = await new_project(deps)
    other = await new_project(deps, request_id="q")
    [t1, t2] = await new_tasks(deps, project, "a", "b", slots=1)
    [t3] = await new_tasks(deps, other, "c", slots=1)
    hour = clock.now() + timedelta(hours=1)
    await task_handlers.add_slots(slots_cmd(t3, "r1", 1), deps)  # 1-3: the new tasks; 4

    def at(*seqs: int) -> list[str]:
        return [lifecycle.watch_cursor(seq) for seq in seqs]

    async with running_hub(deps) as hub:
        # No cursor: from now on. Idle, it sends keepalives; then new events come.
        fresh = watch_stream.stream(
            lifecycle.watch(client_id="acme", cursor="", project_id=""), deps, hub
        )
        assert (await asyncio.wait_for(anext(fresh), 10)).events == []
        await consume(deps, granted(t1, new_claim(), hour))  # 5 and 6
        got = await next_events(fresh, count=2)
        assert [e.WhichOneof("event") for e in got] == ["claim_granted", "task_changed"]
        assert [e.cursor for e in got] == at(5, 6)
        await fresh.aclose()

        # From the first event's cursor, one project only: replayed, then followed.
        query = lifecycle.watch(
            client_id="acme", cursor=lifecycle.watch_cursor(1), project_id=project
        )
        stream = watch_stream.stream(query, deps, hub)
        replayed = await next_events(stream, count=3)
        assert [e.cursor for e in replayed] == at(2, 5, 6)
        assert [e.task_id for e in replayed] == [str(t2.task_id), *[str(t1.task_id)] * 2]
        await task_handlers.add_slots(slots_cmd(t3, "r2", 1), deps)  # 7: another project
        claim = new_claim()
        await consume(deps, granted(t2, claim, hour))  # 8 and 9
        live = await next_events(stream, count=2)
        assert [e.cursor for e in live] == at(8, 9)
        await stream.aclose()  # the connection drops

        # Meanwhile more happens; resuming from the last cursor misses and repeats nothing.
        await consume(deps, ended(t2, claim))  # 10 and 11
        resumed = watch_stream.stream(
            lifecycle.watch(client_id="acme", cursor=live[-1].cursor, project_id=""), deps, hub
        )
        got = await next_events(resumed, count=2)
        assert [e.cursor for e in got] == at(10, 11)
        assert [e.WhichOneof("event") for e in got] == ["claim_ended", "task_changed"]
        assert got[1].task_changed.status == task_service_pb2.TASK_STATUS_OPEN
        assert not got[1].task_changed.HasField("payload_json")
        await resumed.aclose()


async def test_a_watch_cursor_must_be_one_the_client_was_given(
    dispatcher_deps: Deps,
) -> None:
    deps = dispatcher_deps
    for cursor in (
        "junk",
        PageCursor(datetime.now(UTC), "x").token(),  # another list's token
        encode_token("w", "-1"),
        encode_token("w", "1x"),
    ):
        with pytest.raises(InvalidArgument) as err:
            lifecycle.watch(client_id="acme", cursor=cursor, project_id="")
        assert err.value.field == "cursor"
    ahead = lifecycle.watch(client_id="acme", cursor=lifecycle.watch_cursor(5), project_id="")
    with pytest.raises(InvalidArgument) as err:
        await watch_handlers.start(ahead, deps)
    assert err.value.field == "cursor"


# --- the hub -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_hub(deps: Deps) -> AsyncIterator[WatchHub]:
    """A WatchHub listening on the test's database, as each dispatcher replica runs one."""
    database = await deps.pool.fetchval("SELECT current_database()")
    settings = PostgresSettings(host=PG_HOST, port=PG_PORT, user=PG_USER, database=database)
    metrics = Metrics.create("dispatcher_test")
    hub = WatchHub(
        dsn=settings.dsn,
        worker_health=WorkerHealth(metrics=metrics),
        registry=metrics.registry,
        service="dispatcher_test",
    )
    runner = asyncio.create_task(hub.run())
    await asyncio.wait_for(hub.listening.wait(), 10)
    try:
        yield hub
    finally:
        hub.stop()
        await runner


async def next_events(
    stream: AsyncIterator[task_service_pb2.WatchResponse], count: int = 1
) -> list[task_service_pb2.WatchEvent]:
    """The next ``count`` events, skipping keepalives."""
    events: list[task_service_pb2.WatchEvent] = []
    while len(events) < count:
        events.extend((await asyncio.wait_for(anext(stream), 10)).events)
    assert len(events) == count
    return events
