"""What the dispatcher does with tasks on their clients' commands."""

from __future__ import annotations

import uuid

import asyncpg

from crewline import clock
from crewline.auth.principal import Principal
from crewline.errors import InvalidArgument, NotFound
from crewline.log import bind_contextvars
from crewline.paging import PageCursor, split_page
from dispatcher.adapters import lifecycle_pb, submissions
from dispatcher.adapters import projects as repo_projects
from dispatcher.adapters import protobuf as pb
from dispatcher.adapters import repository as repo
from dispatcher.deps import Deps
from dispatcher.domain.bonuses import Bonus
from dispatcher.domain.lifecycle import AddSlots, CancelTask, UpdateTaskLifetime
from dispatcher.domain.model import ListTasks, SubmitTasks
from dispatcher.domain.projects import ProjectState, closed_error
from dispatcher.domain.review import Submission
from dispatcher.domain.tasks import Task
from dispatcher.handlers import changes

TASK_LIFETIME = "task_lifetime"  # the clock kind; its ref is the task id


async def submit_tasks(cmd: SubmitTasks, deps: Deps) -> list[Task]:
    """Publish a batch of tasks, all or nothing; each key already used returns its task.

    One transaction: one statement inserts the batch, arms its lifetime clocks and logs
    the new tasks for Watch; one outbox write holds its events. A key reused for a
    different task refuses the whole batch, and nothing is written. A closed project
    takes no new task (a repeat of tasks it took before still returns them).
    """
    async with deps.pool.acquire() as conn, conn.transaction():
        return await publish_tasks(conn, cmd, deps)


async def publish_tasks(conn: asyncpg.Connection, cmd: SubmitTasks, deps: Deps) -> list[Task]:
    """``submit_tasks`` in the caller's transaction (the consumer's, for a gold task).
    A project not the client's is NOT_FOUND and a closed one FAILED_PRECONDITION, both
    raised before anything is written. A spec's own task id (a gold task's) is its
    task's; any other task gets a new one."""
    # Shared: a concurrent close waits for this batch, or this batch sees it closed.
    project = await repo_projects.get_project(conn, cmd.project_id, share=True)
    if project is None or project.client_id != cmd.client_id:
        raise NotFound(f"project {cmd.project_id} not found")
    specs = cmd.distinct()
    if project.state is ProjectState.CLOSED:
        earlier = await repo.tasks_by_key(conn, client_id=cmd.client_id, keys=list(specs))
        if len(earlier) < len(specs):
            raise closed_error(cmd.project_id)
        return cmd.answer({}, earlier)
    now, min_seconds = deps.clock.now(), deps.settings.min_duration_seconds
    planned = {
        key: Task.publish(
            spec,
            project=project,
            task_id=spec.task_id or uuid.uuid4(),
            now=now,
            min_seconds=min_seconds,
        )
        for key, spec in specs.items()
    }
    fingerprints = [spec.fingerprint(cmd.project_id) for spec in specs.values()]
    watched = [lifecycle_pb.watch_task(t, at=now).body() for t in planned.values()]
    inserted = await repo.insert_tasks(
        conn, list(planned.values()), fingerprints, watched, clock=TASK_LIFETIME
    )
    # Keys used before, perhaps by a concurrent copy of this batch that just committed.
    earlier = await repo.tasks_by_key(
        conn,
        client_id=cmd.client_id,
        keys=[key for key, task in planned.items() if task.task_id not in inserted],
    )
    tasks = cmd.answer(planned, earlier)  # refuses a reused key: the rollback undoes all
    new = [
        pb.task_published(t, unpaid=specs[key].unpaid)
        for key, t in planned.items()
        if t.task_id in inserted
    ]
    await deps.publisher.publish_many(conn, new)
    return tasks


