"""What the dispatcher does when one of its clocks fires: a claim's lease, a task's
lifetime, a submission's auto-accept delay, a closed project's unfinished tasks. Each
runs in the clock's transaction; the kernel fires each clock once, in one replica,
never early."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from crewline import clock
from crewline.clock import Deadline
from crewline.log import bind_contextvars, get_logger
from dispatcher.adapters import leases, lifecycle_pb
from dispatcher.adapters import repository as repo
from dispatcher.deps import Deps
from dispatcher.domain.leases import LeaseState
from dispatcher.domain.projects import CLOSED_REASON, PROJECT_CLOSED
from dispatcher.handlers import changes, review

log = get_logger(__name__)

CANCEL_BATCH = 500  # a closed project's tasks cancelled per firing of its clock


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
    """The auto-accept delay passed with no review: accept, so the work gets paid. Work
    reviewed meanwhile stays as it is (a review also removes this clock)."""
    await review.auto_accept(conn, uuid.UUID(deadline.ref), deps)


async def project_closed(conn: asyncpg.Connection, deadline: Deadline, *, deps: Deps) -> None:
    """The project was closed: its unfinished tasks are cancelled (reason ``project
    closed``), as CancelTask would, so each withdraws what is left of it and its live
    claims are cut. A batch per firing: while more remain, the clock is moved to now and
    fires again. Tasks that ended meanwhile stay as they are."""
    bind_contextvars(project_id=deadline.ref)
    tasks = await repo.unfinished_tasks_of_project(conn, deadline.ref, limit=CANCEL_BATCH)
    now = deps.clock.now()
    steps = [(task, task.cancel(reason=CLOSED_REASON, now=now), ()) for task in tasks]
    await changes.record_all(conn, steps, deps)
    if len(tasks) == CANCEL_BATCH:  # moved past its own due time, else it is not moved
        again = max(now, deadline.due_at + timedelta(microseconds=1))
        await clock.schedule(conn, kind=PROJECT_CLOSED, ref=deadline.ref, due_at=again)
