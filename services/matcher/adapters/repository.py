"""SQL for the matcher's pool and claims. Every function runs on the caller's connection."""

from __future__ import annotations

import uuid

import asyncpg

from crewline.money import Money
from matcher.domain.model import Claim, ClaimStatus, ListOpenTasks, OpenTask


def _claim(row: asyncpg.Record) -> Claim:
    return Claim(
        claim_id=row["claim_id"],
        task_id=row["task_id"],
        contractor_id=row["contractor_id"],
        request_id=row["request_id"],
        status=ClaimStatus(row["status"]),
        reward=Money(row["reward_currency"], row["reward_minor"]),
        version=row["version"],
        granted_at=row["granted_at"],
        submitted_at=row["submitted_at"],
    )


async def add_open_task(
    conn: asyncpg.Connection,
    *,
    task_id: uuid.UUID,
    client_id: str,
    project_id: str,
    slots: int,
    reward: Money,
    instructions: str,
    published_at: object,
) -> None:
    await conn.execute(
        "INSERT INTO open_tasks (task_id, client_id, project_id, slots, free_slots,"
        " reward_currency, reward_minor, instructions, published_at)"
        " VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8) ON CONFLICT (task_id) DO NOTHING",
        task_id,
        client_id,
        project_id,
        slots,
        reward.currency,
        reward.amount_minor,
        instructions,
        published_at,
    )


async def take_slot(conn: asyncpg.Connection, task_id: uuid.UUID) -> Money | None:
    """Take one free slot atomically (the row lock orders racing claimers); its reward, or None."""
    row = await conn.fetchrow(
        "UPDATE open_tasks SET free_slots = free_slots - 1"
        " WHERE task_id = $1 AND free_slots > 0 RETURNING reward_currency, reward_minor",
        task_id,
    )
    return Money(row["reward_currency"], row["reward_minor"]) if row else None


async def task_exists(conn: asyncpg.Connection, task_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM open_tasks WHERE task_id = $1", task_id))


async def insert_claim(conn: asyncpg.Connection, claim: Claim) -> bool:
    """False when the contractor already holds this task or used this request id."""
    inserted = await conn.fetchval(
        "INSERT INTO claims (claim_id, task_id, contractor_id, request_id, status,"
        " reward_currency, reward_minor, version, granted_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING true",
        claim.claim_id,
        claim.task_id,
        claim.contractor_id,
        claim.request_id,
        claim.status.value,
        claim.reward.currency,
        claim.reward.amount_minor,
        claim.version,
        claim.granted_at,
    )
    return bool(inserted)


async def lock_request(conn: asyncpg.Connection, *, contractor_id: str, request_id: str) -> None:
    """Serialise concurrent copies of one claim request until this transaction ends."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{contractor_id}\x1f{request_id}"
    )


async def claim_by_request(
    conn: asyncpg.Connection, *, contractor_id: str, request_id: str
) -> Claim | None:
    row = await conn.fetchrow(
        "SELECT * FROM claims WHERE contractor_id = $1 AND request_id = $2",
        contractor_id,
        request_id,
    )
    return _claim(row) if row else None


async def get_claim(
    conn: asyncpg.Connection, claim_id: uuid.UUID, *, for_update: bool = False
) -> Claim | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT * FROM claims WHERE claim_id = $1{lock}", claim_id)
    return _claim(row) if row else None


async def save_submitted(conn: asyncpg.Connection, claim: Claim, result: bytes) -> bool:
    """Compare-and-set on the claim's version: False when another writer changed it first."""
    status = await conn.execute(
        "UPDATE claims SET status = $2, version = $3, submitted_at = $4, result = $5"
        " WHERE claim_id = $1 AND version = $6",
        claim.claim_id,
        claim.status.value,
        claim.version,
        claim.submitted_at,
        result,
        claim.version - 1,
    )
    return bool(status == "UPDATE 1")


async def open_tasks_for(
    conn: asyncpg.Connection, query: ListOpenTasks, *, limit: int
) -> list[OpenTask]:
    """Open tasks the contractor holds no claim on, oldest first, after the query's cursor."""
    after = query.after
    rows = await conn.fetch(
        "SELECT t.* FROM open_tasks t WHERE t.free_slots > 0"
        " AND ($3::text IS NULL OR t.project_id = $3)"
        " AND ($4::timestamptz IS NULL OR (t.published_at, t.task_id) > ($4, $5::uuid))"
        " AND NOT EXISTS"
        " (SELECT 1 FROM claims c WHERE c.task_id = t.task_id AND c.contractor_id = $1)"
        " ORDER BY t.published_at, t.task_id LIMIT $2",
        query.contractor_id,
        limit,
        query.project_id,
        after.published_at if after else None,
        after.task_id if after else None,
    )
    return [
        OpenTask(
            task_id=r["task_id"],
            project_id=r["project_id"],
            free_slots=r["free_slots"],
            reward=Money(r["reward_currency"], r["reward_minor"]),
            instructions=r["instructions"],
            published_at=r["published_at"],
        )
        for r in rows
    ]
