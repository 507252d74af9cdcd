"""Operators' lists on the dispatcher, through its handlers: clients by id with their
valid API keys; paging across pages, and refusals that name their field."""

from __future__ import annotations

from typing import Any

import pytest

from crewline.errors import InvalidArgument
from crewline.paging import encode_token
from dispatcher.deps import Deps
from dispatcher.domain import clients
from dispatcher.handlers import clients as client_handlers


async def new_client(deps: Deps, client_id: str, *, keys: int = 0, revoked: int = 0) -> None:
    cmd = clients.create_client(client_id=client_id, display_name=client_id.title())
    await client_handlers.create_client(cmd, deps)
    for i in range(keys):
        key_cmd = clients.create_api_key(request_id=f"{client_id}-{i}", client_id=client_id)
        key, _ = await client_handlers.create_api_key(key_cmd, deps)
        if i < revoked:
            await client_handlers.revoke_api_key(key.key_id, deps)


async def every_client(deps: Deps, *, size: int = 0) -> list[tuple[str, str, int]]:
    seen: list[tuple[str, str, int]] = []
    token = ""
    while True:
        query = clients.list_clients(size=size, page_token=token)
        page, token = await client_handlers.list_clients(query, deps)
        assert len(page) <= query.limit
        seen += [(c.client.client_id, c.client.display_name, c.active_api_keys) for c in page]
        if not token:
            return seen


async def test_clients_by_id_with_their_valid_keys_page_by_page(dispatcher_deps: Deps) -> None:
    deps = dispatcher_deps
    assert await every_client(deps) == []
    await new_client(deps, "globex", keys=3, revoked=1)
    await new_client(deps, "acme", keys=1)
    await new_client(deps, "initech")
    expected = [("acme", "Acme", 1), ("globex", "Globex", 2), ("initech", "Initech", 0)]
    assert await every_client(deps) == expected
    assert await every_client(deps, size=1) == expected
    assert await every_client(deps, size=3) == expected

    first, token = await client_handlers.list_clients(
        clients.list_clients(size=2, page_token=""), deps
    )
    assert [c.client.client_id for c in first] == ["acme", "globex"] and token
    rest, last = await client_handlers.list_clients(
        clients.list_clients(size=2, page_token=token), deps
    )
    assert [c.client.client_id for c in rest] == ["initech"] and last == ""


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"size": 501}, "page_size"),
        ({"size": -5}, "page_size"),
        ({"page_token": "%%%"}, "page_token"),
        ({"page_token": encode_token("nota id")}, "page_token"),
        ({"page_token": encode_token("a", "b")}, "page_token"),
    ],
)
def test_client_list_mistakes_name_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        clients.list_clients(**{"size": 0, "page_token": "", **fields})
    assert err.value.field == field
