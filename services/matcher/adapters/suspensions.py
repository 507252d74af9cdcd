"""Suspensions in SQL. Every function runs on the caller's connection."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from matcher.domain.suspensions import Suspension


async def save(conn: asyncpg.Connection, suspension: Suspension, *, now: datetime) -> bool:
    """Keep ``suspension`` unless this or a higher version of it is kept; whether it was."""
    saved = await conn.fetchval(
        "INSERT INTO suspensions AS s"
        " (sanction_id, contractor_id, project_id, state, version, changed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (sanction_id) DO UPDATE SET"
        " state = EXCLUDED.state, version = EXCLUDED.version, changed_at = EXCLUDED.changed_at"
        " WHERE s.version < EXCLUDED.version"
        " RETURNING true",
        suspension.sanction_id,
        suspension.contractor_id,
        suspension.project_id,
        suspension.state.value,
        suspension.version,
        now,
    )
    return bool(saved)
