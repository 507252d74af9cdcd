"""Gold issued to contractors, and their answers, in SQL, on the caller's connection
(the consumer's transaction). A contractor's gold in a project is issued and scored
under ``scores.lock_window``, so two partitions cannot both issue, or both recount."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from quality.domain.claims import ClaimOver
from quality.domain.issuing import DEFAULT_GOLD_SHARE, GoldIssue


@dataclass(frozen=True, kw_only=True)
class Instance:
    """What a claim on a gold task needs of it."""

    task_id: str
    gold_id: uuid.UUID
    contractor_id: str
    project_id: str
    client_id: str


async def claimed(conn: asyncpg.Connection, task_id: str, claim_id: str) -> Instance | None:
    """The gold instance ``task_id`` is, now met (claimed: its payload was shown); None
    for an ordinary task. A repeat changes nothing."""
    row = await conn.fetchrow(
        "UPDATE gold_instances SET claim_id = coalesce(claim_id, $2) WHERE task_id = $1"
        " RETURNING task_id, gold_id, contractor_id, project_id, client_id",
        task_id,
        claim_id,
    )
    return Instance(**row) if row is not None else None


async def ended(conn: asyncpg.Connection, over: ClaimOver) -> Instance | None:
    """Close the gold instance whose claim is over (met: it was claimed); None for an
    ordinary task."""
    row = await conn.fetchrow(
        "UPDATE gold_instances SET claim_id = coalesce(claim_id, $2),"
        " ended_at = coalesce(ended_at, $3) WHERE task_id = $1"
        " RETURNING task_id, gold_id, contractor_id, project_id, client_id",
        over.task_id,
        over.claim_id,
        over.at,
    )
    return Instance(**row) if row is not None else None


@dataclass(frozen=True, kw_only=True)
class GoldProject:
    """What a draw needs of the project an ordinary claim is in."""

    client_id: str
    active: bool
    task_lifetime_seconds: int
    share: int
    has_gold: bool


async def gold_project(conn: asyncpg.Connection, project_id: str) -> GoldProject | None:
    # A project with an exam has no hidden gold: its gold is the exam's questions, and
    # issued as hidden gold it could be shown (as evidence) and retired.
    row = await conn.fetchrow(
        "SELECT p.client_id, p.state = 'active' AS active, p.task_lifetime_seconds,"
        " coalesce(q.gold_share_percent, $2) AS share,"
        " EXISTS (SELECT 1 FROM gold_tasks g WHERE g.project_id = p.project_id"
        " AND g.retired_at IS NULL)"
        " AND NOT EXISTS (SELECT 1 FROM exams e WHERE e.project_id = p.project_id) AS has_gold"
        " FROM projects p LEFT JOIN quality_policies q USING (project_id)"
        " WHERE p.project_id = $1",
        project_id,
        DEFAULT_GOLD_SHARE,
    )
    return GoldProject(**row) if row is not None else None


async def has_open(
    conn: asyncpg.Connection, contractor_id: str, project_id: str, *, now: datetime
) -> bool:
    """Whether the contractor holds gold in the project not yet over: claimed and not
    ended, or unclaimed and not lapsed."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM gold_instances WHERE contractor_id = $1"
            " AND project_id = $2 AND ended_at IS NULL"
            " AND (claim_id IS NOT NULL OR lapses_at > $3))",
            contractor_id,
            project_id,
            now,
        )
    )


async def drawn(conn: asyncpg.Connection, claim_id: str) -> bool:
    """Mark the claim as having made its draw; False when it had already."""
    return (
        await conn.fetchval(
            "INSERT INTO gold_draws (claim_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1",
            claim_id,
        )
        is not None
    )


# The project's gold the contractor has not met (claimed), in the order it was added;
# retired gold (shown as a sanction's evidence) is never issued again.
_UNMET = """
FROM gold_tasks g WHERE g.project_id = $2 AND g.retired_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM gold_instances i WHERE i.contractor_id = $1 AND i.project_id = g.project_id
        AND i.gold_id = g.gold_id AND i.claim_id IS NOT NULL)
"""


async def unmet(conn: asyncpg.Connection, contractor_id: str, project_id: str) -> int:
    return int(await conn.fetchval(f"SELECT count(*) {_UNMET}", contractor_id, project_id))


async def unmet_at(
    conn: asyncpg.Connection, contractor_id: str, project_id: str, index: int
) -> asyncpg.Record:
    """The ``index``-th gold task not met: its id, payload and whether it needs review."""
    return await conn.fetchrow(
        f"SELECT g.gold_id, g.payload_json, g.payload_bytes, g.needs_review {_UNMET}"
        " ORDER BY g.seq OFFSET $3"
        " LIMIT 1",
        contractor_id,
        project_id,
        index,
    )


async def issue(conn: asyncpg.Connection, issue: GoldIssue) -> None:
    await conn.execute(
        "INSERT INTO gold_instances (task_id, gold_id, project_id, client_id, contractor_id,"
        " issued_at, lapses_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        issue.task_id,
        uuid.UUID(issue.gold_id),
        issue.project_id,
        issue.client_id,
        issue.contractor_id,
        issue.issued_at,
        issue.lapses_at,
    )


