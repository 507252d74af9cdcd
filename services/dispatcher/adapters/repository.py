"""SQL for the dispatcher's tables. Every function runs on the caller's connection."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from crewline.money import Money
from dispatcher.domain.model import (
    Submission,
    SubmissionStatus,
    SubmitTask,
    Task,
    TaskStatus,
)


def _task(row: asyncpg.Record) -> Task:
    return Task(
        task_id=row["task_id"],
        client_id=row["client_id"],
        project_id=row["project_id"],
        status=TaskStatus(row["status"]),
        slots=row["slots"],
        reward=Money(row["reward_currency"], row["reward_minor"]),
        instructions=row["instructions"],
        claimed_count=row["claimed_count"],
        submitted_count=row["submitted_count"],
        accepted_count=row["accepted_count"],
        created_at=row["created_at"],
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


async def insert_task(conn: asyncpg.Connection, task: Task, cmd: SubmitTask) -> bool:
    """Insert unless (client, request id) exists; False when it already did."""
    inserted = await conn.fetchval(
        "INSERT INTO tasks (task_id, client_id, request_id, fingerprint, project_id, status,"
        " slots, reward_currency, reward_minor, instructions, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (client_id, request_id) DO NOTHING RETURNING true",
        task.task_id,
        task.client_id,
        cmd.request_id,
        cmd.fingerprint(),
        task.project_id,
        task.status.value,
        task.slots,
        task.reward.currency,
        task.reward.amount_minor,
        task.instructions,
        task.created_at,
    )
    return bool(inserted)


async def task_by_request(
    conn: asyncpg.Connection, *, client_id: str, request_id: str
) -> tuple[Task, str] | None:
    """The task a request id created, with the fingerprint of that request."""
    row = await conn.fetchrow(
        "SELECT * FROM tasks WHERE client_id = $1 AND request_id = $2", client_id, request_id
    )
    return (_task(row), row["fingerprint"]) if row else None


async def get_task(
    conn: asyncpg.Connection, task_id: uuid.UUID, *, for_update: bool = False
) -> Task | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT * FROM tasks WHERE task_id = $1{lock}", task_id)
    return _task(row) if row else None


async def save_task_progress(conn: asyncpg.Connection, task: Task) -> None:
    await conn.execute(
        "UPDATE tasks SET status = $2, accepted_count = $3 WHERE task_id = $1",
        task.task_id,
        task.status.value,
        task.accepted_count,
    )


async def count_claim(conn: asyncpg.Connection, task_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE tasks SET claimed_count = claimed_count + 1 WHERE task_id = $1", task_id
    )


async def insert_submission(conn: asyncpg.Connection, sub: Submission, result: bytes) -> bool:
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
            "UPDATE tasks SET submitted_count = submitted_count + 1 WHERE task_id = $1",
            sub.task_id,
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
