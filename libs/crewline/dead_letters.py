"""Dead letters: consumed events a handler could not apply for a permanent reason.

``classify`` decides what a failure is:

- **permanent**, dead-lettered at once: a malformed event (``MalformedEvent``), a
  ``PermanentEventError`` or a ``DomainError`` raised by a handler (not ``Aborted`` nor
  ``ResourceExhausted``, which say "try again", nor ``Unavailable``), a PostgreSQL data
  error (class 22: a number out of range, a bad value) or integrity violation (class
  23: a foreign key, check, not-null or unique violation), and asyncpg's own refusal
  of a query argument (an integer beyond ``bigint``).
- **transient**, retried until it passes while the partition waits: the database
  unreachable or refusing for a passing reason (``crewline.db.TRANSIENT_DB_ERRORS``),
  or a handler's ``Unavailable``.
- **unknown**, anything else (a bug, an unforeseen error): retried a few times, then
  dead-lettered, so it neither stalls the partition nor vanishes.

A dead letter keeps the whole record (topic without the namespace, partition,
offset, key, value bytes) with the event's type, correlation id and error. It has no
inbox row, so a replay (``EventConsumer.replay``) goes through the inbox like any
delivery. It is open until a replay applies it, or a redelivery did (an inbox row).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from crewline import errors
from crewline.db import TRANSIENT_DB_ERRORS
from crewline.events import MalformedEvent
from crewline.paging import PageCursor

MAX_ERROR_CHARS = 2000
# Names the dead letter of a record that carries no event id of its own.
_RECORD_NAMESPACE = uuid.UUID("6f0d2c1e-4b7a-5e39-9c58-2d1f0e8a7b64")

_PERMANENT: tuple[type[BaseException], ...] = (
    MalformedEvent,
    errors.PermanentEventError,
    errors.DomainError,
    # SQLSTATE class 22; asyncpg also raises it for an argument it cannot encode (an int
    # beyond bigint, a malformed UUID) before the query is sent.
    asyncpg.exceptions.DataError,
    asyncpg.exceptions.IntegrityConstraintViolationError,  # SQLSTATE class 23
)
# Domain errors that mean "the same thing may work later".
_RETRY_LATER = (errors.Aborted, errors.ResourceExhausted)


class Failure(enum.Enum):
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    UNKNOWN = "unknown"


def classify(exc: BaseException) -> Failure:
    """What a failure to apply an event is (see the module's docstring)."""
    if isinstance(exc, errors.Unavailable):
        return Failure.TRANSIENT
    if isinstance(exc, _RETRY_LATER):
        return Failure.UNKNOWN
    if isinstance(exc, _PERMANENT):
        return Failure.PERMANENT
    if isinstance(exc, TRANSIENT_DB_ERRORS):
        return Failure.TRANSIENT
    return Failure.UNKNOWN


def error_text(exc: BaseException) -> str:
    """``Type: message``, bounded, without NUL (which PostgreSQL text cannot hold)."""
    return clean(f"{type(exc).__name__}: {exc}")[:MAX_ERROR_CHARS]


def clean(text: str) -> str:
    return text.replace("\x00", "\\x00")


def record_event_id(consumer: str, topic: str, partition: int, offset: int) -> uuid.UUID:
    """The id of a record whose value holds no envelope: the same for every redelivery."""
    return uuid.uuid5(_RECORD_NAMESPACE, f"{consumer}/{topic}/{partition}/{offset}")


@dataclass(frozen=True)
class DeadLetter:
    event_id: uuid.UUID
    consumer: str  # the consumer group whose handler failed it
    topic: str  # without the namespace prefix
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    event_type: str  # '' when the envelope did not parse
    correlation_id: str
    error: str
    dead_at: datetime
    replays: int
    replayed_at: datetime | None
    applied_at: datetime | None

    def cursor(self) -> PageCursor:
        return PageCursor(self.dead_at, str(self.event_id))


_COLUMNS = (
    'event_id, consumer, topic, partition, "offset", key, value, event_type, correlation_id,'
    " error, dead_at, replays, replayed_at, applied_at"
)
# Applied by a replay, or by a redelivery after the cause was fixed (its inbox row).
_OPEN = (
    "d.applied_at IS NULL AND NOT EXISTS"
    " (SELECT 1 FROM inbox i WHERE i.consumer = d.consumer AND i.event_id = d.event_id)"
)


def _letter(row: asyncpg.Record) -> DeadLetter:
    return DeadLetter(
        event_id=row["event_id"],
        consumer=row["consumer"],
        topic=row["topic"],
        partition=row["partition"],
        offset=row["offset"],
        key=row["key"],
        value=row["value"],
        event_type=row["event_type"],
        correlation_id=row["correlation_id"],
        error=row["error"],
        dead_at=row["dead_at"],
        replays=row["replays"],
        replayed_at=row["replayed_at"],
        applied_at=row["applied_at"],
    )


async def insert(
    conn: asyncpg.Connection,
    *,
    event_id: uuid.UUID | str,
    consumer: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes,
    event_type: str,
    correlation_id: str,
    error: str,
) -> bool:
    """Keep a dead letter; False when the event is one already (a redelivery)."""
    row = await conn.fetchval(
        'INSERT INTO dead_letters (event_id, consumer, topic, partition, "offset", key,'
        " value, event_type, correlation_id, error)"
        " VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (event_id) DO NOTHING RETURNING 1",
        str(event_id),
        consumer,
        topic,
        partition,
        offset,
        key,
        value,
        clean(event_type),
        clean(correlation_id),
        error,
    )
    return row is not None


async def find(
    conn: asyncpg.Connection, event_id: uuid.UUID, *, lock: bool = False
) -> DeadLetter | None:
    """The dead letter of ``event_id``; ``lock`` holds it until the transaction ends."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM dead_letters WHERE event_id = $1"
        + (" FOR UPDATE" if lock else ""),
        event_id,
    )
    return _letter(row) if row else None


async def list_open(
    conn: asyncpg.Connection, *, topic: str | None, after: PageCursor | None, limit: int
) -> list[DeadLetter]:
    """Open dead letters after ``after``, oldest first (new ones join the end)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM dead_letters d WHERE {_OPEN}"
        " AND ($1::text IS NULL OR d.topic = $1)"
        " AND ($2::timestamptz IS NULL OR (d.dead_at, d.event_id) > ($2, $3::uuid))"
        " ORDER BY d.dead_at, d.event_id LIMIT $4",
        topic,
        after.at if after else None,
        after.id if after else None,
        limit,
    )
    return [_letter(r) for r in rows]


