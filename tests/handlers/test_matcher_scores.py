"""Quality scores through the matcher's handlers, on a real database: ScoreChanged held
like a score qualification in the project it was measured in, the eligibility index
following each new value, a repeated or older version changing nothing, the newcomer
rule, and the measures' names closed to operators."""

from __future__ import annotations

import json
import uuid

import pytest

from crewline.consumer import EventContext
from crewline.errors import InvalidArgument
from crewline.events import QUALITY_TOPIC
from crewline.protobuf import timestamp
from crewline.qualifications import ACCEPTANCE_RATE, GOLD_ACCURACY, Comparator, Kind, Requirement
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from matcher.adapters import eligibility
from matcher.deps import Deps
from matcher.domain import contractors, qualifications
from matcher.handlers import contractors as contractor_handlers
from matcher.handlers import event_routes

CTX = EventContext("e", "c", "quality", QUALITY_TOPIC, 0, 0)


def at_least(score: int, measured_in: str) -> Requirement:
    return Requirement(ACCEPTANCE_RATE, Comparator.GREATER_OR_EQUAL, (score,), measured_in)


async def new_contractor(deps: Deps, contractor_id: str) -> None:
    cmd = contractors.create_contractor(contractor_id=contractor_id, display_name="")
    await contractor_handlers.create_contractor(cmd, deps)


async def new_project(deps: Deps, *requirements: Requirement, project_id: str | None = None) -> str:
    """A project the matcher knows (as if from ProjectChanged), its audience seeded."""
    project_id = project_id or str(uuid.uuid4())
    async with deps.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO projects (project_id, client_id, revision, title, instructions,"
            " requirements, priority, max_claims_per_contractor, terms_version, terms_basis,"
            " rate_currency, rate_minor, max_paid_seconds, updated_at)"
            " VALUES ($1, 'acme', 1, 't', '', $2::jsonb, 0, 0, 1, 'per_submission', 'USD',"
            " 100, 0, $3)",
            project_id,
            json.dumps([r.to_json() for r in requirements]),
            deps.clock.now(),
        )
        await eligibility.refresh_project(conn, project_id)
    return project_id


async def projects_of(deps: Deps, who: str = "ann") -> set[str]:
    async with deps.pool.acquire() as conn:
        return set(await eligibility.projects_of(conn, who))


def score(
    project_id: str,
    value: int,
    version: int,
    *,
    who: str = "ann",
    measure: quality_api.ScoreMeasure.ValueType = quality_api.SCORE_MEASURE_ACCEPTANCE_RATE,
) -> events_pb2.ScoreChanged:
    return events_pb2.ScoreChanged(
        contractor_id=who,
        project_id=project_id,
        client_id="acme",
        measure=measure,
        value=value,
        accepted=1,
        reviewed=1,
        window=10,
        version=version,
    )


async def deliver(deps: Deps, event: events_pb2.ScoreChanged) -> None:
    """As the consumer applies it, through the matcher's routes, in its own transaction."""
    if not event.HasField("changed_at"):
        event.changed_at.CopyFrom(timestamp(deps.clock.now()))
    async with deps.pool.acquire() as conn, conn.transaction():
        await event_routes(deps)[events_pb2.ScoreChanged](conn, event, CTX)


