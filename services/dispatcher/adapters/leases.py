"""SQL for ``claim_leases``, the dispatcher's copy of each claim. Every function runs
on the caller's connection, and each moves a claim at most once, so a redelivered
event finds nothing to do."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from dispatcher.domain.leases import Lease, LeaseState


def _lease(row: asyncpg.Record) -> Lease:
    return Lease(
        claim_id=row["claim_id"],
        task_id=row["task_id"],
        client_id=row["client_id"],
        project_id=row["project_id"],
        contractor_id=row["contractor_id"],
        state=LeaseState(row["state"]),
        deadline_at=row["deadline_at"],
        granted_at=row["granted_at"],
    )


async def insert(conn: asyncpg.Connection, lease: Lease) -> bool:
    """Record a claim; False when it was recorded before."""
    return lease.claim_id in await insert_many(conn, [lease])


async def insert_many(conn: asyncpg.Connection, leases: Sequence[Lease]) -> set[uuid.UUID]:
    """Record claims, in one statement; the claim ids not recorded before."""
    rows = await conn.fetch(
        "INSERT INTO claim_leases (claim_id, task_id, client_id, project_id, contractor_id,"
        " state, deadline_at, granted_at)"
        " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],"
        " $6::text[], $7::timestamptz[], $8::timestamptz[])"
        " ON CONFLICT (claim_id) DO NOTHING RETURNING claim_id",
        [lease.claim_id for lease in leases],
        [lease.task_id for lease in leases],
        [lease.client_id for lease in leases],
        [lease.project_id for lease in leases],
        [lease.contractor_id for lease in leases],
        [lease.state.value for lease in leases],
        [lease.deadline_at for lease in leases],
        [lease.granted_at for lease in leases],
    )
    return {row["claim_id"] for row in rows}


async def get(conn: asyncpg.Connection, claim_id: uuid.UUID) -> Lease | None:
    row = await conn.fetchrow("SELECT * FROM claim_leases WHERE claim_id = $1", claim_id)
    return _lease(row) if row else None


async def extend(conn: asyncpg.Connection, claim_id: uuid.UUID, deadline_at: datetime) -> bool:
    """Move a live claim's deadline later; False if it is not live or already that late."""
    moved = await conn.fetchval(
        "UPDATE claim_leases SET deadline_at = $2"
        " WHERE claim_id = $1 AND state = 'live'"
        " AND (deadline_at IS NULL OR deadline_at < $2) RETURNING true",
        claim_id,
        deadline_at,
    )
    return bool(moved)


async def finish(conn: asyncpg.Connection, claim_id: uuid.UUID, state: LeaseState) -> bool:
    """A live claim is submitted or ended; False if it was not live."""
    done = await conn.fetchval(
        "UPDATE claim_leases SET state = $2 WHERE claim_id = $1 AND state = 'live' RETURNING true",
        claim_id,
        state.value,
    )
    return bool(done)


async def settle(conn: asyncpg.Connection, claim_id: uuid.UUID, at: datetime) -> bool:
    """Note a claim's settlement; False when it was noted before."""
    noted = await conn.fetchval(
        "UPDATE claim_leases SET settled_at = $2 WHERE claim_id = $1 AND settled_at IS NULL"
        " RETURNING true",
        claim_id,
        at,
    )
    return bool(noted)
