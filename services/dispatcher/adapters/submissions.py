"""SQL for submissions, their reviews and their bonuses. Every function runs on the
caller's connection."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import asyncpg

from crewline.db import Where
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from dispatcher.domain.bonuses import Bonus, ListBonuses, ListedBonus
from dispatcher.domain.review import AcceptedBy, ListSubmissions, Submission, SubmissionStatus
from dispatcher.domain.time_flags import TimeFlag

# Every column but the result, which is up to 512 KiB: read only where it is shown.
_COLUMNS = (
    "submission_id, task_id, client_id, project_id, contractor_id, status, reward_currency,"
    " reward_minor, worked_seconds, granted_at, terms_basis, terms_rate_currency,"
    " terms_rate_minor, terms_max_paid_seconds, terms_version, terms_effective_at,"
    " submitted_at, auto_accept_at, reviewed_at, accepted_by, accepted_at, feedback,"
    " rejected_at, revert_until, flags, unpaid"
)


def _terms(row: asyncpg.Record) -> PayTerms | None:
    if row["terms_basis"] is None:
        return None
    return PayTerms(
        basis=Basis(row["terms_basis"]),
        rate=Money(row["terms_rate_currency"], row["terms_rate_minor"]),
        max_paid_seconds=row["terms_max_paid_seconds"] or 0,
        version=row["terms_version"] or 0,
        effective_at=row["terms_effective_at"],
    )


def _terms_columns(terms: PayTerms | None) -> tuple[object, ...]:
    if terms is None:
        return (None,) * 6
    return (
        terms.basis.value,
        terms.rate.currency,
        terms.rate.amount_minor,
        terms.max_paid_seconds,
        terms.version,
        terms.effective_at,
    )


def _submission(row: asyncpg.Record) -> Submission:
    return Submission(
        submission_id=row["submission_id"],
        task_id=row["task_id"],
        client_id=row["client_id"],
        project_id=row["project_id"],
        contractor_id=row["contractor_id"],
        status=SubmissionStatus(row["status"]),
        reward=Money(row["reward_currency"], row["reward_minor"]),
        worked_seconds=row["worked_seconds"],
        pay_terms=_terms(row),
        granted_at=row["granted_at"],
        submitted_at=row["submitted_at"],
        auto_accept_at=row["auto_accept_at"],
        reviewed_at=row["reviewed_at"],
        accepted_by=AcceptedBy(row["accepted_by"]) if row["accepted_by"] else None,
        accepted_at=row["accepted_at"],
        feedback=row["feedback"],
        rejected_at=row["rejected_at"],
        revert_until=row["revert_until"],
        result=row.get("result"),
        flags=tuple(TimeFlag.from_json(f) for f in json.loads(row["flags"])),
        unpaid=row["unpaid"],
    )


async def insert(conn: asyncpg.Connection, sub: Submission) -> bool:
    """Store a new submission (with its result); False when it was already stored."""
    inserted = await conn.fetchval(
        "INSERT INTO submissions (submission_id, task_id, client_id, project_id,"
        " contractor_id, status, reward_currency, reward_minor, result, submitted_at,"
        " worked_seconds, granted_at, terms_basis, terms_rate_currency, terms_rate_minor,"
        " terms_max_paid_seconds, terms_version, terms_effective_at, auto_accept_at, flags,"
        " unpaid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,"
        " $16, $17, $18, $19, $20::jsonb, $21)"
        " ON CONFLICT (submission_id) DO NOTHING RETURNING true",
        sub.submission_id,
        sub.task_id,
        sub.client_id,
        sub.project_id,
        sub.contractor_id,
        sub.status.value,
        sub.reward.currency,
        sub.reward.amount_minor,
        sub.result or b"",
        sub.submitted_at,
        sub.worked_seconds,
        sub.granted_at,
        *_terms_columns(sub.pay_terms),
        sub.auto_accept_at,
        json.dumps([f.to_json() for f in sub.flags]),
        sub.unpaid,
    )
    return bool(inserted)


async def get(
    conn: asyncpg.Connection,
    submission_id: uuid.UUID,
    *,
    for_update: bool = False,
    with_result: bool = False,
) -> Submission | None:
    columns = f"{_COLUMNS}, result" if with_result else _COLUMNS
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {columns} FROM submissions WHERE submission_id = $1{lock}", submission_id
    )
    return _submission(row) if row else None


async def save_review(conn: asyncpg.Connection, sub: Submission) -> None:
    """Store a submission's review (its status and what came with it)."""
    await conn.execute(
        "UPDATE submissions SET status = $2, reviewed_at = $3, accepted_by = $4,"
        " accepted_at = $5, feedback = $6, rejected_at = $7, revert_until = $8"
        " WHERE submission_id = $1",
        sub.submission_id,
        sub.status.value,
        sub.reviewed_at,
        sub.accepted_by and sub.accepted_by.value,
        sub.accepted_at,
        sub.feedback,
        sub.rejected_at,
        sub.revert_until,
    )


