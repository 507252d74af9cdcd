"""Disputes in SQL, on the caller's connection (and transaction, for the writes)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import asyncpg

from quality.adapters import queues
from quality.adapters.gold_tasks import rules_from_json, rules_to_json
from quality.domain.disputes import Correction, Dispute, DisputeQuery, DisputeState, Target

# Nothing is written when the key filed a dispute already, or the contractor has one
# open of the gold task (a request committing at the same time included): the caller
# reads which.
_INSERT = """
INSERT INTO disputes (dispute_id, contractor_id, idempotency_key, project_id, client_id,
    task_id, gold_id, note, state, filed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT DO NOTHING
RETURNING seq
"""

# The contractor's gold instance if one of their sanctions shows their answer to it.
# One statement whatever the task is, so no case takes a path of its own.
_REVEALED = """
SELECT i.task_id, i.gold_id, i.project_id, i.client_id FROM gold_instances i
WHERE i.task_id = $1 AND i.contractor_id = $2 AND EXISTS (
    SELECT 1 FROM sanction_evidence e JOIN sanctions s USING (sanction_id)
    WHERE e.task_id = i.task_id AND e.kind = 'gold' AND s.contractor_id = $2)
"""


async def revealed(conn: asyncpg.Connection, task_id: str, contractor_id: str) -> Target | None:
    row = await conn.fetchrow(_REVEALED, task_id, contractor_id)
    return Target(**row) if row is not None else None


async def insert(conn: asyncpg.Connection, dispute: Dispute) -> int | None:
    """Store the new dispute; its seq, or None when nothing was stored."""
    seq: int | None = await conn.fetchval(
        _INSERT,
        dispute.dispute_id,
        dispute.contractor_id,
        dispute.idempotency_key,
        dispute.project_id,
        dispute.client_id,
        dispute.task_id,
        dispute.gold_id,
        dispute.note,
        dispute.state.value,
        dispute.filed_at,
    )
    return seq


async def get(
    conn: asyncpg.Connection,
    dispute_id: uuid.UUID,
    *,
    client_id: str | None = None,
    for_update: bool = False,
) -> Dispute | None:
    """The dispute; None when there is none, or it is not in ``client_id``'s project."""
    row = await conn.fetchrow(
        "SELECT * FROM disputes WHERE dispute_id = $1 AND ($2::text IS NULL OR client_id = $2)"
        + (" FOR UPDATE" if for_update else ""),
        dispute_id,
        client_id,
    )
    return _dispute(row) if row is not None else None


async def open_of(
    conn: asyncpg.Connection, contractor_id: str, gold_id: uuid.UUID
) -> Dispute | None:
    """The contractor's open dispute of the gold task, if any."""
    row = await conn.fetchrow(
        "SELECT * FROM disputes WHERE contractor_id = $1 AND gold_id = $2 AND state = 'open'",
        contractor_id,
        gold_id,
    )
    return _dispute(row) if row is not None else None


async def open_of_gold(conn: asyncpg.Connection, gold_id: uuid.UUID) -> list[Dispute]:
    """Every open dispute of the gold task, oldest first, locked."""
    rows = await conn.fetch(
        "SELECT * FROM disputes WHERE gold_id = $1 AND state = 'open' ORDER BY seq FOR UPDATE",
        gold_id,
    )
    return [_dispute(r) for r in rows]


async def save_resolution(conn: asyncpg.Connection, dispute: Dispute) -> None:
    """Store the resolution of an open dispute (locked by the caller)."""
    c = dispute.correction
    await conn.execute(
        "UPDATE disputes SET state = $2, resolved_at = $3, resolution_note = $4,"
        " accepted_submission_ids = $5, overturned_sanction_ids = $6,"
        " correction_answer_json = $7, correction_rules = $8::json"
        " WHERE dispute_id = $1 AND state = 'open'",
        dispute.dispute_id,
        dispute.state.value,
        dispute.resolved_at,
        dispute.resolution_note,
        list(dispute.accepted_submission_ids),
        list(dispute.overturned_sanction_ids),
        c.answer_json if c is not None else None,
        json.dumps(rules_to_json(c.rules)) if c is not None else None,
    )


async def rejected(
    conn: asyncpg.Connection, project_id: str, submission_ids: Sequence[str]
) -> list[str]:
    """Those of the submissions, of any contractor in the project, that stand rejected,
    in the order given."""
    rows = await conn.fetch(
        "SELECT submission_id FROM reviewed_submissions"
        " WHERE submission_id = ANY($1::text[]) AND project_id = $2 AND NOT accepted",
        list(submission_ids),
        project_id,
    )
    found = {r["submission_id"] for r in rows}
    return [s for s in submission_ids if s in found]


async def find(conn: asyncpg.Connection, query: DisputeQuery) -> list[Dispute]:
    """A page of the disputes ``query`` selects, at most ``limit + 1``."""
    rows = await queues.find(conn, query, table="disputes", undecided=DisputeState.OPEN)
    return [_dispute(r) for r in rows]


def _dispute(row: asyncpg.Record) -> Dispute:
    correction = None
    if row["correction_answer_json"] is not None:
        correction = Correction(
            answer_json=row["correction_answer_json"],
            rules=rules_from_json(json.loads(row["correction_rules"])),
        )
    return Dispute(
        dispute_id=row["dispute_id"],
        contractor_id=row["contractor_id"],
        idempotency_key=row["idempotency_key"],
        project_id=row["project_id"],
        client_id=row["client_id"],
        task_id=row["task_id"],
        gold_id=row["gold_id"],
        note=row["note"],
        state=DisputeState(row["state"]),
        filed_at=row["filed_at"],
        resolved_at=row["resolved_at"],
        resolution_note=row["resolution_note"],
        accepted_submission_ids=tuple(row["accepted_submission_ids"]),
        overturned_sanction_ids=tuple(row["overturned_sanction_ids"]),
        correction=correction,
        seq=row["seq"],
    )
