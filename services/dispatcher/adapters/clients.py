"""SQL for clients and API key requests. Every function runs on the caller's connection."""

from __future__ import annotations

import asyncpg

from crewline.auth import store
from dispatcher.domain.clients import Client, ListClients, ListedClient


async def insert_client(conn: asyncpg.Connection, client: Client) -> bool:
    inserted = await conn.fetchval(
        "INSERT INTO clients (client_id, display_name, created_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (client_id) DO NOTHING RETURNING true",
        client.client_id,
        client.display_name,
        client.created_at,
    )
    return bool(inserted)


def _client(row: asyncpg.Record) -> Client:
    return Client(
        client_id=row["client_id"], display_name=row["display_name"], created_at=row["created_at"]
    )


async def get_client(conn: asyncpg.Connection, client_id: str) -> Client | None:
    row = await conn.fetchrow("SELECT * FROM clients WHERE client_id = $1", client_id)
    return None if row is None else _client(row)


async def list_clients(
    conn: asyncpg.Connection, query: ListClients, *, limit: int
) -> list[ListedClient]:
    """Up to ``limit`` clients after the query's, by id, with their unrevoked keys."""
    rows = await conn.fetch(
        "SELECT c.*, (SELECT count(*) FROM api_keys k"
        "             WHERE k.client_id = c.client_id AND k.revoked_at IS NULL) AS keys"
        " FROM clients c WHERE c.client_id > $1 ORDER BY c.client_id LIMIT $2",
        query.after or "",
        limit,
    )
    return [ListedClient(client=_client(r), active_api_keys=r["keys"]) for r in rows]


async def lock_request(conn: asyncpg.Connection, request_id: str) -> None:
    """Serialise concurrent copies of one CreateApiKey until this transaction ends."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"api_key\x1f{request_id}"
    )


async def key_by_request(conn: asyncpg.Connection, request_id: str) -> store.ApiKeyRecord | None:
    key_id = await conn.fetchval(
        "SELECT key_id FROM api_key_requests WHERE request_id = $1", request_id
    )
    return await store.api_key(conn, key_id) if key_id else None


async def record_key_request(
    conn: asyncpg.Connection, request_id: str, key: store.ApiKeyRecord
) -> None:
    await conn.execute(
        "INSERT INTO api_key_requests (request_id, client_id, key_id) VALUES ($1, $2, $3)",
        request_id,
        key.client_id,
        key.key_id,
    )
