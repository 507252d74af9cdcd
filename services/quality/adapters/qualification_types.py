"""Qualification types as the matcher announces them, in SQL, on the caller's
connection."""

from __future__ import annotations

import asyncpg

from crewline.qualifications import Kind
from quality.domain.exams import QualificationType


async def save(conn: asyncpg.Connection, qtype: QualificationType) -> None:
    """Keep the type as last announced (a repeat changes nothing)."""
    await conn.execute(
        "INSERT INTO qualification_types (name, kind, client_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, client_id = EXCLUDED.client_id",
        qtype.name,
        qtype.kind.value,
        qtype.client_id,
    )


async def get(conn: asyncpg.Connection, name: str) -> QualificationType | None:
    row = await conn.fetchrow(
        "SELECT name, kind, client_id FROM qualification_types WHERE name = $1", name
    )
    if row is None:
        return None
    return QualificationType(name=row["name"], kind=Kind(row["kind"]), client_id=row["client_id"])