async def stored(deps: Deps, who: str = "ann") -> list[tuple[str, int, int]]:
    rows = await deps.pool.fetch(
        "SELECT project_id, value, version FROM contractor_scores WHERE contractor_id = $1"
        " ORDER BY project_id",
        who,
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_a_score_in_another_project_opens_and_closes_a_project(
    matcher_deps: Deps,
) -> None:
    deps = matcher_deps
    await new_contractor(deps, "ann")
    training = await new_project(deps)
    main = await new_project(deps, at_least(60, training))
    assert await projects_of(deps) == {training}  # not measured in training: must be held

    await deliver(deps, score(training, 75, 1))
    assert await projects_of(deps) == {training, main}
    await deliver(deps, score(training, 38, 2))
    assert await projects_of(deps) == {training}

    # A redelivery, or an older version arriving late, changes nothing.
    await deliver(deps, score(training, 38, 2))
    await deliver(deps, score(training, 75, 1))
    assert await projects_of(deps) == {training}
    assert await stored(deps) == [(training, 38, 2)]
    # A version skipped on the way counts as well as the next.
    await deliver(deps, score(training, 60, 5))
    assert await projects_of(deps) == {training, main}


async def test_a_newcomer_passes_a_measure_of_the_project_itself(matcher_deps: Deps) -> None:
    deps = matcher_deps
    await new_contractor(deps, "ann")
    project = str(uuid.uuid4())
    await new_project(deps, at_least(60, project), project_id=project)
    assert await projects_of(deps) == {project}  # not measured there yet: let in

    await deliver(deps, score(project, 25, 1))  # one rejection there
    assert await projects_of(deps) == set()
    # A fine score in another project is not a score in this one.
    await deliver(deps, score(str(uuid.uuid4()), 90, 1))
    assert await projects_of(deps) == set()
    await deliver(deps, score(project, 63, 2))
    assert await projects_of(deps) == {project}


async def test_a_new_project_finds_its_audience_by_score(matcher_deps: Deps) -> None:
    deps = matcher_deps
    for who in ("ann", "bob", "cat"):
        await new_contractor(deps, who)
    training = await new_project(deps)
    await deliver(deps, score(training, 75, 1, who="ann"))
    await deliver(deps, score(training, 38, 3, who="bob"))
    main = await new_project(deps, at_least(60, training))
    own = str(uuid.uuid4())
    await new_project(deps, at_least(60, training), at_least(50, own), project_id=own)
    audience = await deps.pool.fetch(
        "SELECT project_id, contractor_id FROM eligibility WHERE project_id = ANY($1::text[])",
        [main, own],
    )
    assert {(r["project_id"], r["contractor_id"]) for r in audience} == {
        (main, "ann"),
        (own, "ann"),
    }


async def test_a_score_that_comes_before_its_contractor_counts_once_they_are_here(
    matcher_deps: Deps,
) -> None:
    deps = matcher_deps
    training = await new_project(deps)
    main = await new_project(deps, at_least(60, training))
    await deliver(deps, score(training, 75, 1, who="zed"))
    assert await stored(deps, "zed") == [(training, 75, 1)]
    assert await projects_of(deps, "zed") == set()
    await new_contractor(deps, "zed")
    assert await projects_of(deps, "zed") == {training, main}


async def test_only_a_required_score_refreshes_eligibility(matcher_deps: Deps) -> None:
    deps = matcher_deps
    await new_contractor(deps, "ann")
    training, elsewhere = await new_project(deps), await new_project(deps)
    main = await new_project(deps, at_least(60, training))
    async with deps.pool.acquire() as conn, conn.transaction():
        skipped = await eligibility.refresh_for_score(conn, "ann", ACCEPTANCE_RATE, elsewhere)
        other_measure = await eligibility.refresh_for_score(conn, "ann", GOLD_ACCURACY, training)
        required = await eligibility.refresh_for_score(conn, "ann", ACCEPTANCE_RATE, training)
    assert skipped is None and other_measure is None
    assert required is not None and required.gained == required.lost == frozenset()
    # A score where nobody requires one is still kept, for a project that may later.
    await deliver(deps, score(elsewhere, 90, 1))
    assert await stored(deps) == [(elsewhere, 90, 1)]
    later = await new_project(deps, at_least(80, elsewhere))
    assert await projects_of(deps) == {training, elsewhere, later}
    assert main not in await projects_of(deps)


async def test_each_measure_is_held_apart(matcher_deps: Deps) -> None:
    deps = matcher_deps
    await new_contractor(deps, "ann")
    training = await new_project(deps)
    gold = Requirement(GOLD_ACCURACY, Comparator.GREATER_OR_EQUAL, (70,), training)
    main = await new_project(deps, gold)
    await deliver(deps, score(training, 90, 1))  # an acceptance rate is no gold accuracy
    assert await projects_of(deps) == {training}
    await deliver(deps, score(training, 80, 1, measure=quality_api.SCORE_MEASURE_GOLD_ACCURACY))
    assert await projects_of(deps) == {training, main}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"measure": quality_api.SCORE_MEASURE_UNSPECIFIED}, "measure"),
        ({"measure": 99}, "measure"),
        ({"value": 101}, "value"),
        ({"version": 0}, "version"),
        ({"who": ""}, "contractor_id"),
        ({"project_id": ""}, "project_id"),
    ],
)
async def test_a_malformed_score_is_refused_naming_its_field(
    matcher_deps: Deps, changes: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {"project_id": str(uuid.uuid4()), "value": 70, "version": 1}
    values.update(changes)
    event = score(**values)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument) as err:
        await deliver(matcher_deps, event)
    assert err.value.field == field
    assert await matcher_deps.pool.fetchval("SELECT count(*) FROM contractor_scores") == 0


@pytest.mark.parametrize("name", [ACCEPTANCE_RATE, "quality.gold_accuracy", "quality.other"])
def test_no_one_defines_or_grants_a_measure(name: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        qualifications.define_qualification_type(name=name, kind=Kind.SCORE, description="")
    assert err.value.field == "name"
    with pytest.raises(InvalidArgument) as err:
        qualifications.grant_qualification(
            contractor_id="ann", qualification=name, score=80, text=None
        )
    assert err.value.field == "qualification"
