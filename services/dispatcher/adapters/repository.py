"""SQL for the dispatcher's tables. Every function runs on the caller's connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from crewline.money import Money
from dispatcher.domain.model import ListTasks, Submission, SubmissionStatus, Task, TaskStatus


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
        submitted_count=row["submitted_count"],
        accepted_count=row["accepted_count"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _submission(row: asyncpg.Record) -> Submission:
    return Submission(
        submission_id=row["submission_id"],
        task_id=row["task_id"],
        contractor_id=row["contractor_id"],
        status=SubmissionStatus(row["status"]),
        reward=Money(row["reward_currency"], row["reward_minor"]),
        submitted_at=row["submitted_at"],
    )


async def insert_tasks(
    conn: asyncpg.Connection, tasks: Sequence[Task], fingerprints: Sequence[str]
) -> set[uuid.UUID]:
    """Insert, with one statement, each task whose (client, idempotency key) is new;
    the ids of those inserted. Rows go in key order, so concurrent batches that share
    keys take their locks in one order and never deadlock."""
    if not tasks:
        return set()
    rows = await conn.fetch(
        "INSERT INTO tasks (task_id, client_id, idempotency_key, fingerprint, project_id,"
        " status, slots, payload_json, payload_bytes, priority, own_priority, expires_at,"
        " created_at, updated_at)"
        " SELECT t.task_id, t.client_id, t.key, t.fingerprint, t.project_id, 'open', t.slots,"
        " t.payload_json, t.payload_bytes, t.priority, t.own_priority, t.expires_at,"
        " t.created_at, t.created_at"
        " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[],"
        " $7::text[], $8::bytea[], $9::int[], $10::timestamptz[], $11::timestamptz[],"
        " $12::bool[])"
        " AS t(task_id, client_id, key, fingerprint, project_id, slots, payload_json,"
        " payload_bytes, priority, expires_at, created_at, own_priority)"
        " ORDER BY t.key"
        " ON CONFLICT (client_id, idempotency_key) DO NOTHING RETURNING task_id",
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


async def list_tasks(conn: asyncpg.Connection, query: ListTasks) -> list[Task]:
    """One page by (updated_at, task_id), plus one more row when there is a next page.

    Only the filters given go into the statement, so each shape gets a plan that walks
    its index from the cursor rather than filtering from the start.
    """
    args: list[object] = [query.client_id]
    conditions = ["client_id = $1"]

    def param(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if query.project_id is not None:
        conditions.append(f"project_id = {param(query.project_id)}")
    if query.status is not None:
        conditions.append(f"status = {param(query.status.value)}")
    if query.updated_since is not None:
        conditions.append(f"updated_at >= {param(query.updated_since)}")
    if query.after is not None:
        at, task_id = param(query.after.at), param(query.after_task_id)
        conditions.append(f"(updated_at, task_id) > ({at}, {task_id})")
    rows = await conn.fetch(
        f"SELECT * FROM tasks WHERE {' AND '.join(conditions)}"
        f" ORDER BY updated_at, task_id LIMIT {query.page_size + 1:d}",
        *args,
    )
    return [_task(r) for r in rows]


async def save_task_progress(conn: asyncpg.Connection, task: Task) -> None:
    await conn.execute(
        "UPDATE tasks SET status = $2, accepted_count = $3, updated_at = $4 WHERE task_id = $1",
        task.task_id,
        task.status.value,
        task.accepted_count,
        task.updated_at,
    )


async def count_claim(conn: asyncpg.Connection, task_id: uuid.UUID, *, now: datetime) -> None:
    await conn.execute(
        "UPDATE tasks SET claimed_count = claimed_count + 1, updated_at = $2 WHERE task_id = $1",
        task_id,
        now,
    )


async def insert_submission(
    conn: asyncpg.Connection, sub: Submission, result: bytes, *, now: datetime
) -> bool:
    """Store a submission and count it; False when it was already stored."""
    inserted = await conn.fetchval(
        "INSERT INTO submissions (submission_id, task_id, contractor_id, status,"
        " reward_currency, reward_minor, result, submitted_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (submission_id) DO NOTHING RETURNING true",
        sub.submission_id,
        sub.task_id,
        sub.contractor_id,
        sub.status.value,
        sub.reward.currency,
        sub.reward.amount_minor,
        result,
        sub.submitted_at,
    )
    if inserted:
        await conn.execute(
            "UPDATE tasks SET submitted_count = submitted_count + 1, updated_at = $2"
            " WHERE task_id = $1",
            sub.task_id,
            now,
        )
    return bool(inserted)


async def get_submission(
    conn: asyncpg.Connection, submission_id: uuid.UUID, *, for_update: bool = False
) -> Submission | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT * FROM submissions WHERE submission_id = $1{lock}", submission_id
    )
    return _submission(row) if row else None


async def mark_accepted(conn: asyncpg.Connection, submission_id: uuid.UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE submissions SET status = 'accepted', accepted_at = $2 WHERE submission_id = $1",
        submission_id,
        at,
    )


async def submissions_of(conn: asyncpg.Connection, task_id: uuid.UUID) -> list[Submission]:
    rows = await conn.fetch(
        "SELECT * FROM submissions WHERE task_id = $1 ORDER BY submitted_at", task_id
    )
    return [_submission(r) for r in rows]
