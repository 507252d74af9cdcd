"""What the dispatcher does with the matcher's claim events: count live claims, keep
each claim's lease clock, store submissions, and log it all for the client's Watch.

Each handler runs in the consumer's transaction (whose inbox drops a redelivered
event); each also moves a claim at most once itself (``claim_leases``), so a repeat
changes nothing even without the inbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg
from google.protobuf.message import Message

from crewline import clock
from crewline.consumer import EventContext
from crewline.errors import PermanentEventError
from crewline.log import bind_contextvars, get_logger, new_correlation_id
from crewline.protobuf import from_timestamp, money_from_pb, pay_terms_from_pb
from crewline.v1 import events_pb2
from dispatcher.adapters import exam_questions, leases, lifecycle_pb, review_holds, submissions
from dispatcher.adapters import projects as repo_projects
from dispatcher.adapters import repository as repo
from dispatcher.adapters.lifecycle_pb import ClaimEvent
from dispatcher.adapters.watch_log import Entry
from dispatcher.deps import Deps
from dispatcher.domain.exams import ExamQuestion
from dispatcher.domain.leases import LEASE, Lease, LeaseState
from dispatcher.domain.projects import DEFAULT_AUTO_ACCEPT
from dispatcher.domain.review import AUTO_ACCEPT, Submission, SubmissionStatus
from dispatcher.domain.tasks import Task
from dispatcher.domain.time_flags import Interval
from dispatcher.handlers import changes, review, sanctions, time_flags

log = get_logger(__name__)


def _seen(name: ClaimEvent, event: Message, task: Task, *, at: datetime) -> Entry:
    """The event as the task's client sees it in Watch."""
    return lifecycle_pb.watch_claim(
        name,
        event,
        client_id=task.client_id,
        project_id=task.project_id,
        task_id=task.task_id,
        at=at,
    )


async def _task(conn: asyncpg.Connection, task_id: str) -> Task:
    task = await changes.locked_task(conn, uuid.UUID(task_id))
    if task is None:
        raise PermanentEventError(f"task {task_id} is not the dispatcher's")
    bind_contextvars(task_id=task_id)
    return task


def _lease(event: events_pb2.ClaimGranted, task: Task) -> Lease:
    """The dispatcher's record of a granted claim. A grant from before leases (a matcher
    not yet upgraded) has no deadline to keep."""
    return Lease(
        claim_id=uuid.UUID(event.claim_id),
        task_id=task.task_id,
        client_id=task.client_id,
        project_id=task.project_id,
        contractor_id=event.contractor_id,
        state=LeaseState.LIVE,
        deadline_at=from_timestamp(event.deadline_at) if event.HasField("deadline_at") else None,
        granted_at=from_timestamp(event.granted_at),
    )


async def on_claim_granted(
    conn: asyncpg.Connection, event: events_pb2.ClaimGranted, ctx: EventContext, *, deps: Deps
) -> None:
    """A live claim more, and its lease clock, due at the claim's deadline: the
    consumer's single handler for ``on_claims_granted``, one grant."""
    await on_claims_granted(conn, [(event, ctx)], deps=deps)


async def on_claims_granted(
    conn: asyncpg.Connection,
    events: Sequence[tuple[events_pb2.ClaimGranted, EventContext]],
    *,
    deps: Deps,
) -> None:
    """Grants, in order, each a live claim more on its task and a lease clock due at
    the claim's deadline; a claim recorded before changes nothing. A few statements
    for the lot: the tasks locked at once (in task id order), every lease and clock in
    one write each, each task stored once; a burst of claims is caught up in a fraction
    of the time one statement per step took."""
    wanted = {uuid.UUID(e.task_id) for e, _ in events}
    tasks = await repo.locked_tasks(conn, wanted)
    if missing := wanted - tasks.keys():
        raise PermanentEventError(f"tasks {sorted(map(str, missing))} are not the dispatcher's")
    granted_leases = [_lease(e, tasks[uuid.UUID(e.task_id)]) for e, _ in events]
    new = await leases.insert_many(conn, granted_leases)
    clocks: list[tuple[str, datetime, str]] = []
    steps: list[tuple[Task, Task, Sequence[Entry]]] = []
    for (event, ctx), lease in zip(events, granted_leases, strict=True):
        if lease.claim_id not in new:
            continue  # recorded before: a repeat
        new.discard(lease.claim_id)
        if lease.deadline_at is not None:
            # As ``clock.schedule`` under the consumer's bound context would record it.
            correlation_id = ctx.correlation_id or new_correlation_id()
            clocks.append((event.claim_id, lease.deadline_at, correlation_id))
        task = tasks[lease.task_id]
        granted = task.claim_granted(now=deps.clock.now())
        steps.append(
            (task, granted, [_seen("claim_granted", event, granted, at=granted.updated_at)])
        )
        tasks[granted.task_id] = granted
    await clock.schedule_many(conn, kind=LEASE, clocks=clocks)
    await changes.record_all(conn, steps, deps)


