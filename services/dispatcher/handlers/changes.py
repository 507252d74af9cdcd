"""How any handler stores a task's change, with everything it causes, in one
transaction: the task row, its client's Watch log, and TaskChanged for the pool."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from crewline.errors import NotFound
from dispatcher.adapters import lifecycle_pb, projects, watch_log
from dispatcher.adapters import repository as repo
from dispatcher.deps import Deps
from dispatcher.domain.tasks import Task


async def locked_task(conn: asyncpg.Connection, task_id: uuid.UUID) -> Task | None:
    """The task, locked until commit: every change of a task is made under this lock."""
    return await repo.get_task(conn, task_id, for_update=True)


async def owned_task(
    conn: asyncpg.Connection, task_id: uuid.UUID, client_id: str, *, lock: bool = True
) -> Task:
    """The caller's task (locked, unless ``lock`` is False); another client's is
    NOT_FOUND, so existence never leaks."""
    task = await repo.get_task(conn, task_id, for_update=lock)
    if task is None or task.client_id != client_id:
        raise NotFound(f"task {task_id} not found")
    return task


async def own_project_id(conn: asyncpg.Connection, project_id: str, client_id: str) -> None:
    """Refuse a project id that is not the caller's (a filter of a list or of Watch): an
    unknown one and another client's both answer NOT_FOUND, so existence never leaks."""
    if not await projects.client_holds(conn, client_id, project_id):
        raise NotFound(f"project {project_id} not found")


async def record(
    conn: asyncpg.Connection,
    before: Task,
    after: Task,
    deps: Deps,
    *,
    events: Sequence[watch_log.Entry] = (),
) -> None:
    """Store ``after`` (unless it is ``before``: nothing changed), log ``events`` and,
    when the client sees a change, a snapshot of the task in its Watch log; tell the
    pool with TaskChanged when its lifecycle, slots or lifetime moved."""
    await record_all(conn, [(before, after, events)], deps)


async def record_all(
    conn: asyncpg.Connection,
    steps: Sequence[tuple[Task, Task, Sequence[watch_log.Entry]]],
    deps: Deps,
) -> None:
    """``record`` for a sequence of changes, in order, in a few statements: each task's
    last state stored once, every Watch entry in one write, every TaskChanged in one."""
    entries: list[watch_log.Entry] = []
    saved: dict[uuid.UUID, Task] = {}
    pool_events = []
    for before, after, events in steps:
        entries += events
        if after is not before:
            saved[after.task_id] = after
            if after.shows_change_from(before):
                entries.append(lifecycle_pb.watch_task(after, at=after.updated_at))
            if after.pool_changes_from(before):
                pool_events.append(lifecycle_pb.task_changed(after))
    for task in saved.values():
        await repo.save_task(conn, task)
    if pool_events:
        await deps.publisher.publish_many(conn, pool_events)
    await watch_log.append(conn, entries)
