"""Operators' list of contractors through the matcher's handlers: the filters
(qualification held, block in force, active), paging by id, and refusals that name
their field."""

from __future__ import annotations

import uuid

import pytest
from test_matcher_qualifications import BAR, DERM, block, define, grant, new_contractor, revoke

from crewline.errors import InvalidArgument
from crewline.paging import encode_token
from crewline.qualifications import Kind
from matcher.deps import Deps
from matcher.domain import contractor_list, contractors
from matcher.handlers import blocks as block_handlers
from matcher.handlers import contractors as contractor_handlers


async def listed(
    deps: Deps,
    *,
    qualification: str = "",
    blocked: bool | None = None,
    active: bool | None = None,
    size: int = 0,
) -> list[tuple[str, bool, bool, bool]]:
    """Every page's contractors as (id, active, blocked, blocked everywhere), checking
    that no page is longer than ``size``."""
    seen: list[tuple[str, bool, bool, bool]] = []
    token = ""
    while True:
        query = contractor_list.list_contractors(
            qualification=qualification, blocked=blocked, active=active, size=size, page_token=token
        )
        page, token = await contractor_handlers.list_contractors(query, deps)
        assert len(page) <= query.limit
        seen += [
            (c.contractor.contractor_id, c.contractor.active, c.blocked, c.blocked_everywhere)
            for c in page
        ]
        if not token:
            return seen


async def crew(deps: Deps) -> None:
    """ann: DERM, blocked on one project; bob: DERM, blocked everywhere, deactivated;
    cy: BAR, a lifted block; dee: nothing."""
    for who in ("dee", "cy", "bob", "ann"):
        await new_contractor(deps, who)
    await define(deps, DERM, Kind.SCORE)
    await define(deps, BAR, Kind.PRESENCE)
    await grant(deps, DERM, score=70, who="ann")
    await grant(deps, DERM, score=90, who="bob")
    await grant(deps, BAR, who="cy")
    await grant(deps, DERM, score=50, who="cy")
    await revoke(deps, DERM, who="cy")
    await block(deps, "b-ann", project=str(uuid.uuid4()), who="ann")
    await block(deps, "b-bob", who="bob")
    lifted = await block(deps, "b-cy", who="cy")
    await block_handlers.lift_block(lifted.block_id, deps)
    await contractor_handlers.deactivate_contractor(
        contractors.deactivate_contractor(contractor_id="bob", reason="left"), deps
    )


async def test_every_contractor_by_id_with_blocks_in_force(matcher_deps: Deps) -> None:
    assert await listed(matcher_deps) == []
    await crew(matcher_deps)
    assert await listed(matcher_deps) == [
        ("ann", True, True, False),
        ("bob", False, True, True),
        ("cy", True, False, False),
        ("dee", True, False, False),
    ]


async def test_filters_hold_together(matcher_deps: Deps) -> None:
    await crew(matcher_deps)

    async def ids(**filters: object) -> list[str]:
        return [c[0] for c in await listed(matcher_deps, **filters)]  # type: ignore[arg-type]

    assert await ids(qualification=DERM) == ["ann", "bob"]  # cy's was revoked
    assert await ids(qualification=BAR) == ["cy"]
    assert await ids(blocked=True) == ["ann", "bob"]  # cy's block is lifted
    assert await ids(blocked=False) == ["cy", "dee"]
    assert await ids(active=False) == ["bob"]
    assert await ids(active=True) == ["ann", "cy", "dee"]
    assert await ids(qualification=DERM, blocked=True, active=True) == ["ann"]
    assert await ids(qualification=BAR, blocked=True) == []


async def test_pages_follow_each_other_by_id_without_repeats_or_gaps(matcher_deps: Deps) -> None:
    names = [f"c{i:02}" for i in range(7)]
    for who in reversed(names):
        await new_contractor(matcher_deps, who)
    await block(matcher_deps, "b", who="c03")

    query = contractor_list.list_contractors(
        qualification="", blocked=None, active=None, size=3, page_token=""
    )
    first, token = await contractor_handlers.list_contractors(query, matcher_deps)
    assert [c.contractor.contractor_id for c in first] == ["c00", "c01", "c02"] and token
    assert [c[0] for c in await listed(matcher_deps, size=3)] == names
    assert [c[0] for c in await listed(matcher_deps, size=1, blocked=False)] == [
        n for n in names if n != "c03"
    ]
    # A page that ends on the last contractor says there is no next page.
    assert [c[0] for c in await listed(matcher_deps, size=7)] == names


async def test_an_unknown_qualification_is_refused_by_name(matcher_deps: Deps) -> None:
    query = contractor_list.list_contractors(
        qualification="domain.nothing", blocked=None, active=None, size=0, page_token=""
    )
    with pytest.raises(InvalidArgument) as err:
        await contractor_handlers.list_contractors(query, matcher_deps)
    assert err.value.field == "qualification" and err.value.reason == "UNKNOWN_QUALIFICATION"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"size": 501}, "page_size"),
        ({"size": -1}, "page_size"),
        ({"page_token": "not a token"}, "page_token"),
        ({"page_token": encode_token("has space")}, "page_token"),
        ({"page_token": encode_token("a", "b")}, "page_token"),
        ({"qualification": "Not A Name"}, "qualification"),
    ],
)
def test_mistakes_name_the_field(fields: dict[str, object], field: str) -> None:
    given: dict[str, object] = {
        "qualification": "",
        "blocked": None,
        "active": None,
        "size": 0,
        "page_token": "",
        **fields,
    }
    with pytest.raises(InvalidArgument) as err:
        contractor_list.list_contractors(**given)  # type: ignore[arg-type]
    assert err.value.field == field
