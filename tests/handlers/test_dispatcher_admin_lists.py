"""Operators' lists on the dispatcher, through its handlers: clients by id with their
valid API keys, and bonuses newest first, by client and by project; paging across
pages, and refusals that name their field."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from test_dispatcher_review import bonus, hand_in, new_task

from crewline.errors import InvalidArgument
from crewline.paging import PageCursor, encode_token
from crewline.timekeeping import FakeClock
from dispatcher.deps import Deps
from dispatcher.domain import bonuses, clients
from dispatcher.handlers import clients as client_handlers
from dispatcher.handlers import review


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


async def every_bonus(
    deps: Deps, *, client_id: str = "", project_id: str = "", size: int = 0
) -> list[str]:
    """The idempotency keys of every page's bonuses, in order."""
    seen: list[str] = []
    token = ""
    while True:
        query = bonuses.list_bonuses(
            client_id=client_id, project_id=project_id, size=size, page_token=token
        )
        page, token = await client_handlers.list_bonuses(query, deps)
        assert len(page) <= query.limit
        seen += [b.bonus.idempotency_key for b in page]
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


async def test_bonuses_newest_first_by_client_and_by_project(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    assert await every_bonus(deps) == []
    one = await new_task(deps, key="one")
    two = await new_task(deps, key="two")
    theirs = await new_task(deps, client="globex", key="g")
    granted: dict[str, Any] = {}
    for key, task, client in [
        ("a1", one, "acme"),
        ("a2", two, "acme"),
        ("g1", theirs, "globex"),
        ("a3", one, "acme"),
        ("g2", theirs, "globex"),
    ]:
        sub = await hand_in(deps, task, clock, contractor=f"c-{key}")
        granted[key], _ = await review.grant_bonus(bonus(sub, key, client=client), deps)
        clock.advance(timedelta(minutes=1))
    newest_first = ["g2", "a3", "g1", "a2", "a1"]
    assert await every_bonus(deps) == newest_first
    assert await every_bonus(deps, size=2) == newest_first
    assert await every_bonus(deps, client_id="acme", size=1) == ["a3", "a2", "a1"]
    assert await every_bonus(deps, project_id=one.project_id) == ["a3", "a1"]
    assert await every_bonus(deps, client_id="globex", project_id=one.project_id) == []
    assert await every_bonus(deps, client_id="nobody") == []

    [top], _ = await client_handlers.list_bonuses(
        bonuses.list_bonuses(client_id="", project_id="", size=1, page_token=""), deps
    )
    g2 = granted["g2"]
    assert top.bonus == g2 and top.contractor_id == "c-g2"
    assert (top.task_id, top.project_id) == (theirs.task_id, theirs.project_id)


async def test_bonuses_granted_at_one_instant_page_without_repeats(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=6)
    keys = [f"k{i}" for i in range(6)]
    for key in keys:
        sub = await hand_in(deps, task, clock)
        await review.grant_bonus(bonus(sub, key), deps)
    by_id = sorted(keys, key=lambda k: bonuses.bonus_id("acme", k), reverse=True)
    assert await every_bonus(deps, size=4) == by_id
    assert await every_bonus(deps, size=1) == by_id


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


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"client_id": "no spaces"}, "client_id"),
        ({"project_id": "x" * 200}, "project_id"),
        ({"size": 501}, "page_size"),
        ({"page_token": encode_token("acme")}, "page_token"),
        ({"page_token": PageCursor(FakeClock().now(), "x").token()}, "page_token"),
        ({"page_token": encode_token("not a time", str(uuid.uuid4()))}, "page_token"),
    ],
)
def test_bonus_list_mistakes_name_the_field(fields: dict[str, Any], field: str) -> None:
    given = {"client_id": "", "project_id": "", "size": 0, "page_token": "", **fields}
    with pytest.raises(InvalidArgument) as err:
        bonuses.list_bonuses(**given)
    assert err.value.field == field
