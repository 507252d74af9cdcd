"""Exams, attempts and their questions in SQL, on the caller's connection. A question's
answer keeps only whether it was right; nothing here reads or returns a key."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import asyncpg

from quality.domain.exam_queries import AttemptQuery, ExamQuery
from quality.domain.exams import Attempt, AttemptState, Exam

_EXAM = """
INSERT INTO exams AS e (qualification, project_id, client_id, question_count, pass_mark,
    retake_cooldown_seconds, paid, time_limit_seconds, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (qualification) DO UPDATE SET project_id = EXCLUDED.project_id,
    client_id = EXCLUDED.client_id, question_count = EXCLUDED.question_count,
    pass_mark = EXCLUDED.pass_mark, retake_cooldown_seconds = EXCLUDED.retake_cooldown_seconds,
    paid = EXCLUDED.paid, time_limit_seconds = EXCLUDED.time_limit_seconds,
    updated_at = EXCLUDED.updated_at
WHERE (e.project_id, e.client_id, e.question_count, e.pass_mark, e.retake_cooldown_seconds,
    e.paid, e.time_limit_seconds) IS DISTINCT FROM (EXCLUDED.project_id, EXCLUDED.client_id,
    EXCLUDED.question_count, EXCLUDED.pass_mark, EXCLUDED.retake_cooldown_seconds,
    EXCLUDED.paid, EXCLUDED.time_limit_seconds)
"""


async def save_exam(conn: asyncpg.Connection, exam: Exam) -> Exam:
    """Attach or replace the type's exam; the same exam again changes nothing (its
    ``updated_at`` stays). The exam as stored."""
    await conn.execute(
        _EXAM,
        exam.qualification,
        exam.project_id,
        exam.client_id,
        exam.question_count,
        exam.pass_mark,
        int(exam.retake_cooldown.total_seconds()),
        exam.paid,
        int(exam.time_limit.total_seconds()),
        exam.updated_at,
    )
    stored = await get_exam(conn, exam.qualification)
    assert stored is not None
    return stored


async def get_exam(conn: asyncpg.Connection, qualification: str) -> Exam | None:
    row = await conn.fetchrow("SELECT * FROM exams WHERE qualification = $1", qualification)
    return _exam(row) if row is not None else None


async def find_exams(conn: asyncpg.Connection, query: ExamQuery) -> list[Exam]:
    rows = await conn.fetch(
        "SELECT * FROM exams WHERE $1::text IS NULL OR qualification > $1"
        " ORDER BY qualification LIMIT $2",
        query.after,
        query.limit + 1,
    )
    return [_exam(r) for r in rows]


async def gold_count(conn: asyncpg.Connection, project_id: str) -> int:
    """The project's gold tasks an exam may ask: any not retired (a retired one's key
    was shown as a sanction's evidence)."""
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM gold_tasks WHERE project_id = $1 AND retired_at IS NULL",
            project_id,
        )
    )


async def gold_ids(conn: asyncpg.Connection, project_id: str) -> list[uuid.UUID]:
    """The gold tasks an exam may ask, in a fixed order (the order they were added)."""
    rows = await conn.fetch(
        "SELECT gold_id FROM gold_tasks WHERE project_id = $1 AND retired_at IS NULL ORDER BY seq",
        project_id,
    )
    return [r["gold_id"] for r in rows]


async def payloads(conn: asyncpg.Connection, ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    """The payloads of these gold tasks, in this order, and whether each needs review
    (never their keys)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT g.gold_id, g.payload_json, g.payload_bytes, g.needs_review"
        " FROM unnest($1::uuid[])"
        " WITH ORDINALITY AS i (gold_id, n) JOIN gold_tasks g USING (gold_id) ORDER BY i.n",
        list(ids),
    )
    return rows


async def lock_taker(conn: asyncpg.Connection, contractor_id: str, qualification: str) -> None:
    """Until the transaction ends, no other StartExam of this contractor at this exam
    runs: two would each find no attempt in progress, or both pass the cooldown."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('exam/' || $1 || '/' || $2, 0))",
        contractor_id,
        qualification,
    )


