"""crewctl project apply: the project file (money exact, durations as seconds, each
mistake naming its field), what differs, and what is called against stand-in servers."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import Result
from crewctl_file_data import (
    FILE,
    client_crewctl,
    methods,
    project,
    record,
)
from crewctl_golden.harness import Crewctl

from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.project_file import (
    _APPLY_IDS,
    FileError,
    apply_request_id,
    differences,
    load_project_file,
    parse_project,
)
from crewline.ctl.records.projects import ProjectFields

crewctl = pytest.fixture(client_crewctl, name="crewctl")
# A requirement on a quality measure; in this project unless it names another.
RATE = {"qualification": "quality.acceptance_rate", "comparator": ">=", "values": [70]}


def test_a_project_file_reads_money_exactly_and_durations_as_seconds() -> None:
    wanted = parse_project(FILE)
    fields = wanted.fields
    assert fields["pay_terms"]["amount_minor"] == 1250 and fields["pay_terms"]["currency"] == "USD"
    assert fields["claim_timeout_seconds"] == 1800 and fields["assignments_per_task"] == 3
    assert fields["requirements"][1] == {
        "qualification": "locale",
        "comparator": "in",
        "values": ["US", "CA"],
        "project_id": "",
    }
    assert (wanted.state, wanted.project_id) == ("active", "")


def test_hourly_pay_takes_a_cap() -> None:
    fields = parse_project({"title": "t", "pay": {"hourly": "60 USD", "cap": "2h"}}).fields
    assert fields["pay_terms"]["basis"] == "hourly"
    assert (fields["pay_terms"]["amount_minor"], fields["pay_terms"]["max_paid_seconds"]) == (
        6000,
        7200,
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"pay": {"per_submission": "1 USD"}}, "title: required"),
        ({"title": "t", "colour": "red"}, "colour: unknown field"),
        ({"title": "t", "pay": {"per_submission": 12.5}}, "pay.per_submission"),
        ({"title": "t", "pay": {"per_submission": "12.505 USD"}}, "pay: "),
        ({"title": "t", "pay": {"hourly": "60 USD"}}, "pay: hourly needs cap"),
        ({"title": "t", "pay": {"weekly": "1 USD"}}, "pay.weekly: unknown"),
        ({"title": "t", "slots": "3"}, "slots: must be a whole number"),
        ({"title": "t", "lifetime": "a week"}, "lifetime: "),
        ({"title": "t", "requirements": ["derm:about:3"]}, "requirements[0]: "),
        (
            {"title": "t", "requirements": [{"qualification": "x", "values": [True]}]},
            "requirements[0].values",
        ),
        (
            {"title": "t", "requirements": [{"qualification": "x", "projet": "p-2"}]},
            "requirements[0].projet: unknown; a requirement takes comparator, project,",
        ),
        (
            {"title": "t", "requirements": ["x:exists", {**RATE, "project": 7}]},
            "requirements[1].project: must be a project id, as text",
        ),
        (
            {
                "title": "t",
                "requirements": [{**RATE, "project": "a", "project_id": "a"}],
            },
            "requirements[0].project_id: give project or project_id, not both",
        ),
        ({"title": "t", "state": "closed"}, "state: must be active or paused"),
        (["title"], "expected a mapping"),
    ],
)
def test_a_mistake_in_a_project_file_names_its_field(data: Any, field: str) -> None:
    with pytest.raises(FileError) as err:
        parse_project(data)
    assert str(err.value).startswith(field) or field in str(err.value)


def test_a_file_that_is_not_yaml_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("title: [unclosed\n")
    with pytest.raises(CtlError) as err:
        load_project_file(path)
    assert err.value.exit_code == ExitCode.USAGE and "not valid YAML" in err.value.message


def test_the_example_project_file_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    wanted = load_project_file(root / "examples" / "project-dermatology.yaml")
    assert wanted.fields["pay_terms"]["amount_minor"] == 1250


def test_only_fields_that_differ_are_changed_whatever_the_order_of_requirements() -> None:
    fields = parse_project(FILE).fields
    assert differences(fields, record()) == {}
    changed = differences({**fields, "assignments_per_task": 5}, record())
    assert changed == {"assignments_per_task": 5}
    new_pay = parse_project({**FILE, "pay": {"per_submission": "15 USD"}}).fields
    assert list(differences(new_pay, record())) == ["pay_terms"]


def test_the_create_request_id_follows_the_content() -> None:
    fields = parse_project(FILE).fields
    same = parse_project(json.loads(json.dumps(FILE))).fields
    other = parse_project({**FILE, "slots": 4}).fields
    assert apply_request_id(fields) == apply_request_id(same) != apply_request_id(other)
    elsewhere = {**FILE, "requirements": [{**RATE, "project": "p-train"}]}
    here = parse_project({**FILE, "requirements": [RATE]}).fields
    assert apply_request_id(parse_project(elsewhere).fields) != apply_request_id(here)


def test_a_file_naming_no_project_keeps_the_request_id_crewctl_gave_it_before() -> None:
    fields = parse_project(FILE).fields
    before = {  # a requirement record had no project_id then
        **fields,
        "requirements": [
            {k: v for k, v in r.items() if k != "project_id"} for r in fields["requirements"]
        ],
    }
    canonical = json.dumps(before, sort_keys=True, separators=(",", ":"))
    assert apply_request_id(fields) == f"apply-{uuid.uuid5(_APPLY_IDS, canonical)}"


def test_a_measure_names_the_project_it_is_measured_in_or_none_for_this_one() -> None:
    data = {
        **FILE,
        "requirements": [
            RATE,
            {**RATE, "project": " p-train "},
            {**RATE, "project_id": "p-train"},
            {**RATE, "project": None},
        ],
    }
    found = parse_project(data).fields["requirements"]
    assert [r["project_id"] for r in found] == ["", "p-train", "p-train", ""]
    assert found[1] == {
        "qualification": "quality.acceptance_rate",
        "comparator": "greater_or_equal",
        "values": [70],
        "project_id": "p-train",
    }


def test_a_measure_of_the_project_itself_is_unchanged_once_stored_under_its_id() -> None:
    stored = {
        "qualification": "quality.acceptance_rate",
        "comparator": "COMPARATOR_GREATER_OR_EQUAL",
        "scores": [70],
        "project_id": "p-1",  # the dispatcher fills in the project's own id
    }
    current = record(requirements=[stored])
    here = parse_project({**FILE, "requirements": [RATE]}).fields
    assert differences(here, current) == {}
    named = parse_project({**FILE, "requirements": [{**RATE, "project": "p-1"}]}).fields
    assert differences(named, current) == {}
    elsewhere = parse_project({**FILE, "requirements": [{**RATE, "project": "p-train"}]}).fields
    assert list(differences(elsewhere, current)) == ["requirements"]


# --- project apply, against stand-in servers ------------------------------------------


def apply(crewctl: Crewctl, data: Any, **answers: Any) -> Result:
    """``crewctl --json project apply`` of a file holding ``data``."""
    (crewctl.cwd / "project.json").write_text(json.dumps(data))
    return crewctl.run("--json", "project", "apply", "-f", "project.json", **answers)


def applied(crewctl: Crewctl, data: Any, **answers: Any) -> Any:
    result = apply(crewctl, data, **answers)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


TWO_PAGES = [  # the match is on the second
    {"projects": [project(project_id="other", title="Other")], "next_page_token": "p2"},
    {"projects": [project()]},
]


def test_apply_finds_the_project_by_title_and_changes_only_what_differs(crewctl: Crewctl) -> None:
    changed = applied(
        crewctl,
        {**FILE, "slots": 5, "state": "paused"},
        ListProjects=TWO_PAGES,
        UpdateProject={"project": project(assignments_per_task=5, revision=5)},
        PauseProject={"project": project(state="PROJECT_STATE_PAUSED", revision=6)},
    )
    assert (changed["action"], changed["changed"]) == ("updated", ["assignments_per_task", "state"])
    assert crewctl.requests("ListProjects") == [
        {"page_size": 100},
        {"page_size": 100, "page_token": "p2"},
    ]
    assert crewctl.requests("UpdateProject") == [
        {
            "project": {"project_id": "p-1", "assignments_per_task": 5},
            "update_mask": "assignmentsPerTask",
            "expected_revision": "4",
        }
    ]
    assert methods(crewctl)[-1] == "PauseProject"
    assert crewctl.requests()[-1] == {"project_id": "p-1"}

    same = applied(crewctl, FILE, ListProjects=TWO_PAGES)
    assert (same["action"], same["changed"]) == ("unchanged", [])
    assert methods(crewctl) == ["ListProjects", "ListProjects"]


def test_apply_creates_when_no_project_has_the_title_and_needs_pay_for_it(
    crewctl: Crewctl,
) -> None:
    created = applied(
        crewctl,
        FILE,
        ListProjects={"projects": [project(title="Other")]},
        CreateProject={"project": project(project_id="p-new", revision=1)},
    )
    assert created["action"] == "created"
    [sent] = crewctl.requests("CreateProject")
    fields = cast(ProjectFields, {"instructions": "", **parse_project(FILE).fields})
    assert sent["request_id"] == apply_request_id(fields)
    assert sent.get("instructions", "") == ""  # "" is protobuf's unset: not in its JSON

    refused = apply(crewctl, {"title": "New"}, ListProjects={"projects": []})
    assert refused.exit_code == ExitCode.USAGE and "add pay" in refused.stderr
    assert methods(crewctl) == ["ListProjects"]


def test_apply_refuses_to_guess_between_two_projects_of_one_title(crewctl: Crewctl) -> None:
    pages = [
        {"projects": [project()], "next_page_token": "p2"},
        {"projects": [project(project_id="p-2")]},
    ]
    result = apply(crewctl, FILE, ListProjects=pages)
    assert result.exit_code == ExitCode.USAGE
    assert "project_id" in result.stderr and "p-2" in result.stderr
    assert methods(crewctl) == ["ListProjects", "ListProjects"]


def test_apply_by_project_id_renames(crewctl: Crewctl) -> None:
    renamed = applied(
        crewctl,
        {**FILE, "project_id": "p-1", "title": "Derm"},
        GetProject={"project": project()},
        UpdateProject={"project": project(title="Derm", revision=5)},
    )
    assert renamed["changed"] == ["title"]
    assert (methods(crewctl)[0], crewctl.requests()[0]) == ("GetProject", {"project_id": "p-1"})


def test_apply_sends_the_project_a_measure_is_measured_in(crewctl: Crewctl) -> None:
    data = {**FILE, "requirements": [{**RATE, "project": "p-train"}, RATE]}
    stored = [
        {
            "qualification": "quality.acceptance_rate",
            "comparator": "COMPARATOR_GREATER_OR_EQUAL",
            "scores": [70],
            "project_id": where,
        }
        for where in ("p-train", "p-new")
    ]
    created = applied(
        crewctl,
        data,
        ListProjects={"projects": []},
        CreateProject={"project": project(project_id="p-new", requirements=stored)},
    )
    [sent] = crewctl.requests("CreateProject")
    assert [r.get("project_id", "") for r in sent["requirements"]] == ["p-train", ""]
    assert [r["project_id"] for r in created["project"]["requirements"]] == ["p-train", "p-new"]

    now = project(project_id="p-new", requirements=stored)
    again = applied(crewctl, data, ListProjects={"projects": [now]})
    assert again["action"] == "unchanged"