async def of_task(conn: asyncpg.Connection, task_id: uuid.UUID) -> list[Submission]:
    """A task's submissions, oldest first, without their results."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM submissions WHERE task_id = $1"
        " ORDER BY submitted_at, submission_id",
        task_id,
    )
    return [_submission(r) for r in rows]


async def listed(conn: asyncpg.Connection, query: ListSubmissions) -> list[Submission]:
    """One page by (submitted_at, submission_id), with results, plus one more row when
    there is a next page. Only the filters given go into the statement."""
    where = Where("client_id = {}", query.client_id)
    if query.task_id is not None:
        where.add("task_id = {}", query.task_id)
    if query.project_id is not None:
        where.add("project_id = {}", query.project_id)
    if query.status is not None:
        where.add("status = {}", query.status.value)
    if query.flagged_only:
        where.add("flags <> '[]'")
    if query.after is not None:
        where.add(
            "(submitted_at, submission_id) > ({}, {})",
            query.after.at,
            query.after_submission_id,
        )
    rows = await conn.fetch(
        f"SELECT {_COLUMNS}, result FROM submissions WHERE {where.sql}"
        f" ORDER BY submitted_at, submission_id LIMIT {query.page_size + 1:d}",
        *where.args,
    )
    return [_submission(r) for r in rows]


# --- bonuses -------------------------------------------------------------------------------


def _bonus(row: asyncpg.Record) -> Bonus:
    return Bonus(
        bonus_id=row["bonus_id"],
        client_id=row["client_id"],
        idempotency_key=row["idempotency_key"],
        submission_id=row["submission_id"],
        amount=Money(row["amount_currency"], row["amount_minor"]),
        reason=row["reason"],
        granted_at=row["granted_at"],
    )


async def insert_bonus(conn: asyncpg.Connection, bonus: Bonus) -> bool:
    """Store a bonus; False when its id (its client's key) was used before. A copy of
    the same key in flight elsewhere is waited for."""
    inserted = await conn.fetchval(
        "INSERT INTO bonuses (bonus_id, client_id, idempotency_key, submission_id,"
        " amount_currency, amount_minor, reason, granted_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT DO NOTHING RETURNING true",
        bonus.bonus_id,
        bonus.client_id,
        bonus.idempotency_key,
        bonus.submission_id,
        bonus.amount.currency,
        bonus.amount.amount_minor,
        bonus.reason,
        bonus.granted_at,
    )
    return bool(inserted)


async def get_bonus(conn: asyncpg.Connection, bonus_id: uuid.UUID) -> Bonus | None:
    row = await conn.fetchrow("SELECT * FROM bonuses WHERE bonus_id = $1", bonus_id)
    return _bonus(row) if row else None


async def bonuses_of(
    conn: asyncpg.Connection, submission_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Bonus]]:
    """The bonuses on each of these submissions, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM bonuses WHERE submission_id = ANY($1::uuid[])"
        " ORDER BY submission_id, granted_at, bonus_id",
        list(submission_ids),
    )
    found: dict[uuid.UUID, list[Bonus]] = {}
    for row in rows:
        found.setdefault(row["submission_id"], []).append(_bonus(row))
    return found


async def listed_bonuses(
    conn: asyncpg.Connection, query: ListBonuses, *, limit: int
) -> list[ListedBonus]:
    """Up to ``limit`` bonuses before the query's cursor, newest first, each with its
    submission's task, project and contractor. Only the filters given go into the
    statement."""
    where = Where("true")
    if query.client_id is not None:
        where.add("b.client_id = {}", query.client_id)
    if query.project_id is not None:
        where.add("s.project_id = {}", query.project_id)
    if query.before is not None:
        where.add("(b.granted_at, b.bonus_id) < ({}, {}::uuid)", query.before.at, query.before.id)
    rows = await conn.fetch(
        "SELECT b.*, s.task_id, s.project_id, s.contractor_id"
        f" FROM bonuses b JOIN submissions s USING (submission_id) WHERE {where.sql}"
        f" ORDER BY b.granted_at DESC, b.bonus_id DESC LIMIT {limit:d}",
        *where.args,
    )
    return [
        ListedBonus(
            bonus=_bonus(r),
            task_id=r["task_id"],
            project_id=r["project_id"],
            contractor_id=r["contractor_id"],
        )
        for r in rows
    ]
