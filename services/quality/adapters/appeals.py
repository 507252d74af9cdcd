"""Appeals in SQL, on the caller's connection (and transaction, for the writes)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from quality.adapters import queues
from quality.domain.appeals import (
    Appeal,
    AppealQuery,
    AppealState,
    Decider,
    Subject,
    SubjectKind,
    Target,
)

# Nothing is written when the key filed an appeal already, or the subject has one (a
# request committing at the same time included): the caller reads which.
_INSERT = """
INSERT INTO appeals (appeal_id, contractor_id, idempotency_key, project_id, client_id,
    sanction_id, submission_id, text, state, filed_at, decide_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT DO NOTHING
RETURNING seq
"""


async def insert(conn: asyncpg.Connection, appeal: Appeal) -> int | None:
    """Store the new appeal; its seq, or None when nothing was stored."""
    sanction_id, submission_id = _subject_columns(appeal.subject)
    seq: int | None = await conn.fetchval(
        _INSERT,
        appeal.appeal_id,
        appeal.contractor_id,
        appeal.idempotency_key,
        appeal.project_id,
        appeal.client_id,
        sanction_id,
        submission_id,
        appeal.text,
        appeal.state.value,
        appeal.filed_at,
        appeal.decide_by,
    )
    return seq


async def get(
    conn: asyncpg.Connection,
    appeal_id: uuid.UUID,
    *,
    client_id: str | None = None,
    for_update: bool = False,
) -> Appeal | None:
    """The appeal; None when there is none, or it is not in ``client_id``'s project."""
    row = await conn.fetchrow(
        "SELECT * FROM appeals WHERE appeal_id = $1 AND ($2::text IS NULL OR client_id = $2)"
        + (" FOR UPDATE" if for_update else ""),
        appeal_id,
        client_id,
    )
    return _appeal(row) if row is not None else None


async def of_subject(conn: asyncpg.Connection, subject: Subject) -> Appeal | None:
    """The subject's appeal, if it has one."""
    sanction_id, submission_id = _subject_columns(subject)
    row = await conn.fetchrow(
        "SELECT * FROM appeals WHERE sanction_id = $1 OR submission_id = $2",
        sanction_id,
        submission_id,
    )
    return _appeal(row) if row is not None else None


async def rejection(
    conn: asyncpg.Connection, submission_id: str, contractor_id: str
) -> Target | None:
    """The contractor's submission if it stands rejected: its project and review time."""
    row = await conn.fetchrow(
        "SELECT project_id, client_id, reviewed_at FROM reviewed_submissions"
        " WHERE submission_id = $1 AND contractor_id = $2 AND NOT accepted",
        submission_id,
        contractor_id,
    )
    if row is None:
        return None
    return Target(
        project_id=row["project_id"], client_id=row["client_id"], since=row["reviewed_at"]
    )


async def still_rejected(
    conn: asyncpg.Connection, contractor_id: str, submission_ids: Sequence[str]
) -> list[str]:
    """Those of the contractor's submissions that stand rejected, in the order given."""
    rows = await conn.fetch(
        "SELECT submission_id FROM reviewed_submissions"
        " WHERE submission_id = ANY($1::text[]) AND contractor_id = $2 AND NOT accepted",
        list(submission_ids),
        contractor_id,
    )
    rejected = {r["submission_id"] for r in rows}
    return [s for s in submission_ids if s in rejected]


async def save_decision(conn: asyncpg.Connection, appeal: Appeal) -> None:
    """Store a decision of a pending appeal (locked by the caller)."""
    await conn.execute(
        "UPDATE appeals SET state = $2, decided_at = $3, decided_by = $4, decision_note = $5,"
        " accepted_submission_ids = $6 WHERE appeal_id = $1 AND state = 'pending'",
        appeal.appeal_id,
        appeal.state.value,
        appeal.decided_at,
        appeal.decided_by.value if appeal.decided_by is not None else None,
        appeal.decision_note,
        list(appeal.accepted_submission_ids),
    )


async def void_gold(conn: asyncpg.Connection, contractor_id: str, claim_ids: Sequence[str]) -> int:
    """Void the contractor's gold answers of these claims: no score counts them again.
    How many were voided now."""
    status = await conn.execute(
        "UPDATE gold_answers SET voided = true"
        " WHERE contractor_id = $1 AND claim_id = ANY($2::text[]) AND NOT voided",
        contractor_id,
        list(claim_ids),
    )
    return int(status.split()[-1])


async def find(conn: asyncpg.Connection, query: AppealQuery) -> list[Appeal]:
    """A page of the appeals ``query`` selects, at most ``limit + 1``."""
    rows = await queues.find(conn, query, table="appeals", undecided=AppealState.PENDING)
    return [_appeal(r) for r in rows]


def _subject_columns(subject: Subject) -> tuple[uuid.UUID | None, str | None]:
    if subject.kind is SubjectKind.SANCTION:
        return uuid.UUID(subject.id), None
    return None, subject.id


def _appeal(row: asyncpg.Record) -> Appeal:
    if row["sanction_id"] is not None:
        subject = Subject(SubjectKind.SANCTION, str(row["sanction_id"]))
    else:
        subject = Subject(SubjectKind.SUBMISSION, row["submission_id"])
    decided_by = row["decided_by"]
    return Appeal(
        appeal_id=row["appeal_id"],
        contractor_id=row["contractor_id"],
        idempotency_key=row["idempotency_key"],
        project_id=row["project_id"],
        client_id=row["client_id"],
        subject=subject,
        text=row["text"],
        state=AppealState(row["state"]),
        filed_at=row["filed_at"],
        decide_by=row["decide_by"],
        decided_at=row["decided_at"],
        decided_by=Decider(decided_by) if decided_by is not None else None,
        decision_note=row["decision_note"],
        accepted_submission_ids=tuple(row["accepted_submission_ids"]),
        seq=row["seq"],
    )