async def open_counts(conn: asyncpg.Connection, *, consumer: str) -> dict[str, int]:
    """Open dead letters of ``consumer``, by topic."""
    rows = await conn.fetch(
        f"SELECT d.topic, count(*) AS n FROM dead_letters d WHERE d.consumer = $1 AND {_OPEN}"
        " GROUP BY d.topic",
        consumer,
    )
    return {r["topic"]: r["n"] for r in rows}


async def mark_applied(conn: asyncpg.Connection, event_id: uuid.UUID, *, replayed: bool) -> None:
    """Applied now (``replayed``: by this replay, which counts) or found applied earlier."""
    await conn.execute(
        "UPDATE dead_letters SET applied_at = now(),"
        " replays = replays + $2, replayed_at = CASE WHEN $2 = 1 THEN now() ELSE replayed_at END"
        " WHERE event_id = $1",
        event_id,
        1 if replayed else 0,
    )


async def mark_failed(conn: asyncpg.Connection, event_id: uuid.UUID, *, error: str) -> None:
    """A replay failed: keep the new error, count the replay."""
    await conn.execute(
        "UPDATE dead_letters SET error = $2, replays = replays + 1, replayed_at = now()"
        " WHERE event_id = $1 AND applied_at IS NULL",
        event_id,
        error,
    )
