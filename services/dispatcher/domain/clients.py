"""Clients (AI labs) and their API keys. Pure: no I/O, no protobuf."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crewline import validate
from crewline.errors import AlreadyExists

MAX_DISPLAY_NAME = 200


@dataclass(frozen=True, kw_only=True)
class CreateClient:
    """Command: a client exists. Its id makes the request idempotent, forever."""

    client_id: str
    display_name: str


def create_client(*, client_id: str, display_name: str) -> CreateClient:
    client_id = validate.identifier(client_id, field="client_id")
    name = validate.text(display_name, field="display_name", max_length=MAX_DISPLAY_NAME)
    return CreateClient(client_id=client_id, display_name=name.strip() or client_id)


@dataclass(frozen=True, kw_only=True)
class Client:
    client_id: str
    display_name: str
    created_at: datetime

    def answers(self, cmd: CreateClient) -> Client:
        """This client, when ``cmd`` repeats the request that created it."""
        if cmd.display_name != self.display_name:
            raise AlreadyExists(
                f"client {self.client_id} exists with another display name",
                reason="CLIENT_EXISTS",
            )
        return self


@dataclass(frozen=True, kw_only=True)
class CreateApiKey:
    request_id: str
    client_id: str


def create_api_key(*, request_id: str, client_id: str) -> CreateApiKey:
    return CreateApiKey(
        request_id=validate.identifier(request_id, field="request_id"),
        client_id=validate.identifier(client_id, field="client_id"),
    )