async def record_answer(
    conn: asyncpg.Connection,
    instance: Instance,
    *,
    claim_id: str,
    correct: bool,
    at: datetime,
    answer_json: str,
    needs_review: bool = False,
    review_accepted: bool | None = None,
) -> bool:
    """Store the answer (shown only as a sanction's evidence) and whether it was right;
    False when this claim's was already stored. An answer that ``needs_review`` and has
    no ``review_accepted`` yet is pending: it counts nowhere until ``reviewed``."""
    saved = await conn.fetchval(
        "INSERT INTO gold_answers (claim_id, task_id, gold_id, contractor_id, project_id,"
        " correct, submitted_at, answer_json, needs_review, review_accepted)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (claim_id) DO NOTHING RETURNING 1",
        claim_id,
        instance.task_id,
        instance.gold_id,
        instance.contractor_id,
        instance.project_id,
        correct,
        at,
        answer_json,
        needs_review,
        review_accepted,
    )
    return saved is not None


@dataclass(frozen=True, kw_only=True)
class Reviewed:
    """A gold answer that needed review, as its review left it."""

    claim_id: str
    gold_id: uuid.UUID
    answer_json: str
    review_accepted: bool


async def reviewed(conn: asyncpg.Connection, claim_id: str, *, accepted: bool) -> Reviewed | None:
    """Note the review of the answer of this claim, if it needed one: acceptance is final
    (an override turns a rejection into one; a rejection after it changes nothing). The
    answer as reviewed; None when it needs no review, is not known yet, or nothing
    changed (a redelivery)."""
    row = await conn.fetchrow(
        "UPDATE gold_answers SET review_accepted = coalesce(review_accepted, false) OR $2"
        " WHERE claim_id = $1 AND needs_review AND review_accepted IS DISTINCT FROM"
        " (coalesce(review_accepted, false) OR $2)"
        " RETURNING claim_id, gold_id, answer_json, review_accepted",
        claim_id,
        accepted,
    )
    return Reviewed(**row) if row is not None else None


async def latest_answers(
    conn: asyncpg.Connection, contractor_id: str, project_id: str, *, limit: int
) -> list[bool]:
    """The contractor's latest ``limit`` gold answers in the project, newest first; a
    voided one (an upheld appeal's) does not count, nor one pending its review."""
    rows = await conn.fetch(
        "SELECT correct FROM gold_answers WHERE contractor_id = $1 AND project_id = $2"
        " AND NOT voided AND NOT pending ORDER BY submitted_at DESC, claim_id DESC LIMIT $3",
        contractor_id,
        project_id,
        limit,
    )
    return [r["correct"] for r in rows]


@dataclass(frozen=True, kw_only=True)
class Answer:
    """An answer to a gold task, as a correction of its key scores it again. answer_json
    is None for an answer scored before answers were kept (migration 0004)."""

    claim_id: str
    contractor_id: str
    project_id: str
    client_id: str
    answer_json: str | None
    correct: bool
    review_accepted: bool | None = None  # a reviewed answer's review; None: none (yet)


async def answers_to(conn: asyncpg.Connection, gold_id: uuid.UUID) -> list[Answer]:
    """Every answer ever given to the gold task, by anyone, voided ones too; locked."""
    rows = await conn.fetch(
        "SELECT a.claim_id, a.contractor_id, a.project_id, i.client_id, a.answer_json,"
        " a.correct, a.review_accepted FROM gold_answers a JOIN gold_instances i USING (task_id)"
        " WHERE a.gold_id = $1 ORDER BY a.submitted_at, a.claim_id FOR UPDATE OF a",
        gold_id,
    )
    return [Answer(**r) for r in rows]


async def rescored(conn: asyncpg.Connection, verdicts: dict[str, bool]) -> None:
    """Store each answer's new verdict (by claim id)."""
    await conn.execute(
        "UPDATE gold_answers a SET correct = v.correct FROM unnest($1::text[], $2::bool[])"
        " AS v (claim_id, correct) WHERE a.claim_id = v.claim_id",
        list(verdicts),
        list(verdicts.values()),
    )


async def verdicts(conn: asyncpg.Connection, claim_ids: list[str]) -> dict[str, bool]:
    """Whether each of these answers counts as correct now, by claim id."""
    rows = await conn.fetch(
        "SELECT claim_id, correct FROM gold_answers WHERE claim_id = ANY($1::text[])", claim_ids
    )
    return {r["claim_id"]: r["correct"] for r in rows}


PRUNE_DRAWS = (
    "WITH old AS (SELECT claim_id FROM gold_draws"
    " WHERE drawn_at < now() - make_interval(secs => $1)"
    " ORDER BY drawn_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " gone AS (DELETE FROM gold_draws d USING old WHERE d.claim_id = old.claim_id RETURNING 1)"
    " SELECT count(*) FROM gone"
)