_ATTEMPT = """
SELECT a.*,
    ARRAY(SELECT q.task_id FROM exam_questions q WHERE q.attempt_id = a.attempt_id
          ORDER BY q.position) AS task_ids,
    (SELECT count(*) FROM exam_questions q WHERE q.attempt_id = a.attempt_id
          AND q.correct IS NOT NULL) AS answered
FROM exam_attempts a
"""


async def latest_attempt(
    conn: asyncpg.Connection, contractor_id: str, qualification: str
) -> Attempt | None:
    """The contractor's latest attempt at the exam (in progress or ended)."""
    row = await conn.fetchrow(
        f"{_ATTEMPT} WHERE a.contractor_id = $1 AND a.qualification = $2"
        " ORDER BY a.seq DESC LIMIT 1",
        contractor_id,
        qualification,
    )
    return _attempt(row) if row is not None else None


async def get_attempt(
    conn: asyncpg.Connection, attempt_id: uuid.UUID, *, for_update: bool = False
) -> Attempt | None:
    lock = " FOR UPDATE OF a" if for_update else ""
    row = await conn.fetchrow(f"{_ATTEMPT} WHERE a.attempt_id = $1{lock}", attempt_id)
    return _attempt(row) if row is not None else None


async def insert_attempt(
    conn: asyncpg.Connection, attempt: Attempt, gold: Sequence[uuid.UUID]
) -> Attempt:
    """Store the attempt and one question per gold task (``attempt.task_ids`` in order)."""
    seq = await conn.fetchval(
        "INSERT INTO exam_attempts (attempt_id, contractor_id, qualification, project_id,"
        " client_id, state, pass_mark, paid, retake_cooldown_seconds, started_at, ends_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq",
        attempt.attempt_id,
        attempt.contractor_id,
        attempt.qualification,
        attempt.project_id,
        attempt.client_id,
        attempt.state.value,
        attempt.pass_mark,
        attempt.paid,
        int(attempt.retake_cooldown.total_seconds()),
        attempt.started_at,
        attempt.ends_by,
    )
    # Whether a question needs review is its key's when the attempt starts.
    await conn.execute(
        "INSERT INTO exam_questions (task_id, attempt_id, position, gold_id, needs_review)"
        " SELECT q.task_id, $1, q.n, q.gold_id, g.needs_review"
        " FROM unnest($2::text[], $3::uuid[]) WITH ORDINALITY AS q (task_id, gold_id, n)"
        " JOIN gold_tasks g USING (gold_id)",
        attempt.attempt_id,
        list(attempt.task_ids),
        list(gold),
    )
    return replace(attempt, seq=seq)


@dataclass(frozen=True, kw_only=True)
class Question:
    task_id: str
    attempt_id: uuid.UUID
    gold_id: uuid.UUID
    answered: bool
    needs_review: bool = False  # its key holds text or rubric fields: the review judges


async def question(conn: asyncpg.Connection, task_id: str) -> Question | None:
    """The exam question ``task_id`` is; None for any other task."""
    row = await conn.fetchrow(
        "SELECT task_id, attempt_id, gold_id, correct IS NOT NULL AS answered, needs_review"
        " FROM exam_questions WHERE task_id = $1",
        task_id,
    )
    return Question(**row) if row is not None else None


async def claimed(conn: asyncpg.Connection, task_id: str, claim_id: str) -> bool:
    """Note the claim on an exam question; False when ``task_id`` is not one."""
    found = await conn.fetchval(
        "UPDATE exam_questions SET claim_id = coalesce(claim_id, $2) WHERE task_id = $1"
        " RETURNING 1",
        task_id,
        claim_id,
    )
    return found is not None


async def answer(
    conn: asyncpg.Connection, task_id: str, *, claim_id: str, correct: bool, at: datetime
) -> bool:
    """Store whether the question's answer was right; False when it was answered already."""
    saved = await conn.fetchval(
        "UPDATE exam_questions SET claim_id = coalesce(claim_id, $2), correct = $3,"
        " answered_at = $4 WHERE task_id = $1 AND correct IS NULL RETURNING 1",
        task_id,
        claim_id,
        correct,
        at,
    )
    return saved is not None


