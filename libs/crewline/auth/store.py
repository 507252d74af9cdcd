"""SQL for the kernel's credential tables; every function runs on the caller's connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, kw_only=True)
class ApiKeyRecord:
    key_id: str
    client_id: str
    secret_sha256: str
    created_at: datetime
    revoked_at: datetime | None = None


def _key(row: asyncpg.Record) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=row["key_id"],
        client_id=row["client_id"],
        secret_sha256=row["secret_sha256"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


async def insert_api_key(conn: asyncpg.Connection, key: ApiKeyRecord) -> bool:
    """Store a key's hash; False when it was already there (a redelivered event)."""
    inserted = await conn.fetchval(
        "INSERT INTO api_keys (key_id, client_id, secret_sha256, created_at, revoked_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key_id) DO NOTHING RETURNING true",
        key.key_id,
        key.client_id,
        key.secret_sha256,
        key.created_at,
        key.revoked_at,
    )
    return bool(inserted)


async def revoke_api_key(conn: asyncpg.Connection, key_id: str, at: datetime) -> None:
    """Mark a key revoked; the first revocation's time stays."""
    await conn.execute(
        "UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL",
        key_id,
        at,
    )


async def api_key(
    conn: asyncpg.Connection | asyncpg.Pool, key_id: str, *, for_update: bool = False
) -> ApiKeyRecord | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT * FROM api_keys WHERE key_id = $1{lock}", key_id)
    return _key(row) if row else None


async def api_keys_of(conn: asyncpg.Connection, client_id: str) -> list[ApiKeyRecord]:
    rows = await conn.fetch(
        "SELECT * FROM api_keys WHERE client_id = $1 ORDER BY created_at, key_id", client_id
    )
    return [_key(r) for r in rows]


async def revoke_token(
    conn: asyncpg.Connection,
    *,
    token_id: str,
    contractor_id: str,
    expires_at: datetime,
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO revoked_tokens (token_id, contractor_id, expires_at, revoked_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (token_id) DO NOTHING",
        token_id,
        contractor_id,
        expires_at,
        at,
    )


async def unexpired_revocations(
    conn: asyncpg.Connection | asyncpg.Pool, now: datetime
) -> frozenset[str]:
    """The ids of revoked tokens that have not expired yet (expired ones are refused anyway)."""
    rows = await conn.fetch("SELECT token_id FROM revoked_tokens WHERE expires_at > $1", now)
    return frozenset(r["token_id"] for r in rows)
