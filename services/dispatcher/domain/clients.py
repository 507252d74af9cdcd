"""Clients (AI labs) and their API keys. Pure: no I/O, no protobuf."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crewline import validate
from crewline.errors import AlreadyExists
from crewline.paging import decode_token, encode_token, page_size, token_identifier

MAX_DISPLAY_NAME = 200
PAGE = 50
PAGE_MAX = 500


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


@dataclass(frozen=True, kw_only=True)
class ListedClient:
    client: Client
    active_api_keys: int


@dataclass(frozen=True, kw_only=True)
class ListClients:
    """Query: clients by id, after ``after``."""

    limit: int
    after: str | None

    @staticmethod
    def next_token(last: Client) -> str:
        return encode_token(last.client_id)


def list_clients(*, size: int, page_token: str) -> ListClients:
    after = None
    if page_token:
        [text] = decode_token(page_token, parts=1)
        after = token_identifier(text)
    return ListClients(limit=page_size(size, default=PAGE, maximum=PAGE_MAX), after=after)
