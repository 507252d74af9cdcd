"""Clients and their API keys, as records."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from crewline.ctl.pb import timestamp_text

if TYPE_CHECKING:
    from crewline.v1 import client_admin_service_pb2 as client_admin


class ClientRecord(TypedDict):
    client_id: str
    display_name: str
    created_at: str | None


class ApiKeyRecord(TypedDict):
    key_id: str
    client_id: str
    created_at: str | None
    revoked_at: str | None


class NewApiKey(TypedDict):
    key: ApiKeyRecord
    # None when the request id repeats an earlier request: a secret is shown only once.
    secret: str | None


def client_record(client: client_admin.Client) -> ClientRecord:
    return {
        "client_id": client.client_id,
        "display_name": client.display_name,
        "created_at": timestamp_text(client, "created_at"),
    }


def key_record(key: client_admin.ApiKey) -> ApiKeyRecord:
    """An ApiKey as a record (it never holds a secret)."""
    return {
        "key_id": key.key_id,
        "client_id": key.client_id,
        "created_at": timestamp_text(key, "created_at"),
        "revoked_at": timestamp_text(key, "revoked_at"),
    }


def new_key_record(reply: client_admin.CreateApiKeyResponse) -> NewApiKey:
    return {"key": key_record(reply.key), "secret": reply.secret or None}
