"""Answer specs in the matcher: a project's spec arrives with ProjectChanged, every
version is kept, a claim answers to the version in force when it was granted, and
SubmitWork refuses a result that does not fit it (naming the field) without storing
anything. Offers carry the project's current spec, claims their own."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest
from test_matcher_claims import (
    CTX,
    USD_25,
    _dsn,
    claim,
    contractor,
    next_item,
    task,
    work_submitted,
)

from crewline.answers import AnswerField, AnswerSpec, Choice, Scale, Text
from crewline.errors import InvalidArgument
from crewline.protobuf import answer_spec_to_pb, pay_terms_to_pb, timestamp
from crewline.v1 import events_pb2, project_pb2
from matcher.adapters import protobuf as pb
from matcher.adapters.answer_specs import AnswerSpecs
from matcher.adapters.offer_hub import OfferHub
from matcher.deps import Deps
from matcher.domain import commands
from matcher.domain.claims import Claim
from matcher.domain.statuses import ClaimStatus
from matcher.handlers import claims, offers, projects

from stack import eventually, outbox_types

SEVERITY = AnswerField(name="severity", kind=Choice(labels=("mild", "severe")))
SCORE = AnswerField(name="score", kind=Scale(min=1, max=5, step=1))
NOTE = AnswerField(name="note", kind=Text(min_length=1, max_length=20))
V1 = AnswerSpec(version=1, fields=(SEVERITY, SCORE))
V2 = AnswerSpec(version=2, fields=(NOTE,))
FITS_V1 = b'{"severity": "severe", "score": 4}'
FITS_V2 = b'{"note": "a rash"}'


async def changed(
    deps: Deps,
    project_id: str,
    *,
    revision: int,
    spec: AnswerSpec | None,
    title: str = "Rate rashes",
) -> None:
    """The dispatcher's ProjectChanged for this revision of the project, consumed."""
    project = project_pb2.Project(
        project_id=project_id,
        client_id="acme",
        title=title,
        instructions="Rate the rash.",
        pay_terms=pay_terms_to_pb(USD_25),
        claim_timeout_seconds=3600,
        state=project_pb2.PROJECT_STATE_ACTIVE,
        revision=revision,
        updated_at=timestamp(deps.clock.now()),
    )
    if spec is not None:
        project.answer_spec.CopyFrom(answer_spec_to_pb(spec))
    async with deps.pool.acquire() as conn, conn.transaction():
        await projects.on_project_changed(
            conn, events_pb2.ProjectChanged(project=project), CTX, deps=deps
        )


@pytest.fixture
async def hub(matcher_deps: Deps) -> AsyncIterator[OfferHub]:
    """As bootstrap wires it: the offer streams share the handlers' spec cache."""
    from crewline.health import WorkerHealth
    from crewline.metrics import Metrics

    metrics = Metrics.create("matcher_specs_test")
    offer_hub = OfferHub(
        pool=matcher_deps.pool,
        dsn=await _dsn(matcher_deps),
        clock=matcher_deps.clock,
        registry=metrics.registry,
        service="matcher_specs_test",
        worker_health=WorkerHealth(metrics=metrics),
        answer_specs=matcher_deps.answer_specs,
    )
    runner = asyncio.create_task(offer_hub.run())
    await asyncio.wait_for(offer_hub.listening.wait(), 10)
    yield offer_hub
    offer_hub.stop()
    await runner


async def new_project(deps: Deps, spec: AnswerSpec | None) -> str:
    project_id = str(uuid.uuid4())
    await changed(deps, project_id, revision=1, spec=spec)
    return project_id


async def submit(deps: Deps, granted: Claim, result: bytes) -> Claim:
    cmd = commands.submit_work(
        claim_id=str(granted.claim_id), contractor_id=granted.contractor_id, result=result
    )
    return await claims.submit_work(cmd, deps)


async def refusal(deps: Deps, granted: Claim, result: bytes) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        await submit(deps, granted, result)
    return caught.value


