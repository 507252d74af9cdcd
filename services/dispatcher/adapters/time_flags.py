"""SQL for time flags: a project's recent timed submissions, and hourly work's tracked
segments. Every function runs on the caller's connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from dispatcher.domain.time_flags import MAX_SAMPLES, Interval, span


async def recent_times(
    conn: asyncpg.Connection, project_id: str, *, besides: uuid.UUID
) -> list[int]:
    """The time worked of the project's last ``MAX_SAMPLES`` timed submissions (worked
    over 0), newest first, ``besides`` left out: one walk of a partial index."""
    rows = await conn.fetch(
        "SELECT worked_seconds FROM submissions"
        " WHERE project_id = $1 AND worked_seconds > 0 AND submission_id <> $2"
        f" ORDER BY submitted_at DESC, submission_id DESC LIMIT {MAX_SAMPLES:d}",
        project_id,
        besides,
    )
    return [r["worked_seconds"] for r in rows]


async def others_tracked(
    conn: asyncpg.Connection, contractor_id: str, mine: Sequence[Interval], *, besides: uuid.UUID
) -> list[list[Interval]]:
    """The contractor's other tracked hourly claims whose span meets ``mine``'s, each as
    its segments. Found by the claims that ended after ``mine`` began: a contractor's
    few recent ones, however long their history."""
    start, end = span(mine)
    rows = await conn.fetch(
        "SELECT started_at, ended_at FROM tracked_time"
        " WHERE contractor_id = $1 AND last_ended_at > $2 AND first_started_at < $3"
        " AND submission_id <> $4",
        contractor_id,
        start,
        end,
        besides,
    )
    return [list(zip(r["started_at"], r["ended_at"], strict=True)) for r in rows]


async def insert_tracked(
    conn: asyncpg.Connection,
    submission_id: uuid.UUID,
    contractor_id: str,
    segments: Sequence[Interval],
) -> None:
    """Keep hourly work's segments (once: the submission is new)."""
    start, end = span(segments)
    started: list[datetime] = [s for s, _ in segments]
    ended: list[datetime] = [e for _, e in segments]
    await conn.execute(
        "INSERT INTO tracked_time (submission_id, contractor_id, first_started_at,"
        " last_ended_at, started_at, ended_at) VALUES ($1, $2, $3, $4, $5, $6)",
        submission_id,
        contractor_id,
        start,
        end,
        started,
        ended,
    )
