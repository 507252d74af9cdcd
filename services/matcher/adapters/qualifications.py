"""SQL for qualification types, held qualifications and their history.

Every function runs on the caller's connection. A value is stored in ``score`` for
SCORE types, ``text_value`` for STRING types, neither for PRESENCE types.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from crewline.qualifications import Kind, Value
from matcher.domain.exams import PassedExam
from matcher.domain.qualifications import Change, Held, HistoryEntry, QualificationType


def _columns(value: Value) -> tuple[int | None, str | None]:
    return (value, None) if isinstance(value, int) else (None, value)


def _value(row: asyncpg.Record) -> Value:
    score: int | None = row["score"]
    return score if score is not None else row["text_value"]


def _type(row: asyncpg.Record) -> QualificationType:
    return QualificationType(
        name=row["name"],
        kind=Kind(row["kind"]),
        description=row["description"],
        created_at=row["created_at"],
        client_id=row["client_id"],
    )


async def insert_type(conn: asyncpg.Connection, qtype: QualificationType) -> bool:
    """Store a new type; False when the name is taken (the caller reads that one)."""
    inserted = await conn.fetchval(
        "INSERT INTO qualification_types (name, kind, description, created_at, client_id)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING true",
        qtype.name,
        qtype.kind.value,
        qtype.description,
        qtype.created_at,
        qtype.client_id,
    )
    return bool(inserted)


async def get_type(conn: asyncpg.Connection, name: str) -> QualificationType | None:
    row = await conn.fetchrow("SELECT * FROM qualification_types WHERE name = $1", name)
    return _type(row) if row else None


async def all_types(conn: asyncpg.Connection) -> list[QualificationType]:
    return [_type(r) for r in await conn.fetch("SELECT * FROM qualification_types ORDER BY name")]


_HELD = (
    "SELECT q.*, t.kind FROM contractor_qualifications q"
    " JOIN qualification_types t ON t.name = q.qualification WHERE q.contractor_id = $1"
)


def _held(row: asyncpg.Record) -> Held:
    return Held(
        contractor_id=row["contractor_id"],
        qualification=row["qualification"],
        kind=Kind(row["kind"]),
        value=_value(row),
        granted_at=row["granted_at"],
        updated_at=row["updated_at"],
    )


async def get_held(conn: asyncpg.Connection, contractor_id: str, name: str) -> Held | None:
    row = await conn.fetchrow(f"{_HELD} AND q.qualification = $2", contractor_id, name)
    return _held(row) if row else None


async def held_by(conn: asyncpg.Connection, contractor_id: str) -> list[Held]:
    return [_held(r) for r in await conn.fetch(f"{_HELD} ORDER BY q.qualification", contractor_id)]


async def save_held(conn: asyncpg.Connection, held: Held) -> None:
    score, text = _columns(held.value)
    await conn.execute(
        "INSERT INTO contractor_qualifications"
        " (contractor_id, qualification, score, text_value, granted_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (contractor_id, qualification)"
        " DO UPDATE SET score = $3, text_value = $4, updated_at = $6",
        held.contractor_id,
        held.qualification,
        score,
        text,
        held.granted_at,
        held.updated_at,
    )


async def delete_held(conn: asyncpg.Connection, contractor_id: str, name: str) -> None:
    await conn.execute(
        "DELETE FROM contractor_qualifications WHERE contractor_id = $1 AND qualification = $2",
        contractor_id,
        name,
    )


async def append_history(conn: asyncpg.Connection, entry: HistoryEntry) -> None:
    score, text = _columns(entry.value)
    await conn.execute(
        "INSERT INTO qualification_history"
        " (contractor_id, qualification, change, score, text_value, reason, changed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        entry.contractor_id,
        entry.qualification,
        entry.change.value,
        score,
        text,
        entry.reason,
        entry.changed_at,
    )


async def history_of(conn: asyncpg.Connection, contractor_id: str) -> list[HistoryEntry]:
    rows = await conn.fetch(
        "SELECT * FROM qualification_history WHERE contractor_id = $1 ORDER BY entry_id",
        contractor_id,
    )
    return [
        HistoryEntry(
            contractor_id=r["contractor_id"],
            qualification=r["qualification"],
            change=Change(r["change"]),
            value=_value(r),
            reason=r["reason"],
            changed_at=r["changed_at"],
        )
        for r in rows
    ]


async def note_exam_grant(conn: asyncpg.Connection, exam: PassedExam, *, now: datetime) -> bool:
    """Keep a passed attempt as granted; False when it was already (a redelivery)."""
    inserted = await conn.fetchval(
        "INSERT INTO exam_grants (attempt_id, contractor_id, qualification, score, granted_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (attempt_id) DO NOTHING RETURNING true",
        exam.attempt_id,
        exam.contractor_id,
        exam.qualification,
        exam.score,
        now,
    )
    return bool(inserted)