async def stored(deps: Deps, granted: Claim) -> tuple[str, int, bytes | None]:
    """The claim's row: status, spec version and result."""
    row = await deps.pool.fetchrow(
        "SELECT status, answer_spec_version, result FROM claims WHERE claim_id = $1",
        granted.claim_id,
    )
    assert row is not None
    return row["status"], row["answer_spec_version"], row["result"]


async def test_a_result_that_fits_is_accepted_and_one_that_does_not_is_refused_naming_the_field(
    matcher_deps: Deps,
) -> None:
    p = await new_project(matcher_deps, V1)
    await contractor(matcher_deps, "ana")
    granted = await claim(matcher_deps, "ana", await task(matcher_deps, p))
    assert granted.answer_spec_version == 1 and granted.answer_spec == V1

    cases = {
        b'{"severity": "moderate", "score": 4}': "result.severity",
        b'{"severity": "mild", "score": 4.5}': "result.score",
        b'{"severity": "mild"}': "result.score",
        b'{"severity": "mild", "score": 2, "extra": 1}': "result.extra",
        b"4": "result",
        b"\xff\xfe": "result",
    }
    for result, field in cases.items():
        refused = await refusal(matcher_deps, granted, result)
        assert (refused.field, refused.reason) == (field, "ANSWER_DOES_NOT_FIT"), result
    assert "'moderate' is not one of mild|severe" in str(
        await refusal(matcher_deps, granted, b'{"severity": "moderate", "score": 4}')
    )
    # Nothing was stored: the claim is live, without a result, and nothing was announced.
    assert await stored(matcher_deps, granted) == ("active", 1, None)
    assert await outbox_types(matcher_deps.pool) == ["crewline.v1.ClaimGranted"]

    done = await submit(matcher_deps, granted, FITS_V1)
    assert done.status is ClaimStatus.SUBMITTED and done.answer_spec == V1
    assert [w.result for w in await work_submitted(matcher_deps)] == [FITS_V1]
    # The same work again: the same claim; other work, even a result that fits, is not.
    again = await submit(matcher_deps, granted, FITS_V1)
    assert again == done and again.answer_spec == V1
    assert await stored(matcher_deps, granted) == ("submitted", 1, FITS_V1)
    assert len(await work_submitted(matcher_deps)) == 1


async def test_a_claim_answers_to_the_spec_in_force_when_it_was_granted(
    matcher_deps: Deps,
) -> None:
    p = await new_project(matcher_deps, V1)
    await contractor(matcher_deps, "ana")
    await contractor(matcher_deps, "ben")
    first, second = await task(matcher_deps, p), await task(matcher_deps, p)
    under_v1 = await claim(matcher_deps, "ana", first)
    # ben's task is known with revision 1: his claim is first answered STALE, and
    # granted under revision 2 (spec v2) on the next attempt.
    assert (await matcher_deps.claim_terms.expected(matcher_deps.pool, second)) is not None

    await changed(matcher_deps, p, revision=2, spec=V2)
    under_v2 = await claim(matcher_deps, "ben", second)
    assert (under_v1.answer_spec_version, under_v2.answer_spec_version) == (1, 2)
    assert under_v2.answer_spec == V2
    assert (await stored(matcher_deps, under_v2))[1] == 2  # what it shows is what is kept

    # Each is refused what fits the other's spec, naming its own spec's first field.
    assert (await refusal(matcher_deps, under_v1, FITS_V2)).field == "result.severity"
    assert (await refusal(matcher_deps, under_v2, FITS_V1)).field == "result.note"
    assert (await submit(matcher_deps, under_v1, FITS_V1)).status is ClaimStatus.SUBMITTED
    assert (await submit(matcher_deps, under_v2, FITS_V2)).status is ClaimStatus.SUBMITTED
    assert [w.result for w in await work_submitted(matcher_deps)] == [FITS_V1, FITS_V2]


