"""What the dispatcher does with tasks: commands from clients, events, deadlines."""

from __future__ import annotations

import uuid

import asyncpg

from crewline import clock
from crewline.auth.principal import Principal
from crewline.consumer import EventContext
from crewline.errors import NotFound
from crewline.paging import PageCursor
from crewline.protobuf import from_timestamp, money_from_pb
from crewline.v1 import events_pb2
from dispatcher.adapters import projects as repo_projects
from dispatcher.adapters import protobuf as pb
from dispatcher.adapters import repository as repo
from dispatcher.deps import Deps
from dispatcher.domain.model import (
    ListTasks,
    Submission,
    SubmissionStatus,
    SubmitTasks,
    Task,
)

AUTO_ACCEPT = "auto_accept"


async def submit_tasks(cmd: SubmitTasks, deps: Deps) -> list[Task]:
    """Publish a batch of tasks, all or nothing; each key already used returns its task.

    One transaction: one insert for the batch, one outbox write for its events. A key
    reused for a different task refuses the whole batch, and nothing is written.
    """
    async with deps.pool.acquire() as conn, conn.transaction():
        project = await repo_projects.get_project(conn, cmd.project_id)
        if project is None or project.client_id != cmd.client_id:
            raise NotFound(f"project {cmd.project_id} not found")
        now = deps.clock.now()
        specs = cmd.distinct()
        planned = {
            key: Task.publish(spec, project=project, task_id=uuid.uuid4(), now=now)
            for key, spec in specs.items()
        }
        fingerprints = [spec.fingerprint(cmd.project_id) for spec in specs.values()]
        inserted = await repo.insert_tasks(conn, list(planned.values()), fingerprints)
        # Keys used before, perhaps by a concurrent copy of this batch that just committed.
        earlier = await repo.tasks_by_key(
            conn,
            client_id=cmd.client_id,
            keys=[key for key, task in planned.items() if task.task_id not in inserted],
        )
        tasks = cmd.answer(planned, earlier)  # refuses a reused key: the rollback undoes all
        new = [pb.task_published(t) for t in planned.values() if t.task_id in inserted]
        await deps.publisher.publish_many(conn, new)
        return tasks


async def get_task(
    task_id: uuid.UUID, caller: Principal, deps: Deps
) -> tuple[Task, list[Submission]]:
    """The caller's task and its submissions; another client's task is NOT_FOUND."""
    async with deps.pool.acquire() as conn:
        task = await repo.get_task(conn, task_id)
        if task is None or task.client_id != caller.id:
            raise NotFound(f"task {task_id} not found")
        return task, await repo.submissions_of(conn, task_id)


async def list_tasks(query: ListTasks, deps: Deps) -> tuple[list[Task], PageCursor | None]:
    """One page of the caller's tasks, least recently updated first, and the next page's start."""
    async with deps.pool.acquire() as conn:
        found = await repo.list_tasks(conn, query)
    page = found[: query.page_size]
    return page, (page[-1].cursor if len(found) > query.page_size else None)


async def on_claim_granted(
    conn: asyncpg.Connection, event: events_pb2.ClaimGranted, ctx: EventContext, *, deps: Deps
) -> None:
    await repo.count_claim(conn, uuid.UUID(event.task_id), now=deps.clock.now())


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
    if await repo.insert_submission(conn, sub, event.result, now=deps.clock.now()):
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
    await repo.save_task_progress(conn, task.accept_one(now=now))
    await repo.mark_accepted(conn, sub.submission_id, now)
    await deps.publisher.publish(
        conn, pb.submission_accepted(sub, task, at=now, by=events_pb2.ACCEPTED_BY_AUTO_ACCEPT)
    )
