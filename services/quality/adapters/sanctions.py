"""Sanctions and their evidence in SQL, on the caller's connection. Evidence is written
once, with the sanction, and read back only for the sanction's readers."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import asyncpg

from quality.domain.rules import RuleAction, rule_from_json, rule_to_json
from quality.domain.sanctions import EvidenceItem, Sanction, SanctionQuery, SanctionState

_EVIDENCE = """
INSERT INTO sanction_evidence (sanction_id, position, kind, task_id, submission_id,
    submitted_at, gold_id, correct, accepted, flagged, answer_json, expected_json, feedback)
SELECT $1, e.n - 1, e.kind, e.task_id, e.submission_id, e.submitted_at, e.gold_id,
    e.correct, e.accepted, e.flagged, e.answer_json, e.expected_json, e.feedback
FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::uuid[], $7::bool[],
    $8::bool[], $9::bool[], $10::text[], $11::text[], $12::text[]) WITH ORDINALITY
    AS e (kind, task_id, submission_id, submitted_at, gold_id, correct, accepted, flagged,
          answer_json, expected_json, feedback, n)
"""


async def add(
    conn: asyncpg.Connection, sanction: Sanction, *, newest: tuple[datetime, str]
) -> None:
    """Store a new sanction with its evidence; ``newest`` is the newest item of its sample."""
    s = sanction
    await conn.execute(
        "INSERT INTO sanctions (sanction_id, contractor_id, project_id, client_id, rule_id, rule,"
        " action, measured_value, sample, state, imposed_at, ends_at, ended_at, version,"
        " newest_at, newest_id)"
        " VALUES ($1, $2, $3, $4, $5, $6::json, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        s.sanction_id,
        s.contractor_id,
        s.project_id,
        s.client_id,
        s.rule.rule_id,
        json.dumps(rule_to_json(s.rule)),
        s.action.value,
        s.measured_value,
        s.sample,
        s.state.value,
        s.imposed_at,
        s.ends_at,
        s.ended_at,
        s.version,
        *newest,
    )
    e = s.evidence
    await conn.execute(
        _EVIDENCE,
        s.sanction_id,
        [i.kind for i in e],
        [i.task_id for i in e],
        [i.submission_id for i in e],
        [i.submitted_at for i in e],
        [i.gold_id for i in e],
        [i.correct for i in e],
        [i.accepted for i in e],
        [i.flagged for i in e],
        [i.answer_json for i in e],
        [i.expected_json for i in e],
        [i.feedback for i in e],
    )


async def closed(conn: asyncpg.Connection, sanction: Sanction) -> bool:
    """Store an ACTIVE sanction's end (ENDED or LIFTED) unless it is no longer ACTIVE;
    whether it was stored."""
    done = await conn.fetchval(
        "UPDATE sanctions SET state = $2, ended_at = $3, version = $4"
        " WHERE sanction_id = $1 AND state = 'active' RETURNING 1",
        sanction.sanction_id,
        sanction.state.value,
        sanction.ended_at,
        sanction.version,
    )
    return done is not None


async def active_of_rule(
    conn: asyncpg.Connection, contractor_id: str, project_id: str, rule_id: str
) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM sanctions WHERE contractor_id = $1 AND project_id = $2"
            " AND rule_id = $3 AND state = 'active')",
            contractor_id,
            project_id,
            rule_id,
        )
    )


async def last_newest(
    conn: asyncpg.Connection, contractor_id: str, project_id: str, rule_id: str
) -> tuple[datetime, str] | None:
    """The newest item any earlier sanction of the rule for them rested on."""
    row = await conn.fetchrow(
        "SELECT newest_at, newest_id FROM sanctions WHERE contractor_id = $1"
        " AND project_id = $2 AND rule_id = $3 ORDER BY newest_at DESC, newest_id DESC LIMIT 1",
        contractor_id,
        project_id,
        rule_id,
    )
    return (row["newest_at"], row["newest_id"]) if row is not None else None


async def get(
    conn: asyncpg.Connection, sanction_id: uuid.UUID, *, for_update: bool = False
) -> Sanction | None:
    """The sanction with its evidence; ``for_update`` locks its row until the transaction
    ends (for a change that must not race the clock's end or another lift)."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT * FROM sanctions WHERE sanction_id = $1{lock}", sanction_id)
    if row is None:
        return None
    evidence = await _evidence(conn, [sanction_id])
    return _sanction(row, evidence.get(sanction_id, ()))


async def showing_gold(conn: asyncpg.Connection, gold_id: uuid.UUID) -> list[Sanction]:
    """Every sanction not lifted whose evidence holds an answer to the gold task, oldest
    first, with its evidence; locked (as ``get(for_update=True)``)."""
    rows = await conn.fetch(
        "SELECT * FROM sanctions s WHERE s.state <> 'lifted' AND EXISTS (SELECT 1"
        " FROM sanction_evidence e WHERE e.sanction_id = s.sanction_id AND e.gold_id = $1)"
        " ORDER BY s.imposed_at, s.sanction_id FOR UPDATE",
        gold_id,
    )
    evidence = await _evidence(conn, [r["sanction_id"] for r in rows])
    return [_sanction(r, evidence.get(r["sanction_id"], ())) for r in rows]


async def find(conn: asyncpg.Connection, query: SanctionQuery) -> list[Sanction]:
    """The sanctions ``query`` selects, newest first, at most ``limit + 1``."""
    after = query.after
    rows = await conn.fetch(
        "SELECT * FROM sanctions WHERE ($1::text IS NULL OR contractor_id = $1)"
        " AND ($2::text IS NULL OR client_id = $2)"
        " AND ($3::text IS NULL OR project_id = $3)"
        " AND ($4::text IS NULL OR state = $4)"
        " AND ($5::timestamptz IS NULL OR (imposed_at, sanction_id) < ($5, $6::uuid))"
        " ORDER BY imposed_at DESC, sanction_id DESC LIMIT $7",
        query.contractor_id,
        query.client_id,
        query.project_id,
        query.state.value if query.state is not None else None,
        after.at if after else None,
        uuid.UUID(after.id) if after else None,
        query.limit + 1,
    )
    evidence = await _evidence(conn, [r["sanction_id"] for r in rows])
    return [_sanction(r, evidence.get(r["sanction_id"], ())) for r in rows]


async def _evidence(
    conn: asyncpg.Connection, sanction_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[EvidenceItem, ...]]:
    rows = await conn.fetch(
        "SELECT e.*, g.payload_json, g.payload_bytes FROM sanction_evidence e"
        " LEFT JOIN gold_tasks g USING (gold_id)"
        " WHERE e.sanction_id = ANY($1::uuid[]) ORDER BY e.sanction_id, e.position",
        sanction_ids,
    )
    found: dict[uuid.UUID, list[EvidenceItem]] = {}
    for r in rows:
        found.setdefault(r["sanction_id"], []).append(
            EvidenceItem(
                kind=r["kind"],
                task_id=r["task_id"],
                submission_id=r["submission_id"],
                submitted_at=r["submitted_at"],
                gold_id=r["gold_id"],
                correct=r["correct"],
                accepted=r["accepted"],
                flagged=r["flagged"],
                answer_json=r["answer_json"],
                expected_json=r["expected_json"],
                feedback=r["feedback"],
                payload_json=r["payload_json"],
                payload_bytes=r["payload_bytes"],
            )
        )
    return {k: tuple(v) for k, v in found.items()}


def _sanction(row: asyncpg.Record, evidence: tuple[EvidenceItem, ...]) -> Sanction:
    return Sanction(
        sanction_id=row["sanction_id"],
        contractor_id=row["contractor_id"],
        project_id=row["project_id"],
        client_id=row["client_id"],
        rule=rule_from_json(json.loads(row["rule"])),
        action=RuleAction(row["action"]),
        measured_value=row["measured_value"],
        sample=row["sample"],
        state=SanctionState(row["state"]),
        imposed_at=row["imposed_at"],
        ends_at=row["ends_at"],
        ended_at=row["ended_at"],
        version=row["version"],
        evidence=evidence,
    )