async def test_a_removed_spec_takes_any_bytes_from_claims_granted_after(
    matcher_deps: Deps,
) -> None:
    p = await new_project(matcher_deps, V1)
    await contractor(matcher_deps, "ana")
    before = await claim(matcher_deps, "ana", await task(matcher_deps, p))
    await changed(matcher_deps, p, revision=2, spec=AnswerSpec(version=2, fields=()))
    after = await claim(matcher_deps, "ana", await task(matcher_deps, p))

    assert after.answer_spec_version == 2 and after.answer_spec is None
    assert not pb.claim_to_pb(after).HasField("answer_spec")
    assert (await submit(matcher_deps, after, b"\x00\xffnot json")).status is (
        ClaimStatus.SUBMITTED
    )
    # The claim granted before still answers to v1.
    assert (await refusal(matcher_deps, before, b"\x00\xffnot json")).field == "result"


async def test_a_project_without_a_spec_takes_any_bytes_and_shows_none(
    matcher_deps: Deps,
) -> None:
    p = await new_project(matcher_deps, None)
    await contractor(matcher_deps, "ana")
    t = await task(matcher_deps, p)
    (offer,), _ = await offers.list_offers(
        commands.list_offers(contractor_id="ana", page_size=10), matcher_deps
    )
    assert offer.answer_spec_version == 0 and not pb.offer_to_pb(offer).HasField("answer_spec")
    granted = await claim(matcher_deps, "ana", t)
    assert granted.answer_spec_version == 0 and granted.answer_spec is None
    done = await submit(matcher_deps, granted, b"\x00\x01 any bytes")
    assert not pb.claim_to_pb(done).HasField("answer_spec")
    assert await stored(matcher_deps, granted) == ("submitted", 0, b"\x00\x01 any bytes")


async def test_a_redelivered_or_older_project_changed_changes_nothing(
    matcher_deps: Deps,
) -> None:
    p = await new_project(matcher_deps, V1)
    await changed(matcher_deps, p, revision=2, spec=V2)

    async def kept() -> tuple[int, list[tuple[int, int]]]:
        current = await matcher_deps.pool.fetchval(
            "SELECT answer_spec_version FROM projects WHERE project_id = $1", p
        )
        rows = await matcher_deps.pool.fetch(
            "SELECT version, json_array_length(spec->'fields') AS n FROM answer_specs"
            " WHERE project_id = $1 ORDER BY version",
            p,
        )
        return current, [(r["version"], r["n"]) for r in rows]

    assert await kept() == (2, [(1, 2), (2, 1)])
    await changed(matcher_deps, p, revision=2, spec=V2)  # a redelivery
    await changed(matcher_deps, p, revision=1, spec=V1)  # an older revision, late
    # An older revision that (wrongly) carried a newer spec is ignored with its revision.
    await changed(matcher_deps, p, revision=1, spec=AnswerSpec(version=3, fields=(SCORE,)))
    assert await kept() == (2, [(1, 2), (2, 1)])
    # A newer revision that keeps the spec (a new title) keeps its version.
    await changed(matcher_deps, p, revision=3, spec=V2, title="Rate rashes, again")
    assert await kept() == (2, [(1, 2), (2, 1)])
    await contractor(matcher_deps, "ana")
    assert (await claim(matcher_deps, "ana", await task(matcher_deps, p))).answer_spec == V2