async def get_task(
    task_id: uuid.UUID, caller: Principal, deps: Deps
) -> tuple[Task, list[tuple[Submission, list[Bonus]]]]:
    """The caller's task and its submissions (without their results), with their
    bonuses; another client's task is NOT_FOUND."""
    async with deps.pool.acquire() as conn:
        task = await changes.owned_task(conn, task_id, caller.id, lock=False)
        found = await submissions.of_task(conn, task_id)
        bonuses = await submissions.bonuses_of(conn, [s.submission_id for s in found])
    return task, [(s, bonuses.get(s.submission_id, [])) for s in found]


async def list_tasks(query: ListTasks, deps: Deps) -> tuple[list[Task], PageCursor | None]:
    """One page of the caller's tasks, least recently updated first, and the next page's
    start. A project not the caller's is NOT_FOUND."""
    async with deps.pool.acquire() as conn:
        if query.project_id is not None:
            await changes.own_project_id(conn, query.project_id, query.client_id)
        found = await repo.list_tasks(conn, query)
    page, last = split_page(found, query.page_size)
    return page, (last.cursor if last else None)


async def cancel_task(cmd: CancelTask, deps: Deps) -> Task:
    """Cancel for good: TaskChanged(CANCELLED) withdraws its open slots; claims running
    follow the work-in-progress policy (the matcher's). Again: the same task, no event.

    The lifetime clock is left to fire (and find the task cancelled): cancelling it here
    would lock the clock after the task, the reverse of the clock's own order.
    """
    bind_contextvars(task_id=str(cmd.task_id))
    async with deps.pool.acquire() as conn, conn.transaction():
        task = await changes.owned_task(conn, cmd.task_id, cmd.client_id)
        cancelled = task.cancel(reason=cmd.reason, now=deps.clock.now())
        await changes.record(conn, task, cancelled, deps)
        return cancelled


async def add_slots(cmd: AddSlots, deps: Deps) -> Task:
    """More assignments for a live task; a request id repeated returns the task as it is."""
    bind_contextvars(task_id=str(cmd.task_id))
    async with deps.pool.acquire() as conn, conn.transaction():
        task = await changes.owned_task(conn, cmd.task_id, cmd.client_id)
        earlier = await repo.slot_request(conn, cmd.task_id, cmd.request_id)
        if earlier is not None:
            if earlier != cmd.slots:
                raise InvalidArgument("request_id", "was already used for a different request")
            return task
        now = deps.clock.now()
        more = task.add_slots(cmd.slots, now=now)
        await _project_not_closed(conn, task)
        await repo.record_slot_request(conn, cmd.task_id, cmd.request_id, cmd.slots, now)
        await changes.record(conn, task, more, deps)
        return more


async def update_task_lifetime(cmd: UpdateTaskLifetime, deps: Deps) -> Task:
    """A new end of life, earlier or later; extending an expired task revives it (its
    fired clock is re-armed). The same end again changes nothing."""
    bind_contextvars(task_id=str(cmd.task_id))
    now, min_seconds = deps.clock.now(), deps.settings.min_duration_seconds
    async with deps.pool.acquire() as conn, conn.transaction():
        seen = await changes.owned_task(conn, cmd.task_id, cmd.client_id, lock=False)
        seen.relive(cmd.expires_at, now=now, min_seconds=min_seconds)  # bad input: refused now
        # The clock first, then the task: the order the clock takes them when it fires,
        # so a firing in flight is waited for, never deadlocked with. A refusal below
        # rolls the clock back with everything else.
        await clock.rearm(conn, kind=TASK_LIFETIME, ref=str(cmd.task_id), due_at=cmd.expires_at)
        task = await changes.owned_task(conn, cmd.task_id, cmd.client_id)
        relived = task.relive(cmd.expires_at, now=now, min_seconds=min_seconds)
        await _project_not_closed(conn, task)
        await changes.record(conn, task, relived, deps)
        return relived


async def _project_not_closed(conn: asyncpg.Connection, task: Task) -> None:
    """A closed project's tasks take no more slots or life (held until commit)."""
    project = await repo_projects.get_project(conn, task.project_id, share=True)
    if project is not None:  # tasks from before projects have none
        project.check_not_closed()