async def on_claim_extended(
    conn: asyncpg.Connection, event: events_pb2.ClaimExtended, ctx: EventContext, *, deps: Deps
) -> None:
    """A heartbeat moved the lease: move its clock, or re-arm it if it fired already
    (the matcher will have found the deadline not passed, and kept the claim)."""
    claim_id = uuid.UUID(event.claim_id)
    deadline = from_timestamp(event.deadline_at)
    if not await leases.extend(conn, claim_id, deadline):
        return
    await clock.rearm(conn, kind=LEASE, ref=event.claim_id, due_at=deadline)
    task = await repo.get_task(conn, uuid.UUID(event.task_id))  # for its client: no lock
    if task is not None:
        seen = _seen("claim_extended", event, task, at=deps.clock.now())
        await changes.record(conn, task, task, deps, events=[seen])


async def on_claim_ended(
    conn: asyncpg.Connection, event: events_pb2.ClaimEnded, ctx: EventContext, *, deps: Deps
) -> None:
    """A claim ended without work: one live claim less, and no lease clock. A task
    reserved for the claim's contractor ends with it (cancelled: no one else may take it)."""
    task = await _task(conn, event.task_id)
    if not await leases.finish(conn, uuid.UUID(event.claim_id), LeaseState.ENDED):
        return
    await clock.cancel(conn, kind=LEASE, ref=event.claim_id)
    now = deps.clock.now()
    ended = task.claim_ended(now=now)
    seen = _seen("claim_ended", event, ended, at=ended.updated_at)
    over = ended.ended_with_claim_of(event.contractor_id, submitted=False, now=now)
    await changes.record(conn, task, over, deps, events=[seen])


async def on_work_submitted(
    conn: asyncpg.Connection, event: events_pb2.WorkSubmitted, ctx: EventContext, *, deps: Deps
) -> None:
    """Store the submission, stop the lease clock, and start the auto-accept clock
    after the project's delay; work with time flags is stored with them, and waits for
    its review with no such clock, as does work made while a review-everything
    sanction holds its contractor in the project. A task reserved for the claim's
    contractor ends with it (cancelled); the work is reviewed and paid as any, but an
    exam's question's is accepted at once (``_accept_exam_work``). Gold whose key holds
    text or rubric fields waits for its review with no such clock, an exam's question
    too (not accepted at once): the review's verdict judges those fields."""
    task = await _task(conn, event.task_id)
    claim_id = uuid.UUID(event.claim_id)
    now = deps.clock.now()
    question = await exam_questions.get(conn, task.task_id)
    reviewed = await review_holds.needs_review(conn, task.task_id)
    sub, segments = await _stored(conn, event, task, question, reviewed=reviewed, now=now)
    if not await submissions.insert(conn, sub):
        return
    await time_flags.record(conn, sub, segments, deps)
    was_live = await leases.finish(conn, claim_id, LeaseState.SUBMITTED)
    if was_live:
        await clock.cancel(conn, kind=LEASE, ref=event.claim_id)
    else:  # a claim granted before the dispatcher kept leases: note it, done
        await leases.insert(conn, _submitted_lease(event, task))
    if sub.auto_accept_at is not None:
        await clock.schedule(conn, kind=AUTO_ACCEPT, ref=event.claim_id, due_at=sub.auto_accept_at)
    submitted = task.work_submitted(was_live=was_live, now=now)
    seen = _seen("work_submitted", event, submitted, at=now)
    over = submitted.ended_with_claim_of(event.contractor_id, submitted=True, now=now)
    await changes.record(conn, task, over, deps, events=[seen])
    if question is not None and not reviewed:
        await _accept_exam_work(conn, sub, question, deps)
    elif question is not None:
        log.info("exam_work_awaits_review", exam_attempt_id=question.attempt_id)


