"""Projects' pure rules: validation, defaults, pay terms versions, update semantics."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crewline.errors import Aborted, FailedPrecondition, InvalidArgument
from crewline.money import MAX_AMOUNT_MINOR, Money
from crewline.pay_terms import Basis, PayTerms, pay_terms
from crewline.qualifications import Comparator, Kind, Requirement
from dispatcher.domain import projects
from dispatcher.domain.projects import Project, ProjectFields, ProjectState, RequirementSpec

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PER_SUBMISSION = PayTerms(basis=Basis.PER_SUBMISSION, rate=Money("USD", 1250))
HOURLY = PayTerms(basis=Basis.HOURLY, rate=Money("USD", 3000), max_paid_seconds=7200)
TYPES = {"domain.dermatology": Kind.SCORE, "locale": Kind.STRING, "bar": Kind.PRESENCE}
FIELDS = ProjectFields(
    title="Dermatology ratings",
    instructions="Rate the answer.",
    requirements=(RequirementSpec("domain.dermatology", Comparator.GREATER_OR_EQUAL, (80,)),),
    pay_terms=PER_SUBMISSION,
    assignments_per_task=0,
    claim_timeout_seconds=0,
    task_lifetime_seconds=0,
    auto_accept_delay_seconds=0,
    priority=0,
    max_claims_per_contractor=0,
)


def create(**changes: object) -> projects.CreateProject:
    return projects.create_project(
        request_id="p-1", client_id="acme", fields=replace(FIELDS, **changes)
    )


def new_project(**changes: object) -> Project:
    cmd = create(**changes)
    assert cmd.fields.requirements is not None
    project_id = str(uuid.uuid4())
    reqs = projects.resolve_requirements(
        cmd.fields.requirements, TYPES, field="requirements", project_id=project_id
    )
    return Project.create(cmd, requirements=reqs, project_id=project_id, now=NOW)


def test_zero_durations_and_slots_take_the_documented_defaults() -> None:
    project = new_project()
    assert project.assignments_per_task == 1
    assert project.claim_timeout_seconds == 3600
    assert project.task_lifetime_seconds == 7 * 86_400
    assert project.auto_accept_delay_seconds == 3 * 86_400
    assert (project.revision, project.created_at, project.updated_at) == (1, NOW, NOW)
    assert (project.pay_terms.version, project.pay_terms.effective_at) == (1, NOW)
    assert project.requirements == (
        Requirement("domain.dermatology", Comparator.GREATER_OR_EQUAL, (80,)),
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"instructions": "x" * 20_001}, "instructions"),
        ({"assignments_per_task": 1001}, "assignments_per_task"),
        ({"assignments_per_task": -1}, "assignments_per_task"),
        ({"claim_timeout_seconds": 59}, "claim_timeout_seconds"),
        ({"claim_timeout_seconds": 7 * 86_400 + 1}, "claim_timeout_seconds"),
        ({"task_lifetime_seconds": 365 * 86_400 + 1}, "task_lifetime_seconds"),
        ({"auto_accept_delay_seconds": 30 * 86_400 + 1}, "auto_accept_delay_seconds"),
        ({"auto_accept_delay_seconds": -60}, "auto_accept_delay_seconds"),
        ({"priority": 101}, "priority"),
        ({"priority": -1}, "priority"),
        ({"max_claims_per_contractor": 1_000_001}, "max_claims_per_contractor"),
        ({"max_claims_per_contractor": -1}, "max_claims_per_contractor"),
    ],
)
def test_bad_project_field_is_named(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        create(**changes)
    assert err.value.field == field


def test_the_limits_themselves_are_taken() -> None:
    project = new_project(
        title="x" * 200,
        assignments_per_task=1000,
        claim_timeout_seconds=60,
        task_lifetime_seconds=365 * 86_400,
        auto_accept_delay_seconds=30 * 86_400,
        priority=100,
        max_claims_per_contractor=1_000_000,
    )
    assert (project.assignments_per_task, project.priority) == (1000, 100)


def test_hourly_terms_whose_most_one_claim_can_earn_the_books_cannot_take_are_refused() -> None:
    rate = Money("USD", 7 * 10**9)  # $70M an hour: the most is 514,285 s of it
    most = pay_terms(basis=Basis.HOURLY, rate=rate, max_paid_seconds=514_285, field="pay_terms")
    assert most.earned(30 * 86_400).amount_minor == 999_998_611_112 <= MAX_AMOUNT_MINOR
    with pytest.raises(InvalidArgument) as err:
        pay_terms(basis=Basis.HOURLY, rate=rate, max_paid_seconds=514_286, field="pay_terms")
    assert err.value.field == "pay_terms.hourly.max_paid_seconds"
    assert "at most 514285" in str(err.value)


@pytest.mark.parametrize(
    ("specs", "field", "reason"),
    [
        ([RequirementSpec("nobody.knows", Comparator.EXISTS)], "[0].qualification", "UNKNOWN"),
        (
            [
                RequirementSpec("bar", Comparator.EXISTS),
                RequirementSpec("locale", Comparator.IN, strings=("US", "")),
                RequirementSpec("domain.dermatology", Comparator.IN, scores=(1, 101)),
            ],
            "[1].strings[1]",
            "INVALID_FIELD",
        ),
        (
            [
                RequirementSpec("bar", Comparator.EXISTS),
                RequirementSpec("locale", Comparator.EQUAL, strings=("US",)),
                RequirementSpec("domain.dermatology", Comparator.IN, scores=(1, 101)),
            ],
            "[2].scores[1]",
            "INVALID_FIELD",
        ),
        ([RequirementSpec("bar", Comparator.GREATER_THAN, (1,))], "[0].comparator", "INVALID"),
        ([RequirementSpec("bar", None)], "[0].comparator", "INVALID_FIELD"),
        ([RequirementSpec("bar", Comparator.EXISTS)] * 21, "", "INVALID_FIELD"),
    ],
)
def test_requirements_are_checked_against_the_known_types(
    specs: list[RequirementSpec], field: str, reason: str
) -> None:
    with pytest.raises(InvalidArgument) as err:
        projects.resolve_requirements(
            specs, TYPES, field="requirements", project_id=str(uuid.uuid4())
        )
    assert err.value.field == f"requirements{field}"
    assert err.value.reason.startswith(reason)


def test_same_create_request_has_the_same_fingerprint_and_any_change_alters_it() -> None:
    base = create().fingerprint()
    assert create().fingerprint() == base
    for change in (
        {"title": "Other"},
        {"priority": 5},
        {"pay_terms": HOURLY},
        {"requirements": ()},
        {"pay_terms": replace(PER_SUBMISSION, rate=Money("EUR", 1250))},
    ):
        assert create(**change).fingerprint() != base, change


def test_a_measures_project_is_part_of_the_fingerprint() -> None:
    measure = RequirementSpec("quality.acceptance_rate", Comparator.GREATER_OR_EQUAL, (60,))
    here = create(requirements=(measure,)).fingerprint()
    there = create(requirements=(replace(measure, project_id=str(uuid.uuid4())),)).fingerprint()
    assert here != there


def test_request_id_reused_for_another_project_is_refused() -> None:
    project = new_project()
    cmd = create()
    assert project.answers(cmd.fingerprint(), cmd) is project
    with pytest.raises(InvalidArgument) as err:
        project.answers(cmd.fingerprint(), create(title="Another"))
    assert err.value.field == "request_id"


def update(
    project: Project, *, expected_revision: int = 0, **changes: object
) -> projects.UpdateProject:
    return projects.update_project(
        project_id=project.project_id,
        client_id="acme",
        changes=ProjectFields(**changes),  # type: ignore[arg-type]
        expected_revision=expected_revision,
    )


def test_an_update_changes_only_its_fields_and_bumps_the_revision() -> None:
    project = new_project()
    later = NOW + timedelta(hours=1)
    changed = project.updated(
        update(project, title="New", priority=7), requirements=None, now=later
    )
    assert (changed.title, changed.priority, changed.instructions) == ("New", 7, "Rate the answer.")
    assert (changed.revision, changed.updated_at, changed.created_at) == (2, later, NOW)
    assert changed.pay_terms == project.pay_terms


def test_an_update_to_the_same_values_changes_nothing_whatever_revision_it_expected() -> None:
    project = new_project()
    cmd = update(project, title=project.title, pay_terms=PER_SUBMISSION, expected_revision=9)
    assert project.updated(cmd, requirements=project.requirements, now=NOW) is project


def test_an_update_at_another_revision_is_aborted() -> None:
    project = new_project()
    with pytest.raises(Aborted) as err:
        project.updated(
            update(project, title="New", expected_revision=2), requirements=None, now=NOW
        )
    assert err.value.reason == "REVISION_MISMATCH"
    ok = project.updated(
        update(project, title="New", expected_revision=1), requirements=None, now=NOW
    )
    assert ok.revision == 2


def test_new_pay_terms_are_the_next_version_and_the_same_terms_are_not() -> None:
    project = new_project()
    later = NOW + timedelta(days=1)
    hourly = project.updated(update(project, pay_terms=HOURLY), requirements=None, now=later)
    assert (hourly.pay_terms.version, hourly.pay_terms.effective_at) == (2, later)
    assert hourly.pay_terms.same_terms(HOURLY) and hourly.revision == 2
    again = hourly.updated(update(hourly, pay_terms=HOURLY), requirements=None, now=later)
    assert again is hourly
    back = hourly.updated(update(hourly, pay_terms=PER_SUBMISSION), requirements=None, now=later)
    assert (back.pay_terms.version, back.revision) == (3, 3)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "project.title"),
        ({"priority": 500}, "project.priority"),
        ({"claim_timeout_seconds": 1}, "project.claim_timeout_seconds"),
    ],
)
def test_bad_update_field_is_named_under_project(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        update(new_project(), **changes)
    assert err.value.field == field


@pytest.mark.parametrize("paths", [[], ["title", "revision"], ["project_id"], ["pay_terms.hourly"]])
def test_update_mask_empty_or_naming_an_unknown_path_is_refused(paths: list[str]) -> None:
    with pytest.raises(InvalidArgument) as err:
        projects.update_paths(paths)
    assert err.value.field == "update_mask"


def test_update_of_a_project_id_that_is_not_one_is_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        projects.update_project(
            project_id="derm", client_id="acme", changes=ProjectFields(), expected_revision=0
        )
    assert err.value.field == "project.project_id"


def test_project_listing_defaults_to_50_and_takes_at_most_100() -> None:
    assert projects.list_projects(client_id="a", page_size=0, page_token="").page_size == 50
    with pytest.raises(InvalidArgument) as err:
        projects.list_projects(client_id="a", page_size=101, page_token="")
    assert err.value.field == "page_size"


# --- states and the shortest durations --------------------------------------------------


def test_pause_resume_and_close_move_the_state_and_bump_the_revision() -> None:
    project = new_project()
    later = NOW + timedelta(hours=1)
    paused = project.moved_to(ProjectState.PAUSED, now=later)
    assert (paused.state, paused.revision, paused.updated_at) == (ProjectState.PAUSED, 2, later)
    assert paused.moved_to(ProjectState.PAUSED, now=later) is paused  # a repeat
    resumed = paused.moved_to(ProjectState.ACTIVE, now=later)
    assert (resumed.state, resumed.revision) == (ProjectState.ACTIVE, 3)
    closed = paused.moved_to(ProjectState.CLOSED, now=later)
    assert (closed.state, closed.revision) == (ProjectState.CLOSED, 3)
    assert closed.moved_to(ProjectState.CLOSED, now=later) is closed
    for state in (ProjectState.ACTIVE, ProjectState.PAUSED):
        with pytest.raises(FailedPrecondition) as err:
            closed.moved_to(state, now=later)
        assert err.value.reason == "PROJECT_CLOSED"


def test_a_closed_project_takes_no_update_not_even_one_that_changes_nothing() -> None:
    closed = new_project().moved_to(ProjectState.CLOSED, now=NOW)
    for cmd in (update(closed, title="New"), update(closed, title=closed.title)):
        with pytest.raises(FailedPrecondition) as err:
            closed.updated(cmd, requirements=None, now=NOW)
        assert err.value.reason == "PROJECT_CLOSED"


@pytest.mark.parametrize(
    "name", ["claim_timeout_seconds", "task_lifetime_seconds", "auto_accept_delay_seconds"]
)
def test_durations_are_at_least_the_given_minimum(name: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        create(**{name: 59})
    assert err.value.field == name
    for bad in (-1, -(2**40)):
        with pytest.raises(InvalidArgument):
            create(**{name: bad})
    fields = replace(FIELDS, **{name: 5})
    cmd = projects.create_project(request_id="p", client_id="a", fields=fields, min_seconds=5)
    assert getattr(cmd.fields, name) == 5
    with pytest.raises(InvalidArgument) as err:
        projects.update_project(
            project_id=str(uuid.uuid4()),
            client_id="a",
            changes=ProjectFields(**{name: 4}),
            expected_revision=0,
            min_seconds=5,
        )
    assert err.value.field == f"project.{name}"


def test_a_state_change_names_a_project_id() -> None:
    with pytest.raises(InvalidArgument) as err:
        projects.change_project_state(project_id="x", client_id="a", state=ProjectState.PAUSED)
    assert err.value.field == "project_id"
