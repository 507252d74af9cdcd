"""Operators' commands on clients and their API keys (the dispatcher is their system of
record), and their lists of clients and of the bonuses clients granted."""

from __future__ import annotations

from dataclasses import replace

import asyncpg

from crewline.auth import credentials, store
from crewline.errors import InvalidArgument, NotFound
from crewline.log import bind_contextvars
from crewline.paging import split_page
from dispatcher.adapters import clients as repo
from dispatcher.adapters import protobuf as pb
from dispatcher.adapters import submissions
from dispatcher.deps import Deps
from dispatcher.domain.bonuses import ListBonuses, ListedBonus
from dispatcher.domain.clients import Client, CreateApiKey, CreateClient, ListClients, ListedClient


async def create_client(cmd: CreateClient, deps: Deps) -> Client:
    """Create a client, or return it when the same request comes again."""
    bind_contextvars(client_id=cmd.client_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        client = Client(
            client_id=cmd.client_id, display_name=cmd.display_name, created_at=deps.clock.now()
        )
        if await repo.insert_client(conn, client):
            await deps.publisher.publish(conn, pb.client_created(client))
            return client
        existing = await repo.get_client(conn, cmd.client_id)
        assert existing is not None, "ON CONFLICT said the row exists"
        return existing.answers(cmd)


async def list_clients(query: ListClients, deps: Deps) -> tuple[list[ListedClient], str]:
    """A page of clients by id, and the next page's token ("" after the last)."""
    async with deps.pool.acquire() as conn:
        found = await repo.list_clients(conn, query, limit=query.limit + 1)
    page, last = split_page(found, query.limit)
    return page, ListClients.next_token(last.client) if last else ""


async def list_bonuses(query: ListBonuses, deps: Deps) -> tuple[list[ListedBonus], str]:
    """A page of bonuses, newest first, and the next page's token ("" after the last)."""
    async with deps.pool.acquire() as conn:
        found = await submissions.listed_bonuses(conn, query, limit=query.limit + 1)
    page, last = split_page(found, query.limit)
    return page, last.cursor.token() if last else ""


async def create_api_key(cmd: CreateApiKey, deps: Deps) -> tuple[store.ApiKeyRecord, str | None]:
    """A new key and its credential (shown this once); a repeated request, the key alone."""
    bind_contextvars(client_id=cmd.client_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        await repo.lock_request(conn, cmd.request_id)
        earlier = await repo.key_by_request(conn, cmd.request_id)
        if earlier is not None:
            if earlier.client_id != cmd.client_id:
                raise InvalidArgument("request_id", "was already used for a different request")
            return earlier, None
        await _client_exists(conn, cmd.client_id)
        new = credentials.new_api_key()
        key = store.ApiKeyRecord(
            key_id=new.key_id,
            client_id=cmd.client_id,
            secret_sha256=new.secret_sha256,
            created_at=deps.clock.now(),
        )
        await store.insert_api_key(conn, key)
        await repo.record_key_request(conn, cmd.request_id, key)
        await deps.publisher.publish(conn, pb.api_key_created(key))
        return key, new.credential


async def list_api_keys(client_id: str, deps: Deps) -> list[store.ApiKeyRecord]:
    async with deps.pool.acquire() as conn:
        await _client_exists(conn, client_id)
        return await store.api_keys_of(conn, client_id)


async def revoke_api_key(key_id: str, deps: Deps) -> store.ApiKeyRecord:
    """Revoke a key everywhere; revoking it again changes nothing and says so."""
    async with deps.pool.acquire() as conn, conn.transaction():
        key = await store.api_key(conn, key_id, for_update=True)
        if key is None:
            raise NotFound(f"API key {key_id} not found")
        bind_contextvars(client_id=key.client_id)
        if key.revoked_at is not None:
            return key
        now = deps.clock.now()
        await store.revoke_api_key(conn, key_id, now)
        revoked = replace(key, revoked_at=now)
        await deps.publisher.publish(conn, pb.api_key_revoked(revoked))
        return revoked


async def _client_exists(conn: asyncpg.Connection, client_id: str) -> None:
    if await repo.get_client(conn, client_id) is None:
        raise NotFound(f"client {client_id} not found")
