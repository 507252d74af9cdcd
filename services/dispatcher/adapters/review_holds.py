"""SQL for the tasks whose work waits for its client's review whatever else holds: gold
tasks and exams' questions whose key holds text or rubric fields (GoldIssued.
needs_review). Every function runs on the caller's connection."""

from __future__ import annotations

import uuid

import asyncpg


async def hold(conn: asyncpg.Connection, task_id: uuid.UUID) -> None:
    """Note the task's work as waiting for review; a redelivery changes nothing."""
    await conn.execute(
        "INSERT INTO tasks_needing_review (task_id) VALUES ($1) ON CONFLICT DO NOTHING", task_id
    )


async def needs_review(conn: asyncpg.Connection, task_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM tasks_needing_review WHERE task_id = $1)", task_id
        )
    )
