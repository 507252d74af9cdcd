"""Answer specs on the dispatcher's projects: versioned as they change, stored, and
announced in ProjectChanged; bad specs refused by field with nothing stored. Requests
go through the protobuf adapters and the handlers as the gRPC servicer sends them, on
a real database of the test's own, with a fake clock."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from crewline.auth.principal import Kind as PrincipalKind
from crewline.auth.principal import Principal
from crewline.errors import FailedPrecondition, InvalidArgument
from crewline.events import parse_envelope
from crewline.v1 import events_pb2, money_pb2, project_pb2
from crewline.v1 import task_service_pb2 as api
from dispatcher.adapters import protobuf as pb
from dispatcher.deps import Deps
from dispatcher.domain import projects
from dispatcher.domain.projects import Project, ProjectState
from dispatcher.handlers import projects as project_handlers

ACME = Principal(PrincipalKind.CLIENT, "acme")
PROJECT_CHANGED = "crewline.v1.ProjectChanged"

SEVERITY = project_pb2.AnswerField(
    name="severity",
    prompt="How severe?",
    choice=project_pb2.ChoiceField(labels=["mild", "severe"]),
)
SCORE = project_pb2.AnswerField(
    name="score", number=project_pb2.NumberField(min=1, max=5, step=1), optional=True
)
NOTES = project_pb2.AnswerField(name="notes", text=project_pb2.TextField(max_length=0))
QUALITY = project_pb2.AnswerField(
    name="quality",
    rubric=project_pb2.RubricField(
        criteria=[
            project_pb2.RubricCriterion(
                name="accuracy", description="Right?", scale=project_pb2.NumberField(min=0, max=4)
            )
        ]
    ),
)
# version is output only: a request's is ignored.
SPEC = project_pb2.AnswerSpec(version=41, fields=[SEVERITY, SCORE, NOTES, QUALITY])
OTHER_SPEC = project_pb2.AnswerSpec(fields=[SEVERITY])


def create_request(request_id: str = "p-1", **changes: Any) -> api.CreateProjectRequest:
    values: dict[str, Any] = dict(
        request_id=request_id,
        title="Dermatology ratings",
        pay_terms=project_pb2.PayTerms(
            per_submission=project_pb2.PerSubmissionPay(
                reward=money_pb2.Money(currency_code="USD", amount_minor=1250)
            )
        ),
        assignments_per_task=1,
    )
    return api.CreateProjectRequest(**{**values, **changes})


async def create(deps: Deps, req: api.CreateProjectRequest) -> Project:
    cmd = pb.create_project_command(req, client_id="acme", min_seconds=60)
    return await project_handlers.create_project(cmd, deps)


def update_request(
    project_id: str, spec: project_pb2.AnswerSpec | None, *, expected_revision: int = 0
) -> api.UpdateProjectRequest:
    """An update of the answer spec alone; None leaves the message unset (a removal)."""
    change = project_pb2.Project(project_id=project_id)
    if spec is not None:
        change.answer_spec.CopyFrom(spec)
    return api.UpdateProjectRequest(
        project=change,
        update_mask=FieldMask(paths=["answer_spec"]),
        expected_revision=expected_revision,
    )


async def update(
    deps: Deps, project_id: str, spec: project_pb2.AnswerSpec | None, **kw: Any
) -> Project:
    cmd = pb.update_project_command(
        update_request(project_id, spec, **kw), client_id="acme", min_seconds=60
    )
    return await project_handlers.update_project(cmd, deps)


async def got(deps: Deps, project_id: str) -> project_pb2.Project:
    """What GetProject answers."""
    project, _ = await project_handlers.get_project(project_id, ACME, deps)
    return pb.project_to_pb(project)


async def announced(deps: Deps) -> list[project_pb2.Project]:
    """The projects in the ProjectChanged events in the outbox, in order."""
    found = []
    for row in await deps.pool.fetch("SELECT envelope FROM outbox ORDER BY id"):
        env = parse_envelope(row["envelope"])
        if env.type == PROJECT_CHANGED:
            event = events_pb2.ProjectChanged()
            env.payload.Unpack(event)
            found.append(event.project)
    return found


def spec_at(version: int, spec: project_pb2.AnswerSpec) -> project_pb2.AnswerSpec:
    """``spec`` as the dispatcher answers it: at ``version``, text limits made explicit."""
    out = project_pb2.AnswerSpec()
    out.CopyFrom(spec)
    out.version = version
    for f in out.fields:
        if f.WhichOneof("kind") == "text" and not f.text.max_length:
            f.text.max_length = 100_000
    return out


async def stored_spec(deps: Deps, project_id: str) -> Any:
    return await deps.pool.fetchval(
        "SELECT answer_spec->'version' FROM projects WHERE project_id = $1", project_id
    )


async def test_a_spec_given_at_create_is_version_1_stored_and_announced(
    dispatcher_deps: Deps,
) -> None:
    deps = dispatcher_deps
    project = await create(deps, create_request(answer_spec=SPEC))
    assert project.answer_spec.version == 1
    assert [f.name for f in project.answer_spec.fields] == ["severity", "score", "notes", "quality"]
    found, _ = await project_handlers.get_project(project.project_id, ACME, deps)
    assert found == project  # the spec survives the round trip through the database
    assert await stored_spec(deps, project.project_id) == "1"
    assert (await got(deps, project.project_id)).answer_spec == spec_at(1, SPEC)
    [event] = await announced(deps)
    assert event.answer_spec == spec_at(1, SPEC)


async def test_a_project_without_a_spec_has_none_anywhere(dispatcher_deps: Deps) -> None:
    deps = dispatcher_deps
    plain = await create(deps, create_request("plain"))
    empty = await create(deps, create_request("empty", answer_spec=project_pb2.AnswerSpec()))
    for project in (plain, empty):
        assert project.answer_spec == projects.NO_SPEC
        assert await stored_spec(deps, project.project_id) is None
        assert not (await got(deps, project.project_id)).HasField("answer_spec")
    assert [e.HasField("answer_spec") for e in await announced(deps)] == [False, False]
    # Removing a spec it never had changes nothing.
    assert await update(deps, plain.project_id, None) == plain
    assert len(await announced(deps)) == 2


async def test_a_spec_is_a_new_version_only_when_its_fields_change(
    dispatcher_deps: Deps,
) -> None:
    deps = dispatcher_deps
    project = await create(deps, create_request(answer_spec=SPEC))
    changed = await update(deps, project.project_id, OTHER_SPEC, expected_revision=1)
    assert (changed.revision, changed.answer_spec.version) == (2, 2)
    assert (await got(deps, project.project_id)).answer_spec == spec_at(2, OTHER_SPEC)

    # The same fields again (a retry, with its stale expected revision) change nothing.
    again = await update(deps, project.project_id, OTHER_SPEC, expected_revision=1)
    assert again == changed
    assert [(e.revision, e.answer_spec.version) for e in await announced(deps)] == [
        (1, 1),
        (2, 2),
    ]
    assert (await announced(deps))[-1].answer_spec == spec_at(2, OTHER_SPEC)


async def test_a_specs_numbers_read_back_as_the_floats_sent(dispatcher_deps: Deps) -> None:
    deps = dispatcher_deps
    wide = project_pb2.NumberField(min=-1e23, max=1e300, step=0.1)
    spec = project_pb2.AnswerSpec(fields=[project_pb2.AnswerField(name="x", number=wide)])
    project = await create(deps, create_request(answer_spec=spec))
    found, _ = await project_handlers.get_project(project.project_id, ACME, deps)
    assert found == project
    assert (await got(deps, project.project_id)).answer_spec.fields[0].number == wide
    # So the same spec again is the same version.
    assert await update(deps, project.project_id, spec) == project
    assert len(await announced(deps)) == 1


async def test_removing_a_spec_is_the_next_version_with_no_fields(
    dispatcher_deps: Deps,
) -> None:
    deps = dispatcher_deps
    project = await create(deps, create_request(answer_spec=SPEC))
    for removal in (None, project_pb2.AnswerSpec(version=1)):  # unset, or set without fields
        removed = await update(deps, project.project_id, removal)
        assert (removed.revision, removed.answer_spec.version) == (2, 2)
        assert removed.answer_spec.fields == ()
    assert await stored_spec(deps, project.project_id) == "2"
    shown = await got(deps, project.project_id)
    assert shown.HasField("answer_spec") and shown.answer_spec == project_pb2.AnswerSpec(version=2)
    assert [e.answer_spec for e in await announced(deps)] == [
        spec_at(1, SPEC),
        project_pb2.AnswerSpec(version=2),
    ]
    # A spec again after its removal is the version after that.
    back = await update(deps, project.project_id, SPEC)
    assert (back.revision, back.answer_spec.version) == (3, 3)
    assert (await got(deps, project.project_id)).answer_spec == spec_at(3, SPEC)


async def test_a_create_repeat_must_repeat_its_spec(dispatcher_deps: Deps) -> None:
    deps = dispatcher_deps
    first = await create(deps, create_request(answer_spec=SPEC))
    # The same request again (its ignored version aside) is the same project.
    assert await create(deps, create_request(answer_spec=spec_at(7, SPEC))) == first
    for other in (create_request(answer_spec=OTHER_SPEC), create_request()):
        with pytest.raises(InvalidArgument) as err:
            await create(deps, other)
        assert err.value.field == "request_id"
    plain = await create(deps, create_request("plain"))
    with pytest.raises(InvalidArgument) as err:
        await create(deps, create_request("plain", answer_spec=SPEC))
    assert err.value.field == "request_id"
    assert await create(deps, create_request("plain")) == plain
    assert await deps.pool.fetchval("SELECT count(*) FROM projects") == 2
    assert len(await announced(deps)) == 2


async def test_a_closed_projects_spec_does_not_change(dispatcher_deps: Deps) -> None:
    deps = dispatcher_deps
    project = await create(deps, create_request(answer_spec=SPEC))
    close = projects.change_project_state(
        project_id=project.project_id, client_id="acme", state=ProjectState.CLOSED
    )
    closed = await project_handlers.change_state(close, deps)
    for spec in (OTHER_SPEC, None):
        with pytest.raises(FailedPrecondition) as err:
            await update(deps, project.project_id, spec)
        assert err.value.reason == "PROJECT_CLOSED"
    found, _ = await project_handlers.get_project(project.project_id, ACME, deps)
    assert found == closed and found.answer_spec.version == 1


def field(**kw: Any) -> project_pb2.AnswerField:
    return project_pb2.AnswerField(**kw)


def scale(low: float, high: float) -> project_pb2.NumberField:
    return project_pb2.NumberField(min=low, max=high)


BAD_SPECS = [
    pytest.param([field(name="severity")], "fields[0].kind", id="no-kind"),
    pytest.param(
        [SEVERITY, field(name="score", prompt="?")], "fields[1].kind", id="no-kind-second"
    ),
    pytest.param(
        [field(name="severity", choice=project_pb2.ChoiceField())],
        "fields[0].choice.labels",
        id="no-labels",
    ),
    pytest.param(
        [field(name="severity", choice=project_pb2.ChoiceField(labels=["mild", " "]))],
        "fields[0].choice.labels[1]",
        id="blank-label",
    ),
    pytest.param([field(name="score", number=scale(5, 1))], "fields[0].number", id="inverted"),
    pytest.param([field(name="score", number=scale(3, 3))], "fields[0].number", id="empty-range"),
    pytest.param(
        [
            QUALITY,
            field(
                name="style",
                rubric=project_pb2.RubricField(
                    criteria=[project_pb2.RubricCriterion(name="tone", scale=scale(4, 0))]
                ),
            ),
        ],
        "fields[1].rubric.criteria[0].scale",
        id="inverted-criterion",
    ),
    pytest.param([SEVERITY, SCORE, SEVERITY], "fields", id="duplicate-name"),
    pytest.param(
        [field(name="Severity", choice=SEVERITY.choice)], "fields[0].name", id="upper-case"
    ),
    pytest.param([field(name="", choice=SEVERITY.choice)], "fields[0].name", id="empty-name"),
    pytest.param([field(name="2nd", text=NOTES.text)], "fields[0].name", id="digit-first"),
]


@pytest.mark.parametrize(("fields", "problem"), BAD_SPECS)
async def test_a_bad_spec_is_refused_at_create_by_field_and_nothing_is_stored(
    dispatcher_deps: Deps, fields: list[project_pb2.AnswerField], problem: str
) -> None:
    req = create_request(answer_spec=project_pb2.AnswerSpec(fields=fields))
    with pytest.raises(InvalidArgument) as err:
        await create(dispatcher_deps, req)
    assert err.value.field == f"answer_spec.{problem}"
    assert await dispatcher_deps.pool.fetchval("SELECT count(*) FROM projects") == 0
    assert await announced(dispatcher_deps) == []


@pytest.mark.parametrize(("fields", "problem"), BAD_SPECS)
async def test_a_bad_spec_is_refused_at_update_by_field_and_nothing_changes(
    dispatcher_deps: Deps, fields: list[project_pb2.AnswerField], problem: str
) -> None:
    deps = dispatcher_deps
    project = await create(deps, create_request(answer_spec=SPEC))
    with pytest.raises(InvalidArgument) as err:
        await update(deps, project.project_id, project_pb2.AnswerSpec(fields=fields))
    assert err.value.field == f"project.answer_spec.{problem}"
    found, _ = await project_handlers.get_project(project.project_id, ACME, deps)
    assert found == project
    assert len(await announced(deps)) == 1
