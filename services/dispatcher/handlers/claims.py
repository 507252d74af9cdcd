"""What the dispatcher does with the matcher's claim events: count live claims, keep
each claim's lease clock, store submissions, and log it all for the client's Watch.

Each handler runs in the consumer's transaction (whose inbox drops a redelivered
event); each also moves a claim at most once itself (``claim_leases``), so a repeat
changes nothing even without the inbox.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg
from google.protobuf.message import Message

from crewline import clock
from crewline.consumer import EventContext
from crewline.log import bind_contextvars
from crewline.protobuf import from_timestamp, money_from_pb
from crewline.v1 import events_pb2
from dispatcher.adapters import leases, lifecycle_pb
from dispatcher.adapters import projects as repo_projects
from dispatcher.adapters import repository as repo
from dispatcher.adapters.lifecycle_pb import ClaimEvent
from dispatcher.adapters.watch_log import Entry
from dispatcher.deps import Deps
from dispatcher.domain.leases import LEASE, Lease, LeaseState
from dispatcher.domain.model import Submission, SubmissionStatus
from dispatcher.domain.projects import DEFAULT_AUTO_ACCEPT
from dispatcher.domain.tasks import Task
from dispatcher.handlers import changes

AUTO_ACCEPT = "auto_accept"  # the clock kind; its ref is the submission (claim) id


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
        raise LookupError(f"task {task_id} is not the dispatcher's")  # a dead letter
    bind_contextvars(task_id=task_id)
    return task


async def on_claim_granted(
    conn: asyncpg.Connection, event: events_pb2.ClaimGranted, ctx: EventContext, *, deps: Deps
) -> None:
    """A live claim more, and its lease clock, due at the claim's deadline."""
    task = await _task(conn, event.task_id)
    # A grant from before leases (a matcher not yet upgraded) has no deadline to keep.
    deadline = from_timestamp(event.deadline_at) if event.HasField("deadline_at") else None
    lease = Lease(
        claim_id=uuid.UUID(event.claim_id),
        task_id=task.task_id,
        client_id=task.client_id,
        project_id=task.project_id,
        contractor_id=event.contractor_id,
        state=LeaseState.LIVE,
        deadline_at=deadline,
        granted_at=from_timestamp(event.granted_at),
    )
    if not await leases.insert(conn, lease):
        return
    if deadline is not None:
        await clock.schedule(conn, kind=LEASE, ref=event.claim_id, due_at=deadline)
    granted = task.claim_granted(now=deps.clock.now())
    seen = _seen("claim_granted", event, granted, at=granted.updated_at)
    await changes.record(conn, task, granted, deps, events=[seen])


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
    """A claim ended without work: one live claim less, and no lease clock."""
    task = await _task(conn, event.task_id)
    if not await leases.finish(conn, uuid.UUID(event.claim_id), LeaseState.ENDED):
        return
    await clock.cancel(conn, kind=LEASE, ref=event.claim_id)
    ended = task.claim_ended(now=deps.clock.now())
    seen = _seen("claim_ended", event, ended, at=ended.updated_at)
    await changes.record(conn, task, ended, deps, events=[seen])


async def on_work_submitted(
    conn: asyncpg.Connection, event: events_pb2.WorkSubmitted, ctx: EventContext, *, deps: Deps
) -> None:
    """Store the submission, stop the lease clock, and start the auto-accept clock
    after the project's delay."""
    task = await _task(conn, event.task_id)
    claim_id = uuid.UUID(event.claim_id)
    sub = Submission(
        submission_id=claim_id,
        task_id=task.task_id,
        contractor_id=event.contractor_id,
        status=SubmissionStatus.PENDING_REVIEW,
        reward=money_from_pb(event.reward),
        submitted_at=from_timestamp(event.submitted_at),
    )
    if not await repo.insert_submission(conn, sub, event.result):
        return
    was_live = await leases.finish(conn, claim_id, LeaseState.SUBMITTED)
    if was_live:
        await clock.cancel(conn, kind=LEASE, ref=event.claim_id)
    else:  # a claim granted before the dispatcher kept leases: note it, done
        await leases.insert(conn, _submitted_lease(event, task))
    now = deps.clock.now()
    project = await repo_projects.get_project(conn, task.project_id)
    delay = project.auto_accept_delay_seconds if project else DEFAULT_AUTO_ACCEPT
    await clock.schedule(
        conn, kind=AUTO_ACCEPT, ref=event.claim_id, due_at=now + timedelta(seconds=delay)
    )
    submitted = task.work_submitted(was_live=was_live, now=now)
    seen = _seen("work_submitted", event, submitted, at=now)
    await changes.record(conn, task, submitted, deps, events=[seen])


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
