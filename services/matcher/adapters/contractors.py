"""SQL for contractors and their tokens. Every function runs on the caller's connection."""

from __future__ import annotations

import asyncpg

from matcher.domain.contractors import Contractor, ContractorToken


async def insert_contractor(conn: asyncpg.Connection, contractor: Contractor) -> bool:
    inserted = await conn.fetchval(
        "INSERT INTO contractors (contractor_id, display_name, created_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (contractor_id) DO NOTHING RETURNING true",
        contractor.contractor_id,
        contractor.display_name,
        contractor.created_at,
    )
    return bool(inserted)


async def get_contractor(conn: asyncpg.Connection, contractor_id: str) -> Contractor | None:
    row = await conn.fetchrow("SELECT * FROM contractors WHERE contractor_id = $1", contractor_id)
    if row is None:
        return None
    return Contractor(
        contractor_id=row["contractor_id"],
        display_name=row["display_name"],
        created_at=row["created_at"],
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
    if row is None:
        return None
    return ContractorToken(
        token_id=row["token_id"],
        contractor_id=row["contractor_id"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


async def save_revoked(conn: asyncpg.Connection, token: ContractorToken) -> None:
    await conn.execute(
        "UPDATE contractor_tokens SET revoked_at = $2 WHERE token_id = $1",
        token.token_id,
        token.revoked_at,
    )