async def test_every_claim_answer_carries_its_own_spec_version(matcher_deps: Deps) -> None:
    p = await new_project(matcher_deps, V1)
    await contractor(matcher_deps, "ana")
    t1, t2 = await task(matcher_deps, p), await task(matcher_deps, p)
    old = await claim(matcher_deps, "ana", t1, request="r-1")
    await changed(matcher_deps, p, revision=2, spec=V2)
    new = await claim(matcher_deps, "ana", t2, request="r-2")

    def version(c: Claim) -> int:
        message = pb.claim_to_pb(c)
        assert message.answer_spec.fields, "a spec with fields, or no field at all"
        return message.answer_spec.version

    repeated = await claim(matcher_deps, "ana", t1, request="r-1")  # ClaimTask again
    got = [
        (
            await claims.get_claim(
                commands.claim_ref(claim_id=str(c.claim_id), contractor_id="ana"), matcher_deps
            )
        )[0]
        for c in (old, new)
    ]
    listed, _ = await claims.list_my_claims(
        commands.list_claims(contractor_id="ana", page_size=10), matcher_deps
    )
    beat = await claims.heartbeat_claim(
        commands.heartbeat_claim(claim_id=str(old.claim_id), contractor_id="ana", worked_seconds=0),
        matcher_deps,
    )
    submitted = await submit(matcher_deps, new, FITS_V2)
    released = await claims.release_claim(
        commands.claim_ref(claim_id=str(old.claim_id), contractor_id="ana"), matcher_deps
    )
    assert [version(c) for c in (old, new, repeated, *got)] == [1, 2, 1, 1, 2]
    assert sorted(version(c) for c in listed) == [1, 2]
    assert [version(c) for c in (beat, submitted, released)] == [1, 2, 1]
    assert pb.claim_to_pb(released).answer_spec == answer_spec_to_pb(V1)


async def test_offers_carry_the_projects_current_spec(matcher_deps: Deps, hub: OfferHub) -> None:
    p = await new_project(matcher_deps, V1)
    await contractor(matcher_deps, "ana")
    stream = hub.open("ana", None)
    assert await hub.snapshot(stream, 10) == []
    t = await task(matcher_deps, p)
    offered, _ = await next_item(stream)
    assert offered.task_id == t and pb.offer_to_pb(offered).answer_spec == answer_spec_to_pb(V1)

    await changed(matcher_deps, p, revision=2, spec=V2)
    again, _ = await next_item(stream)  # the same task, offered again with its new spec
    assert again.task_id == t and pb.offer_to_pb(again).answer_spec == answer_spec_to_pb(V2)
    (listed,), _ = await offers.list_offers(
        commands.list_offers(contractor_id="ana", page_size=10), matcher_deps
    )
    assert listed.answer_spec_version == 2 and listed.answer_spec == V2
    assert pb.offer_to_pb(listed).answer_spec.fields[0].name == "note"


async def test_a_new_spec_waits_for_claims_being_granted_in_its_project(
    matcher_deps: Deps,
) -> None:
    """A claim is granted under the spec of the revision claim_task() checked: the
    trigger reads the project again at the insert, so a spec change must not commit in
    between. It takes the project's lock as a pause does; other changes do not."""
    p = await new_project(matcher_deps, V1)
    async with matcher_deps.pool.acquire() as granting, granting.transaction():
        # As claim_task() holds it from its read of the project to its commit.
        await granting.execute(
            "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))", "project\x1f" + p
        )
        await asyncio.wait_for(changed(matcher_deps, p, revision=2, spec=V1, title="New"), 10)
        spec_change = asyncio.create_task(changed(matcher_deps, p, revision=3, spec=V2))

        async def waiting() -> bool:
            await granting.execute("SELECT pg_stat_clear_snapshot()")
            return bool(
                await granting.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
                    " AND datname = current_database()"
                )
            )

        await eventually(waiting)
        assert not spec_change.done()
    await asyncio.wait_for(spec_change, 10)
    assert (
        await matcher_deps.pool.fetchval(
            "SELECT answer_spec_version FROM projects WHERE project_id = $1", p
        )
        == 2
    )


async def test_a_spec_is_checked_as_it_was_sent(matcher_deps: Deps) -> None:
    """Numbers keep their value through storage: a scale from 1e23 takes 1e23."""
    huge = AnswerField(name="mass", kind=Scale(min=1e23, max=2e23))
    p = await new_project(matcher_deps, AnswerSpec(version=1, fields=(huge,)))
    await contractor(matcher_deps, "ana")
    granted = await claim(matcher_deps, "ana", await task(matcher_deps, p))
    uncached = dataclasses.replace(matcher_deps, answer_specs=AnswerSpecs())  # read it back
    assert (await submit(uncached, granted, b'{"mass": 1e23}')).status is ClaimStatus.SUBMITTED
