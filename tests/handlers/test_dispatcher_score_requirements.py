"""Requirements on quality measures through the dispatcher's project handlers, on a real
database: a measure validates as a score without being a defined type, its project is
one of the client's (stored resolved, "" becoming the project's own id), and another
client's project is refused exactly as one that does not exist."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest

from crewline.auth.principal import Kind as PrincipalKind
from crewline.auth.principal import Principal
from crewline.errors import InvalidArgument
from crewline.events import parse_envelope
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from crewline.qualifications import ACCEPTANCE_RATE, GOLD_ACCURACY, Comparator, Requirement
from crewline.v1 import events_pb2
from dispatcher.adapters import protobuf as pb
from dispatcher.deps import Deps
from dispatcher.domain import projects
from dispatcher.domain.projects import Project, ProjectFields, RequirementSpec
from dispatcher.handlers import projects as project_handlers

from stack import outbox_types

FIELDS = ProjectFields(
    title="Main pool",
    instructions="Rate the answer.",
    requirements=(),
    pay_terms=PayTerms(basis=Basis.PER_SUBMISSION, rate=Money("USD", 100)),
    assignments_per_task=1,
    claim_timeout_seconds=0,
    task_lifetime_seconds=86_400,
    auto_accept_delay_seconds=0,
    priority=0,
    max_claims_per_contractor=0,
)


def at_least(score: int, project_id: str = "", measure: str = ACCEPTANCE_RATE) -> RequirementSpec:
    return RequirementSpec(measure, Comparator.GREATER_OR_EQUAL, (score,), project_id=project_id)


async def create(
    deps: Deps, *requirements: RequirementSpec, client: str = "acme", request_id: str = ""
) -> Project:
    cmd = projects.create_project(
        request_id=request_id or str(uuid.uuid4()),
        client_id=client,
        fields=replace(FIELDS, requirements=requirements),
    )
    return await project_handlers.create_project(cmd, deps)


async def update(deps: Deps, project_id: str, *requirements: RequirementSpec) -> Project:
    cmd = projects.update_project(
        project_id=project_id,
        client_id="acme",
        changes=ProjectFields(requirements=requirements),
        expected_revision=0,
    )
    return await project_handlers.update_project(cmd, deps)


async def refused(call: Any) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as err:
        await call
    return err.value


async def test_a_measure_of_the_project_itself_is_stored_with_its_own_id(
    dispatcher_deps: Deps,
) -> None:
    # Neither measure is a type the matcher defined: both are scores all the same.
    project = await create(dispatcher_deps, at_least(60), at_least(70, measure=GOLD_ACCURACY))
    own = project.project_id
    assert project.requirements == (
        Requirement(ACCEPTANCE_RATE, Comparator.GREATER_OR_EQUAL, (60,), own),
        Requirement(GOLD_ACCURACY, Comparator.GREATER_OR_EQUAL, (70,), own),
    )
    found, _ = await project_handlers.get_project(
        own, Principal(PrincipalKind.CLIENT, "acme"), dispatcher_deps
    )
    assert found.requirements == project.requirements  # through jsonb and back
    # The matcher learns it resolved, from ProjectChanged.
    rows = await dispatcher_deps.pool.fetch("SELECT envelope FROM outbox ORDER BY id")
    event = events_pb2.ProjectChanged()
    parse_envelope(rows[-1]["envelope"]).payload.Unpack(event)
    assert [r.project_id for r in event.project.requirements] == [own, own]
    assert pb.project_to_pb(project).requirements[0].project_id == own
    # Naming itself, or "" again, is the same requirement: the update changes nothing.
    assert (
        await update(dispatcher_deps, own, at_least(60, own), at_least(70, "", GOLD_ACCURACY))
        == project
    )
    assert await outbox_types(dispatcher_deps.pool) == ["crewline.v1.ProjectChanged"]


async def test_a_measure_of_another_project_of_the_client_is_kept_as_named(
    dispatcher_deps: Deps,
) -> None:
    training = await create(dispatcher_deps)
    main = await create(dispatcher_deps, at_least(60, training.project_id.upper()))
    assert main.requirements == (
        Requirement(ACCEPTANCE_RATE, Comparator.GREATER_OR_EQUAL, (60,), training.project_id),
    )
    moved = await update(dispatcher_deps, main.project_id, at_least(80, training.project_id))
    assert moved.requirements[0].values == (80,) and moved.revision == 2


async def test_another_clients_project_is_refused_as_an_unknown_one(
    dispatcher_deps: Deps,
) -> None:
    theirs = await create(dispatcher_deps, client="globex")
    ours = await create(dispatcher_deps)
    nobodys = str(uuid.uuid4())
    foreign = await refused(create(dispatcher_deps, at_least(60, theirs.project_id)))
    unknown = await refused(create(dispatcher_deps, at_least(60, nobodys)))
    assert foreign.field == unknown.field == "requirements[0].project_id"
    assert foreign.reason == unknown.reason
    assert str(foreign).replace(theirs.project_id, "ID") == str(unknown).replace(nobodys, "ID")
    on_update = await refused(
        update(dispatcher_deps, ours.project_id, at_least(1), at_least(60, theirs.project_id))
    )
    assert on_update.field == "project.requirements[1].project_id"
    assert await dispatcher_deps.pool.fetchval("SELECT count(*) FROM projects") == 2


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (at_least(60, "not-a-uuid"), "requirements[0].project_id"),
        (at_least(60, "\x00"), "requirements[0].project_id"),
        (RequirementSpec("quality.speed", Comparator.EXISTS), "requirements[0].qualification"),
        (
            RequirementSpec(ACCEPTANCE_RATE, Comparator.IN, strings=("a",)),
            "requirements[0].strings",
        ),
    ],
)
async def test_a_malformed_measure_requirement_names_its_field(
    dispatcher_deps: Deps, spec: RequirementSpec, field: str
) -> None:
    assert (await refused(create(dispatcher_deps, spec))).field == field
    project = await create(dispatcher_deps)
    assert (await refused(update(dispatcher_deps, project.project_id, spec))).field == (
        f"project.{field}"
    )


async def test_only_a_measure_names_a_project(dispatcher_deps: Deps) -> None:
    await dispatcher_deps.pool.execute(
        "INSERT INTO qualification_types (name, kind) VALUES ('derm', 'score')"
    )
    other = await create(dispatcher_deps)
    derm = RequirementSpec("derm", Comparator.EXISTS, project_id=other.project_id)
    err = await refused(create(dispatcher_deps, RequirementSpec("derm", Comparator.EXISTS), derm))
    assert err.field == "requirements[1].project_id"


async def test_a_repeated_create_matches_on_the_measures_project(dispatcher_deps: Deps) -> None:
    training = await create(dispatcher_deps)
    first = await create(dispatcher_deps, at_least(60), request_id="r-1")
    assert await create(dispatcher_deps, at_least(60), request_id="r-1") == first
    err = await refused(
        create(dispatcher_deps, at_least(60, training.project_id), request_id="r-1")
    )
    assert err.field == "request_id"
