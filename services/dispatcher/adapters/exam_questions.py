"""SQL for exams' questions (``domain/exams``). Every function runs on the caller's
connection."""

from __future__ import annotations

import uuid

import asyncpg

from dispatcher.domain.exams import ExamQuestion


async def insert(conn: asyncpg.Connection, question: ExamQuestion) -> None:
    """Note the task as the question it is; a redelivery changes nothing."""
    await conn.execute(
        "INSERT INTO exam_questions (task_id, attempt_id, unpaid) VALUES ($1, $2, $3)"
        " ON CONFLICT (task_id) DO NOTHING",
        question.task_id,
        question.attempt_id,
        question.unpaid,
    )


async def get(conn: asyncpg.Connection, task_id: uuid.UUID) -> ExamQuestion | None:
    row = await conn.fetchrow(
        "SELECT attempt_id, unpaid FROM exam_questions WHERE task_id = $1", task_id
    )
    if row is None:
        return None
    return ExamQuestion(task_id=task_id, attempt_id=row["attempt_id"], unpaid=row["unpaid"])
