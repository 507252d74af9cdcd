"""What the dispatcher does when one of its clocks fires: a claim's lease, a task's
lifetime, a submission's auto-accept delay. Each runs in the clock's transaction;
the kernel fires each clock once, in one replica, never early."""

from __future__ import annotations

import uuid

import asyncpg

from crewline.clock import Deadline
from crewline.log import bind_contextvars, get_logger
from crewline.v1 import events_pb2
from dispatcher.adapters import leases, lifecycle_pb
from dispatcher.adapters import protobuf as pb
from dispatcher.adapters import repository as repo
from dispatcher.deps import Deps
from dispatcher.domain.leases import LeaseState
from dispatcher.domain.model import SubmissionStatus
from dispatcher.handlers import changes

log = get_logger(__name__)


async def lease_elapsed(conn: asyncpg.Connection, deadline: Deadline, *, deps: Deps) -> None:
    """The lease's deadline passed: tell the matcher, which ends the claim only if it
    is still live and its deadline (a heartbeat may have moved it) has passed."""
    lease = await leases.get(conn, uuid.UUID(deadline.ref))
    if lease is None or lease.state is not LeaseState.LIVE:
        return  # submitted or ended meanwhile: nothing elapsed
    bind_contextvars(task_id=str(lease.task_id))
    await deps.publisher.publish(conn, lifecycle_pb.lease_elapsed(lease, deadline.due_at))


async def task_lifetime_ended(conn: asyncpg.Connection, deadline: Deadline, *, deps: Deps) -> None:
    """The task takes no new claims: TaskChanged(EXPIRED) tells the pool. Claims
    running may still finish. A finished task stays as it is."""
    task = await changes.locked_task(conn, uuid.UUID(deadline.ref))
    if task is None:
        log.warning("task_lifetime_of_unknown_task", task_id=deadline.ref)
        return
    await changes.record(conn, task, task.lifetime_ended(now=deps.clock.now()), deps)


async def auto_accept(conn: asyncpg.Connection, deadline: Deadline, *, deps: Deps) -> None:
    """The auto-accept delay passed with no review: accept, so the work gets paid."""
    sub = await repo.get_submission(conn, uuid.UUID(deadline.ref), for_update=True)
    if sub is None or sub.status is not SubmissionStatus.PENDING_REVIEW:
        return
    task = await changes.locked_task(conn, sub.task_id)
    assert task is not None, "a submission always has its task"
    now = deps.clock.now()
    accepted = task.accept_one(now=now)
    await repo.mark_accepted(conn, sub.submission_id, now)
    event = pb.submission_accepted(sub, task, at=now, by=events_pb2.ACCEPTED_BY_AUTO_ACCEPT)
    await deps.publisher.publish(conn, event)
    seen = lifecycle_pb.watch_claim(
        "submission_accepted",
        event,
        client_id=task.client_id,
        project_id=task.project_id,
        task_id=task.task_id,
        at=now,
    )
    await changes.record(conn, task, accepted, deps, events=[seen])
