"""Contractors' quality scores in SQL. Every function runs on the caller's connection."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from crewline.qualifications import Value, measure_key
from matcher.domain.scores import MeasuredScore


async def save(conn: asyncpg.Connection, score: MeasuredScore) -> bool:
    """Keep ``score`` unless one of this or a higher version is kept; whether it was."""
    saved = await conn.fetchval(
        "INSERT INTO contractor_scores AS s"
        " (contractor_id, measure, project_id, value, version, changed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (contractor_id, measure, project_id) DO UPDATE SET"
        " value = EXCLUDED.value, version = EXCLUDED.version, changed_at = EXCLUDED.changed_at"
        " WHERE s.version < EXCLUDED.version"
        " RETURNING true",
        score.contractor_id,
        score.measure,
        score.project_id,
        score.value,
        score.version,
        score.changed_at,
    )
    return bool(saved)


async def held_by(conn: asyncpg.Connection, contractor_id: str) -> dict[str, Value]:
    """The contractor's scores as held qualifications, by ``measure_key``."""
    rows = await conn.fetch(
        "SELECT measure, project_id, value FROM contractor_scores WHERE contractor_id = $1",
        contractor_id,
    )
    return {measure_key(r["measure"], r["project_id"]): r["value"] for r in rows}


async def held_in(
    conn: asyncpg.Connection, keys: Iterable[tuple[str, str]]
) -> dict[str, dict[str, Value]]:
    """Every contractor's scores of the ``(measure, project_id)`` given, by contractor,
    then ``measure_key``."""
    pairs = sorted(set(keys))
    held: dict[str, dict[str, Value]] = {}
    if not pairs:
        return held
    rows = await conn.fetch(
        "SELECT contractor_id, measure, project_id, value FROM contractor_scores"
        " WHERE (measure, project_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        [m for m, _ in pairs],
        [p for _, p in pairs],
    )
    for r in rows:
        held.setdefault(r["contractor_id"], {})[measure_key(r["measure"], r["project_id"])] = r[
            "value"
        ]
    return held
