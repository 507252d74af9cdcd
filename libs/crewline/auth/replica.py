"""Consumer routes every service adds, so it can authenticate callers by itself.

The dispatcher publishes API key hashes and revocations, the matcher token
revocations, on ``crewline.identity.v1``; each service copies them into its own
credential tables. The owner of a fact applies its own event too: a no-op.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from google.protobuf.message import Message

from crewline.auth import store
from crewline.consumer import EventContext
from crewline.protobuf import from_timestamp
from crewline.v1 import events_pb2


async def on_api_key_created(
    conn: asyncpg.Connection, event: events_pb2.ApiKeyCreated, ctx: EventContext
) -> None:
    await store.insert_api_key(
        conn,
        store.ApiKeyRecord(
            key_id=event.key_id,
            client_id=event.client_id,
            secret_sha256=event.secret_sha256,
            created_at=from_timestamp(event.created_at),
        ),
    )


async def on_api_key_revoked(
    conn: asyncpg.Connection, event: events_pb2.ApiKeyRevoked, ctx: EventContext
) -> None:
    # Keys and their revocations share a partition (key: client id), so the key is here.
    await store.revoke_api_key(conn, event.key_id, from_timestamp(event.revoked_at))


async def on_contractor_token_revoked(
    conn: asyncpg.Connection, event: events_pb2.ContractorTokenRevoked, ctx: EventContext
) -> None:
    await store.revoke_token(
        conn,
        token_id=event.token_id,
        contractor_id=event.contractor_id,
        expires_at=from_timestamp(event.expires_at),
        at=from_timestamp(event.revoked_at),
    )


IDENTITY_ROUTES: dict[type[Message], Any] = {
    events_pb2.ApiKeyCreated: on_api_key_created,
    events_pb2.ApiKeyRevoked: on_api_key_revoked,
    events_pb2.ContractorTokenRevoked: on_contractor_token_revoked,
}
