"""SQL for the dispatcher's tables. Every function runs on the caller's connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import asyncpg

from crewline.db import Where
from crewline.log import current_correlation_id
from dispatcher.domain.model import ListTasks
from dispatcher.domain.tasks import Task, TaskStatus


def _task(row: asyncpg.Record) -> Task:
    return Task(
        task_id=row["task_id"],
        client_id=row["client_id"],
        project_id=row["project_id"],
        idempotency_key=row["idempotency_key"],
        status=TaskStatus(row["status"]),
        slots=row["slots"],
        payload_json=row["payload_json"],
        payload_bytes=row["payload_bytes"],
        priority=row["priority"],
        own_priority=row["own_priority"],
        expires_at=row["expires_at"],
        claimed_count=row["claimed_count"],
        live_claims=row["live_claims"],
        submitted_count=row["submitted_count"],
        accepted_count=row["accepted_count"],
        rejected_count=row["rejected_count"],
        lifetime_over=row["lifetime_over"],
        cancelled_at=row["cancelled_at"],
        cancel_reason=row["cancel_reason"],
        revision=row["revision"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        reserved_for=row["reserved_for"] or "",
    )


async def insert_tasks(
    conn: asyncpg.Connection,
    tasks: Sequence[Task],
    fingerprints: Sequence[str],
    watched: Sequence[bytes],
    *,
    clock: str,
) -> set[uuid.UUID]:
    """Insert, with one statement, each task whose (client, idempotency key) is new;
    for each task inserted, arm its lifetime clock (kind ``clock``) and log its
    ``watched`` event (a WatchEvent, in task order) for its client. The ids of those
    inserted. Rows go in key order, so concurrent batches that share keys take their
    locks in one order and never deadlock."""
    if not tasks:
        return set()
    rows = await conn.fetch(
        "WITH batch AS ("
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],"
        " $6::int[], $7::text[], $8::bytea[], $9::int[], $10::timestamptz[],"
        " $11::timestamptz[], $12::bool[], $13::bytea[], $16::text[]) WITH ORDINALITY"
        " AS t(task_id, client_id, key, fingerprint, project_id, slots, payload_json,"
        " payload_bytes, priority, expires_at, created_at, own_priority, watched,"
        " reserved_for, n)"
        "), inserted AS ("
        " INSERT INTO tasks (task_id, client_id, idempotency_key, fingerprint, project_id,"
        " status, slots, payload_json, payload_bytes, priority, own_priority, expires_at,"
        " created_at, updated_at, reserved_for)"
        " SELECT task_id, client_id, key, fingerprint, project_id, 'open', slots,"
        " payload_json, payload_bytes, priority, own_priority, expires_at, created_at,"
        " created_at, reserved_for FROM batch ORDER BY key"
        " ON CONFLICT (client_id, idempotency_key) DO NOTHING"
        " RETURNING task_id, expires_at"
        "), armed AS ("
        # The kernel's clock table (crewline.clock): one statement arms the whole batch.
        " INSERT INTO deadlines (kind, ref, due_at, run_at, correlation_id)"
        " SELECT $14, task_id::text, expires_at, expires_at, $15 FROM inserted"
        " ON CONFLICT (kind, ref) DO NOTHING"
        "), logged AS ("
        " INSERT INTO watch_events (client_id, project_id, task_id, body)"
        " SELECT b.client_id, b.project_id, b.task_id, b.watched"
        " FROM batch b JOIN inserted i ON i.task_id = b.task_id ORDER BY b.n"
        ") SELECT task_id FROM inserted",
        [t.task_id for t in tasks],
        [t.client_id for t in tasks],
        [t.idempotency_key for t in tasks],
        list(fingerprints),
        [t.project_id for t in tasks],
        [t.slots for t in tasks],
        [t.payload_json for t in tasks],
        [t.payload_bytes for t in tasks],
        [t.priority for t in tasks],
        [t.expires_at for t in tasks],
        [t.created_at for t in tasks],
        [t.own_priority for t in tasks],
        list(watched),
        clock,
        current_correlation_id(),
        [t.reserved_for or None for t in tasks],
    )
    return {r["task_id"] for r in rows}


async def tasks_by_key(
    conn: asyncpg.Connection, *, client_id: str, keys: Sequence[str]
) -> dict[str, tuple[Task, str]]:
    """The client's tasks with these idempotency keys, each with its request's fingerprint."""
    rows = await conn.fetch(
        "SELECT * FROM tasks WHERE client_id = $1 AND idempotency_key = ANY($2::text[])",
        client_id,
        list(keys),
    )
    return {r["idempotency_key"]: (_task(r), r["fingerprint"]) for r in rows}


async def get_task(
    conn: asyncpg.Connection, task_id: uuid.UUID, *, for_update: bool = False
) -> Task | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT * FROM tasks WHERE task_id = $1{lock}", task_id)
    return _task(row) if row else None


async def locked_tasks(
    conn: asyncpg.Connection, task_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Task]:
    """The tasks found, each locked until commit, locked in task id order (as two such
    calls on different tasks cannot wait on each other in a cycle)."""
    rows = await conn.fetch(
        "SELECT * FROM tasks WHERE task_id = ANY($1::uuid[]) ORDER BY task_id FOR UPDATE",
        list(set(task_ids)),
    )
    return {row["task_id"]: _task(row) for row in rows}


async def unfinished_tasks_of_project(
    conn: asyncpg.Connection, project_id: str, *, limit: int
) -> list[Task]:
    """Up to ``limit`` of the project's tasks still open or in progress, locked until
    commit in task id order (as ``locked_tasks``)."""
    rows = await conn.fetch(
        "SELECT * FROM tasks WHERE project_id = $1 AND status IN ('open', 'in_progress')"
        " ORDER BY task_id LIMIT $2 FOR UPDATE",
        project_id,
        limit,
    )
    return [_task(row) for row in rows]


async def list_tasks(conn: asyncpg.Connection, query: ListTasks) -> list[Task]:
    """One page by (updated_at, task_id), plus one more row when there is a next page.

    Only the filters given go into the statement, so each shape gets a plan that walks
    its index from the cursor rather than filtering from the start.
    """
    where = Where("client_id = {}", query.client_id)
    if query.project_id is not None:
        where.add("project_id = {}", query.project_id)
    if query.status is not None:
        where.add("status = {}", query.status.value)
    if query.updated_since is not None:
        where.add("updated_at >= {}", query.updated_since)
    if query.after is not None:
        where.add("(updated_at, task_id) > ({}, {})", query.after.at, query.after_task_id)
    rows = await conn.fetch(
        f"SELECT * FROM tasks WHERE {where.sql}"
        f" ORDER BY updated_at, task_id LIMIT {query.page_size + 1:d}",
        *where.args,
    )
    return [_task(r) for r in rows]


async def save_task(conn: asyncpg.Connection, task: Task) -> None:
    """Store a changed task (everything but what never changes)."""
    await conn.execute(
        "UPDATE tasks SET status = $2, slots = $3, expires_at = $4, claimed_count = $5,"
        " live_claims = $6, submitted_count = $7, accepted_count = $8, lifetime_over = $9,"
        " cancelled_at = $10, cancel_reason = $11, revision = $12, updated_at = $13,"
        " rejected_count = $14 WHERE task_id = $1",
        task.task_id,
        task.status.value,
        task.slots,
        task.expires_at,
        task.claimed_count,
        task.live_claims,
        task.submitted_count,
        task.accepted_count,
        task.lifetime_over,
        task.cancelled_at,
        task.cancel_reason,
        task.revision,
        task.updated_at,
        task.rejected_count,
    )


async def slot_request(conn: asyncpg.Connection, task_id: uuid.UUID, request_id: str) -> int | None:
    """The slots an earlier AddSlots with this request id added to the task, if any."""
    slots = await conn.fetchval(
        "SELECT slots FROM slot_requests WHERE task_id = $1 AND request_id = $2",
        task_id,
        request_id,
    )
    return None if slots is None else int(slots)


async def record_slot_request(
    conn: asyncpg.Connection, task_id: uuid.UUID, request_id: str, slots: int, at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO slot_requests (task_id, request_id, slots, created_at)"
        " VALUES ($1, $2, $3, $4)",
        task_id,
        request_id,
        slots,
        at,
    )
