"""Submissions and their time flags in SQL, on the caller's connection (the consumer's
transaction), merged in either order: WorkSubmitted brings the submission's time,
SubmissionFlagged the flag (and, until WorkSubmitted arrives, its time)."""

from __future__ import annotations

import asyncpg

from quality.domain.claims import WorkHandedIn
from quality.domain.submissions import FlagSeen

_COLUMNS = (
    "submission_id, task_id, contractor_id, project_id, client_id, submitted_at, seen, flagged"
)


async def handed_in(conn: asyncpg.Connection, work: WorkHandedIn) -> bool:
    """Record the submission; whether that taught anything new (not a redelivery)."""
    changed = await conn.fetchval(
        f"INSERT INTO submissions AS s ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, true, false)"
        " ON CONFLICT (submission_id) DO UPDATE SET submitted_at = EXCLUDED.submitted_at,"
        " seen = true WHERE NOT s.seen RETURNING 1",
        work.claim_id,
        work.task_id,
        work.contractor_id,
        work.project_id,
        work.client_id,
        work.submitted_at,
    )
    return changed is not None


async def flagged(conn: asyncpg.Connection, flag: FlagSeen) -> bool:
    """Mark the submission flagged; whether it was not already."""
    changed = await conn.fetchval(
        f"INSERT INTO submissions AS s ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, false, true)"
        " ON CONFLICT (submission_id) DO UPDATE SET flagged = true WHERE NOT s.flagged"
        " RETURNING 1",
        flag.submission_id,
        flag.task_id,
        flag.contractor_id,
        flag.project_id,
        flag.client_id,
        flag.flagged_at,
    )
    return changed is not None
