"""What the dispatcher does with tasks: commands from clients, events, deadlines."""

from __future__ import annotations

import uuid

import asyncpg

from crewline import clock
from crewline.auth.principal import Principal
from crewline.consumer import EventContext
from crewline.errors import NotFound
from crewline.log import bind_contextvars
from crewline.protobuf import from_timestamp, money_from_pb
from crewline.v1 import events_pb2
from dispatcher.adapters import protobuf as pb
from dispatcher.adapters import repository as repo
from dispatcher.deps import Deps
from dispatcher.domain.model import (
    Submission,
    SubmissionStatus,
    SubmitTask,
    Task,
    check_same_request,
)

AUTO_ACCEPT = "auto_accept"


async def submit_task(cmd: SubmitTask, deps: Deps) -> Task:
    """Publish a task, or return the one this request id already published."""
    async with deps.pool.acquire() as conn, conn.transaction():
        task = Task.publish(cmd, task_id=uuid.uuid4(), now=deps.clock.now())
        if await repo.insert_task(conn, task, cmd):
            await deps.publisher.publish(conn, pb.task_published(task))
            bind_contextvars(task_id=str(task.task_id))
            return task
        # The request id was used before (perhaps by a concurrent call that just committed).
        found = await repo.task_by_request(conn, client_id=cmd.client_id, request_id=cmd.request_id)
        assert found is not None, "ON CONFLICT said the row exists"
        existing, fingerprint = found
        check_same_request(fingerprint, cmd)
        return existing


async def get_task(
    task_id: uuid.UUID, caller: Principal, deps: Deps
) -> tuple[Task, list[Submission]]:
    """The caller's task and its submissions; another client's task is NOT_FOUND."""
    async with deps.pool.acquire() as conn:
        task = await repo.get_task(conn, task_id)
        if task is None or task.client_id != caller.id:
            raise NotFound(f"task {task_id} not found")
        return task, await repo.submissions_of(conn, task_id)


async def on_claim_granted(
    conn: asyncpg.Connection, event: events_pb2.ClaimGranted, ctx: EventContext, *, deps: Deps
) -> None:
    await repo.count_claim(conn, uuid.UUID(event.task_id))


async def on_work_submitted(
    conn: asyncpg.Connection, event: events_pb2.WorkSubmitted, ctx: EventContext, *, deps: Deps
) -> None:
    """Store the submission and start its auto-accept clock."""
    sub = Submission(
        submission_id=uuid.UUID(event.claim_id),
        task_id=uuid.UUID(event.task_id),
        contractor_id=event.contractor_id,
        status=SubmissionStatus.PENDING_REVIEW,
        reward=money_from_pb(event.reward),
        submitted_at=from_timestamp(event.submitted_at),
    )
    if await repo.insert_submission(conn, sub, event.result):
        due = deps.clock.now() + deps.settings.auto_accept_delay
        await clock.schedule(conn, kind=AUTO_ACCEPT, ref=event.claim_id, due_at=due)


async def auto_accept(conn: asyncpg.Connection, ref: str, *, deps: Deps) -> None:
    """The auto-accept delay passed with no review: accept, so the work gets paid."""
    sub = await repo.get_submission(conn, uuid.UUID(ref), for_update=True)
    if sub is None or sub.status is not SubmissionStatus.PENDING_REVIEW:
        return
    task = await repo.get_task(conn, sub.task_id, for_update=True)
    assert task is not None, "a submission always has its task"
    now = deps.clock.now()
    await repo.save_task_progress(conn, task.accept_one())
    await repo.mark_accepted(conn, sub.submission_id, now)
    await deps.publisher.publish(
        conn, pb.submission_accepted(sub, task, at=now, by=events_pb2.ACCEPTED_BY_AUTO_ACCEPT)
    )