async def _stored(
    conn: asyncpg.Connection,
    event: events_pb2.WorkSubmitted,
    task: Task,
    question: ExamQuestion | None,
    *,
    reviewed: bool,
    now: datetime,
) -> tuple[Submission, list[Interval]]:
    """The submission as it is to be stored, and its tracked segments. An exam's
    question's work has no auto-accept time and is neither flagged nor held for a
    review-everything sanction: it is accepted at once, or (``reviewed``) its client
    reviews it for the exam alone, and time flags on it would count in the quality
    service's rules as flags on the client's work. Work that is ``reviewed`` (its key
    holds text or rubric fields) has no auto-accept time: accepted unjudged, its answer
    could never be judged."""
    project = await repo_projects.get_project(conn, task.project_id)
    delay = project.auto_accept_delay_seconds if project else DEFAULT_AUTO_ACCEPT
    auto_accept_at = now + timedelta(seconds=delay)
    sub = await _submission(conn, event, task, auto_accept_at=auto_accept_at)
    segments = time_flags.tracked(event, sub)
    if question is not None:
        return sub.for_exam(unpaid=question.unpaid), segments
    sub = sub.flagged(await time_flags.assess(conn, sub, segments))
    sub = await sanctions.held(conn, sub, now=now)
    return (sub.held_for_review() if reviewed else sub), segments


async def _accept_exam_work(
    conn: asyncpg.Connection, sub: Submission, question: ExamQuestion, deps: Deps
) -> None:
    """Accept an exam's question's work as it is handed in, by the path every acceptance
    takes (``store_acceptance``): SubmissionAccepted (``unpaid`` for an unpaid exam, which
    the ledger records without pay), the task's counts, the client's Watch."""
    accepted = sub.accept_by_exam(now=deps.clock.now())
    await review.store_acceptance(conn, sub, accepted, deps)
    log.info("exam_work_accepted", exam_attempt_id=question.attempt_id, unpaid=sub.unpaid)


async def _submission(
    conn: asyncpg.Connection,
    event: events_pb2.WorkSubmitted,
    task: Task,
    *,
    auto_accept_at: datetime,
) -> Submission:
    """The submission from the matcher's event. Older events lack the time worked (0),
    the grant time (the claim's, from ClaimGranted, if the dispatcher heard of it) or
    the terms (work from before projects)."""
    granted_at = from_timestamp(event.granted_at) if event.HasField("granted_at") else None
    if granted_at is None:
        lease = await leases.get(conn, uuid.UUID(event.claim_id))
        granted_at = lease.granted_at if lease else None
    return Submission(
        submission_id=uuid.UUID(event.claim_id),
        task_id=task.task_id,
        client_id=task.client_id,
        project_id=task.project_id,
        contractor_id=event.contractor_id,
        status=SubmissionStatus.PENDING_REVIEW,
        reward=money_from_pb(event.reward),
        worked_seconds=max(event.worked_seconds, 0),
        pay_terms=pay_terms_from_pb(event.pay_terms) if event.HasField("pay_terms") else None,
        granted_at=granted_at,
        submitted_at=from_timestamp(event.submitted_at),
        auto_accept_at=auto_accept_at,
        result=event.result,
    )


async def on_claim_settled(
    conn: asyncpg.Connection, event: events_pb2.ClaimSettled, ctx: EventContext, *, deps: Deps
) -> None:
    """What a cut claim is owed: shown to the client in Watch (the ledger posts it)."""
    claim_id = uuid.UUID(event.claim_id)
    now = deps.clock.now()
    if not await leases.settle(conn, claim_id, now) and await leases.get(conn, claim_id):
        return  # noted before
    task = await repo.get_task(conn, uuid.UUID(event.task_id))  # for its client: no lock
    if task is not None:
        seen = _seen("claim_settled", event, task, at=now)
        await changes.record(conn, task, task, deps, events=[seen])


def _submitted_lease(event: events_pb2.WorkSubmitted, task: Task) -> Lease:
    return Lease(
        claim_id=uuid.UUID(event.claim_id),
        task_id=task.task_id,
        client_id=task.client_id,
        project_id=task.project_id,
        contractor_id=event.contractor_id,
        state=LeaseState.SUBMITTED,
        deadline_at=None,
        granted_at=None,
    )
