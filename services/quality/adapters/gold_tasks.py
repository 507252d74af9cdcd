"""Gold tasks in SQL, on the caller's connection. Keys are read and written here and
returned only to the handlers that score or show them to their client."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from quality.domain.gold import GoldInput, GoldQuery, GoldTask
from quality.domain.gold_keys import FieldRule, Key, key_from_json, key_to_json, needs_review

# Rows of one request, each new key once (ON CONFLICT: a key used before, or by a
# request committing at the same time, keeps its first gold task).
_INSERT = """
INSERT INTO gold_tasks (gold_id, project_id, client_id, idempotency_key, fingerprint,
    payload_json, payload_bytes, answer_json, rules, key, spec_version, created_at,
    needs_review)
SELECT g.gold_id, $1, $2, g.idempotency_key, g.fingerprint, g.payload_json,
    g.payload_bytes, g.answer_json, g.rules::json, g.key::json, $3, $4, g.needs_review
FROM unnest($5::uuid[], $6::text[], $7::text[], $8::text[], $9::bytea[], $10::text[],
    $11::text[], $12::text[], $13::bool[]) WITH ORDINALITY
    AS g (gold_id, idempotency_key, fingerprint, payload_json, payload_bytes, answer_json,
          rules, key, needs_review, n)
ORDER BY g.n
ON CONFLICT (project_id, idempotency_key) DO NOTHING
"""

# An answer waiting for its review (a text or rubric field to judge) is not counted yet.
_COLUMNS = """g.*,
    (SELECT count(*) FROM gold_answers a WHERE a.gold_id = g.gold_id AND NOT a.pending)
        AS answered,
    (SELECT count(*) FROM gold_answers a WHERE a.gold_id = g.gold_id AND NOT a.pending
        AND a.correct) AS correct
"""


async def add(
    conn: asyncpg.Connection,
    *,
    project_id: str,
    client_id: str,
    spec_version: int,
    gold: Mapping[str, tuple[GoldInput, Key]],
    at: datetime,
) -> None:
    """Store each key's gold task unless the key has one already."""
    items = list(gold.values())
    await conn.execute(
        _INSERT,
        project_id,
        client_id,
        spec_version,
        at,
        [uuid.uuid4() for _ in items],
        [g.idempotency_key for g, _ in items],
        [g.fingerprint() for g, _ in items],
        [g.payload_json for g, _ in items],
        [g.payload_bytes for g, _ in items],
        [g.answer_json for g, _ in items],
        [json.dumps(rules_to_json(g.rules)) for g, _ in items],
        [json.dumps(key_to_json(k)) for _, k in items],
        [needs_review(k) for _, k in items],
    )


async def by_keys(
    conn: asyncpg.Connection, project_id: str, keys: Sequence[str]
) -> dict[str, GoldTask]:
    """The project's gold tasks of these idempotency keys, by key."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM gold_tasks g"
        " WHERE g.project_id = $1 AND g.idempotency_key = ANY($2::text[])",
        project_id,
        list(keys),
    )
    return {row["idempotency_key"]: _gold(row) for row in rows}


async def find(conn: asyncpg.Connection, query: GoldQuery) -> list[GoldTask]:
    """A page of the project's gold tasks, oldest first, at most ``limit + 1``."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM gold_tasks g"
        " WHERE g.project_id = $1 AND g.seq > $2 ORDER BY g.seq LIMIT $3",
        query.project_id,
        query.after or 0,
        query.limit + 1,
    )
    return [_gold(row) for row in rows]


async def retire(conn: asyncpg.Connection, gold_ids: Sequence[uuid.UUID], *, at: datetime) -> None:
    """Never issue these again (a retired one keeps its first time)."""
    await conn.execute(
        "UPDATE gold_tasks SET retired_at = $2 WHERE gold_id = ANY($1::uuid[])"
        " AND retired_at IS NULL",
        list(gold_ids),
        at,
    )


async def key_of(conn: asyncpg.Connection, gold_id: uuid.UUID) -> Key:
    raw = await conn.fetchval("SELECT key FROM gold_tasks WHERE gold_id = $1", gold_id)
    return key_from_json(json.loads(raw))


async def lock(conn: asyncpg.Connection, gold_id: uuid.UUID) -> None:
    """Lock the gold task's row until the transaction ends: its disputes are resolved
    one at a time (a correction resolves every open one)."""
    await conn.execute("SELECT 1 FROM gold_tasks WHERE gold_id = $1 FOR UPDATE", gold_id)


async def replace_key(
    conn: asyncpg.Connection,
    gold_id: uuid.UUID,
    *,
    answer_json: str,
    rules: Sequence[FieldRule],
    key: Key,
    spec_version: int,
    at: datetime,
    dispute_id: uuid.UUID,
) -> None:
    """A corrected key replaces the gold task's; the one replaced is kept as a version,
    with the dispute that replaced it. The task's fingerprint stays the client's first
    request's, so that request sent again still returns it."""
    await conn.execute(
        "INSERT INTO gold_key_versions (gold_id, version, answer_json, rules, key,"
        " spec_version, replaced_at, dispute_id) SELECT gold_id, key_version, answer_json,"
        " rules, key, spec_version, $2, $3 FROM gold_tasks WHERE gold_id = $1",
        gold_id,
        at,
        dispute_id,
    )
    await conn.execute(
        "UPDATE gold_tasks SET answer_json = $2, rules = $3::json, key = $4::json,"
        " spec_version = $5, key_version = key_version + 1, needs_review = $6"
        " WHERE gold_id = $1",
        gold_id,
        answer_json,
        json.dumps(rules_to_json(rules)),
        json.dumps(key_to_json(key)),
        spec_version,
        needs_review(key),
    )


def rules_to_json(rules: Sequence[FieldRule]) -> list[dict[str, Any]]:
    return [
        {"field": r.field, "also_accepted": list(r.also_accepted), "tolerance": r.tolerance}
        for r in rules
    ]


def rules_from_json(data: Sequence[Mapping[str, Any]]) -> tuple[FieldRule, ...]:
    return tuple(
        FieldRule(
            field=r["field"], also_accepted=tuple(r["also_accepted"]), tolerance=r["tolerance"]
        )
        for r in data
    )


def _gold(row: asyncpg.Record) -> GoldTask:
    return GoldTask(
        gold_id=row["gold_id"],
        project_id=row["project_id"],
        client_id=row["client_id"],
        idempotency_key=row["idempotency_key"],
        payload_json=row["payload_json"],
        payload_bytes=row["payload_bytes"],
        answer_json=row["answer_json"],
        rules=rules_from_json(json.loads(row["rules"])),
        key=key_from_json(json.loads(row["key"])),
        fingerprint=row["fingerprint"],
        created_at=row["created_at"],
        seq=row["seq"],
        answered=row["answered"],
        correct=row["correct"],
    )