async def reviewed(conn: asyncpg.Connection, task_id: str, *, accepted: bool) -> bool:
    """Note the review of a question that needs one (before or after its answer is
    heard of): acceptance is final, as for any review. False when it needs none or
    nothing changed (a redelivery, a rejection after the override)."""
    found = await conn.fetchval(
        "UPDATE exam_questions SET review_accepted = coalesce(review_accepted, false) OR $2"
        " WHERE task_id = $1 AND needs_review AND review_accepted IS DISTINCT FROM"
        " (coalesce(review_accepted, false) OR $2) RETURNING 1",
        task_id,
        accepted,
    )
    return found is not None


@dataclass(frozen=True, kw_only=True)
class Progress:
    answered: int  # questions answered in time
    pending: int  # of which waiting for their review (text or rubric fields to judge)


async def progress(conn: asyncpg.Connection, attempt_id: uuid.UUID) -> Progress:
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE correct IS NOT NULL) AS answered,"
        " count(*) FILTER (WHERE correct IS NOT NULL AND needs_review"
        " AND review_accepted IS NULL) AS pending FROM exam_questions WHERE attempt_id = $1",
        attempt_id,
    )
    return Progress(answered=row["answered"], pending=row["pending"])


async def correct_count(conn: asyncpg.Connection, attempt_id: uuid.UUID) -> int:
    """Questions answered right: the automatic fields, and the review's acceptance where
    the key holds text or rubric fields (one rejected, or never reviewed, is wrong)."""
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM exam_questions WHERE attempt_id = $1 AND correct"
            " AND (NOT needs_review OR coalesce(review_accepted, false))",
            attempt_id,
        )
    )


async def finish(conn: asyncpg.Connection, attempt: Attempt) -> None:
    await conn.execute(
        "UPDATE exam_attempts SET state = $2, score = $3, finished_at = $4, retake_after = $5"
        " WHERE attempt_id = $1",
        attempt.attempt_id,
        attempt.state.value,
        attempt.score,
        attempt.finished_at,
        attempt.retake_after,
    )


async def find_attempts(conn: asyncpg.Connection, query: AttemptQuery) -> list[Attempt]:
    """A page of attempts, newest first, at most ``limit + 1``."""
    rows = await conn.fetch(
        f"{_ATTEMPT} WHERE ($1::text IS NULL OR a.contractor_id = $1)"
        " AND ($2::text IS NULL OR a.qualification = $2)"
        " AND ($3::bigint IS NULL OR a.seq < $3) ORDER BY a.seq DESC LIMIT $4",
        query.contractor_id,
        query.qualification,
        query.after,
        query.limit + 1,
    )
    return [_attempt(r) for r in rows]


def _exam(row: asyncpg.Record) -> Exam:
    return Exam(
        qualification=row["qualification"],
        project_id=row["project_id"],
        client_id=row["client_id"],
        question_count=row["question_count"],
        pass_mark=row["pass_mark"],
        retake_cooldown=timedelta(seconds=row["retake_cooldown_seconds"]),
        paid=row["paid"],
        time_limit=timedelta(seconds=row["time_limit_seconds"]),
        updated_at=row["updated_at"],
    )


def _attempt(row: asyncpg.Record) -> Attempt:
    return Attempt(
        attempt_id=row["attempt_id"],
        contractor_id=row["contractor_id"],
        qualification=row["qualification"],
        project_id=row["project_id"],
        client_id=row["client_id"],
        state=AttemptState(row["state"]),
        task_ids=tuple(row["task_ids"]),
        answered=row["answered"],
        pass_mark=row["pass_mark"],
        paid=row["paid"],
        retake_cooldown=timedelta(seconds=row["retake_cooldown_seconds"]),
        started_at=row["started_at"],
        ends_by=row["ends_by"],
        score=row["score"],
        finished_at=row["finished_at"],
        retake_after=row["retake_after"],
        seq=row["seq"],
    )
