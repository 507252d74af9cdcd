"""The items each measure is counted over, read as evidence, on the caller's connection
(under ``scores.lock_window``). Each window is the one its score counts: the
contractor's latest ``limit`` items in the project, newest first, in the same order."""

from __future__ import annotations

import asyncpg

from quality.domain.rules import RuleMeasure
from quality.domain.sanctions import EvidenceItem, Window

_GOLD = """
SELECT a.claim_id AS submission_id, a.task_id, a.submitted_at, a.submitted_at AS at,
    a.gold_id, a.correct, a.answer_json, g.answer_json AS expected_json,
    g.payload_json, g.payload_bytes
FROM gold_answers a JOIN gold_tasks g USING (gold_id)
WHERE a.contractor_id = $1 AND a.project_id = $2 AND NOT a.voided AND NOT a.pending
ORDER BY a.submitted_at DESC, a.claim_id DESC LIMIT $3
"""
# A review's place is its first review's time; it shows when the work was handed in
# where the service saw that (WorkSubmitted), else the review's time.
_REVIEWS = """
SELECT r.submission_id, r.task_id, coalesce(s.submitted_at, r.reviewed_at) AS submitted_at,
    r.reviewed_at AS at, r.accepted, r.feedback
FROM reviewed_submissions r LEFT JOIN submissions s USING (submission_id)
WHERE r.contractor_id = $1 AND r.project_id = $2
ORDER BY r.reviewed_at DESC, r.submission_id DESC LIMIT $3
"""
_FLAGS = """
SELECT submission_id, task_id, submitted_at, submitted_at AS at, flagged
FROM submissions WHERE contractor_id = $1 AND project_id = $2
ORDER BY submitted_at DESC, submission_id DESC LIMIT $3
"""


async def window(
    conn: asyncpg.Connection,
    measure: RuleMeasure,
    contractor_id: str,
    project_id: str,
    *,
    limit: int,
) -> Window:
    match measure:
        case RuleMeasure.GOLD_ACCURACY:
            rows = await conn.fetch(_GOLD, contractor_id, project_id, limit)
            items = [_gold(r) for r in rows]
        case RuleMeasure.ACCEPTANCE_RATE:
            rows = await conn.fetch(_REVIEWS, contractor_id, project_id, limit)
            items = [_review(r) for r in rows]
        case RuleMeasure.TIME_FLAG_SHARE:
            rows = await conn.fetch(_FLAGS, contractor_id, project_id, limit)
            items = [_flag(r) for r in rows]
    newest = (rows[0]["at"], rows[0]["submission_id"]) if rows else None
    return Window(items=tuple(items), newest=newest)


def _gold(r: asyncpg.Record) -> EvidenceItem:
    return EvidenceItem(
        kind="gold",
        task_id=r["task_id"],
        submission_id=r["submission_id"],
        submitted_at=r["submitted_at"],
        gold_id=r["gold_id"],
        correct=r["correct"],
        answer_json=r["answer_json"],
        expected_json=r["expected_json"],
        payload_json=r["payload_json"],
        payload_bytes=r["payload_bytes"],
    )


def _review(r: asyncpg.Record) -> EvidenceItem:
    return EvidenceItem(
        kind="review",
        task_id=r["task_id"],
        submission_id=r["submission_id"],
        submitted_at=r["submitted_at"],
        accepted=r["accepted"],
        feedback=r["feedback"],
    )


def _flag(r: asyncpg.Record) -> EvidenceItem:
    return EvidenceItem(
        kind="flag",
        task_id=r["task_id"],
        submission_id=r["submission_id"],
        submitted_at=r["submitted_at"],
        flagged=r["flagged"],
    )
