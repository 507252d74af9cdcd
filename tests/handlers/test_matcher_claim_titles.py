"""A claim shows its project's title, as the matcher holds it when the claim is read:
on the grant, on every later answer and in the contractor's list, and the new title
once the project is renamed."""

from __future__ import annotations

import asyncio

from test_matcher_claims import claim, contractor, project, task

from matcher.adapters import protobuf as pb
from matcher.deps import Deps
from matcher.domain import commands
from matcher.domain.claims import Claim
from matcher.handlers import claims

OLD, NEW = "Rate dermatology answers", "Rate skin lesion photos"


async def _read_back(deps: Deps, granted: Claim) -> list[Claim]:
    """The claim as GetClaim, ListMyClaims, HeartbeatClaim and SubmitWork answer it."""
    ref = commands.claim_ref(claim_id=str(granted.claim_id), contractor_id=granted.contractor_id)
    got, _payload, _instructions = await claims.get_claim(ref, deps)
    query = commands.list_claims(contractor_id=granted.contractor_id, page_size=50)
    listed, _more = await claims.list_my_claims(query, deps)
    beat = await claims.heartbeat_claim(
        commands.heartbeat_claim(
            claim_id=str(granted.claim_id), contractor_id=granted.contractor_id, worked_seconds=0
        ),
        deps,
    )
    submitted = await claims.submit_work(
        commands.submit_work(
            claim_id=str(granted.claim_id), contractor_id=granted.contractor_id, result=b"4"
        ),
        deps,
    )
    return [got, *listed, beat, submitted]


async def test_a_claim_carries_its_projects_title_on_every_answer(matcher_deps: Deps) -> None:
    p = await project(matcher_deps, title=OLD)
    t = await task(matcher_deps, p)
    await contractor(matcher_deps, "ana")
    granted = await claim(matcher_deps, "ana", t, request="r-1")
    repeated = await claim(matcher_deps, "ana", t, request="r-1")
    assert granted.project_title == repeated.project_title == OLD
    assert pb.claim_to_pb(granted).project_title == OLD
    assert [c.project_title for c in await _read_back(matcher_deps, granted)] == [OLD] * 4


async def test_a_renamed_project_shows_its_new_title_on_claims_old_and_new(
    matcher_deps: Deps,
) -> None:
    p = await project(matcher_deps, title=OLD)
    first, later = await task(matcher_deps, p), await task(matcher_deps, p)
    await contractor(matcher_deps, "ana")
    granted = await claim(matcher_deps, "ana", first)
    assert granted.project_title == OLD

    await project(matcher_deps, project_id=p, title=NEW, revision=2)
    assert [c.project_title for c in await _read_back(matcher_deps, granted)] == [NEW] * 4
    # Granted under the new revision (the cached one answers STALE first).
    assert (await claim(matcher_deps, "ana", later)).project_title == NEW


async def test_claims_granted_together_each_carry_their_projects_title(
    matcher_deps: Deps,
) -> None:
    derm, eyes = await project(matcher_deps, title=OLD), await project(matcher_deps, title=NEW)
    tasks = [await task(matcher_deps, p) for p in (derm, eyes, derm, eyes)]
    names = [await contractor(matcher_deps, f"c-{i}") for i in range(len(tasks))]
    granted = await asyncio.gather(
        *(claim(matcher_deps, who, t) for who, t in zip(names, tasks, strict=True))
    )
    assert [c.project_title for c in granted] == [OLD, NEW, OLD, NEW]
