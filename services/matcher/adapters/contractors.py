"""SQL for contractors and their tokens. Every function runs on the caller's connection."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg

from crewline.db import Where
from matcher.domain.contractor_list import ListContractors, ListedContractor
from matcher.domain.contractors import Contractor, ContractorToken

# A row lock on the contractor: "share" lets others read it but not change it (a token
# being issued); "update" orders every change to one contractor (and waits for the
# claim path, which locks the row too).
Lock = Literal["share", "update"] | None
_LOCKS = {None: "", "share": " FOR SHARE", "update": " FOR NO KEY UPDATE"}


def _contractor(row: asyncpg.Record) -> Contractor:
    return Contractor(
        contractor_id=row["contractor_id"],
        display_name=row["display_name"],
        domains=tuple(row["domains"]),
        languages=tuple(row["languages"]),
        locale=row["locale"],
        max_concurrent_claims=row["max_concurrent_claims"],
        referred_by=row["referred_by"],
        active=row["active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        revision=row["revision"],
    )


async def insert_contractor(conn: asyncpg.Connection, c: Contractor) -> bool:
    """Store a new contractor; False when the id is taken (the caller reads that one)."""
    inserted = await conn.fetchval(
        "INSERT INTO contractors (contractor_id, display_name, domains, languages, locale,"
        " max_concurrent_claims, referred_by, active, created_at, updated_at, revision)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (contractor_id) DO NOTHING RETURNING true",
        c.contractor_id,
        c.display_name,
        list(c.domains),
        list(c.languages),
        c.locale,
        c.max_concurrent_claims,
        c.referred_by,
        c.active,
        c.created_at,
        c.updated_at,
        c.revision,
    )
    return bool(inserted)


async def get_contractor(
    conn: asyncpg.Connection, contractor_id: str, *, lock: Lock = None
) -> Contractor | None:
    row = await conn.fetchrow(
        f"SELECT * FROM contractors WHERE contractor_id = $1{_LOCKS[lock]}", contractor_id
    )
    return _contractor(row) if row else None


async def contractor_exists(conn: asyncpg.Connection, contractor_id: str) -> bool:
    found = await conn.fetchval(
        "SELECT true FROM contractors WHERE contractor_id = $1", contractor_id
    )
    return bool(found)


async def save_profile(conn: asyncpg.Connection, c: Contractor) -> None:
    await conn.execute(
        "UPDATE contractors SET display_name = $2, domains = $3, languages = $4, locale = $5,"
        " max_concurrent_claims = $6, updated_at = $7, revision = $8 WHERE contractor_id = $1",
        c.contractor_id,
        c.display_name,
        list(c.domains),
        list(c.languages),
        c.locale,
        c.max_concurrent_claims,
        c.updated_at,
        c.revision,
    )


async def save_deactivated(conn: asyncpg.Connection, c: Contractor, *, reason: str) -> None:
    await conn.execute(
        "UPDATE contractors SET active = false, updated_at = $2, revision = $3,"
        " deactivated_at = $2, deactivation_reason = $4 WHERE contractor_id = $1",
        c.contractor_id,
        c.updated_at,
        c.revision,
        reason,
    )


# The blocks in force come from the blocks_in_force index.
_LISTED = """
SELECT c.*, f.blocked, f.blocked_everywhere FROM contractors c
CROSS JOIN LATERAL (
    SELECT count(*) > 0 AS blocked, count(*) FILTER (WHERE b.project_id IS NULL) > 0
           AS blocked_everywhere
    FROM blocks b WHERE b.contractor_id = c.contractor_id AND b.lifted_at IS NULL) f
"""


async def list_contractors(
    conn: asyncpg.Connection, query: ListContractors, *, limit: int
) -> list[ListedContractor]:
    """Up to ``limit`` contractors that pass the query's filters, by id. Only the
    filters given go into the statement."""
    where = Where("c.contractor_id > {}", query.after or "")
    if query.qualification is not None:
        where.add(
            "EXISTS (SELECT 1 FROM contractor_qualifications q"
            " WHERE q.contractor_id = c.contractor_id AND q.qualification = {})",
            query.qualification,
        )
    if query.blocked is not None:
        where.add("f.blocked = {}", query.blocked)
    if query.active is not None:
        where.add("c.active = {}", query.active)
    rows = await conn.fetch(
        f"{_LISTED} WHERE {where.sql} ORDER BY c.contractor_id LIMIT {limit:d}", *where.args
    )
    return [
        ListedContractor(
            contractor=_contractor(r),
            blocked=r["blocked"],
            blocked_everywhere=r["blocked_everywhere"],
        )
        for r in rows
    ]


def _token(row: asyncpg.Record) -> ContractorToken:
    return ContractorToken(
        token_id=row["token_id"],
        contractor_id=row["contractor_id"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


async def insert_token(conn: asyncpg.Connection, token: ContractorToken) -> None:
    await conn.execute(
        "INSERT INTO contractor_tokens (token_id, contractor_id, issued_at, expires_at)"
        " VALUES ($1, $2, $3, $4)",
        token.token_id,
        token.contractor_id,
        token.issued_at,
        token.expires_at,
    )


async def get_token(
    conn: asyncpg.Connection, token_id: str, *, for_update: bool = False
) -> ContractorToken | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT * FROM contractor_tokens WHERE token_id = $1{lock}", token_id
    )
    return _token(row) if row else None


async def live_tokens(
    conn: asyncpg.Connection, contractor_id: str, *, now: datetime
) -> list[ContractorToken]:
    """The contractor's tokens that still authenticate, locked for revocation."""
    rows = await conn.fetch(
        "SELECT * FROM contractor_tokens WHERE contractor_id = $1 AND revoked_at IS NULL"
        " AND expires_at > $2 ORDER BY issued_at, token_id FOR UPDATE",
        contractor_id,
        now,
    )
    return [_token(r) for r in rows]


async def save_revoked(conn: asyncpg.Connection, token: ContractorToken) -> None:
    await conn.execute(
        "UPDATE contractor_tokens SET revoked_at = $2 WHERE token_id = $1",
        token.token_id,
        token.revoked_at,
    )
