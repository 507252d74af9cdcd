"""crewctl and answer specs: a project file's answer_spec section (each mistake naming its
key), what counts as a change of spec, the help's example, and specs as crewctl shows
them on projects, offers and claims."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from crewctl_file_data import FILE, client_crewctl, methods, project, record
from crewctl_golden.harness import Crewctl
from google.protobuf import json_format

from crewline.ctl.answers import accepts, parse_answer_spec, same_spec
from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.project_file import (
    FILE_FORMAT,
    FileError,
    differences,
    load_project_file,
    parse_project,
)
from crewline.ctl.records.answers import (
    AnswerSpecRecord,
    answer_spec_of,
    answer_spec_pb,
)
from crewline.v1 import project_pb2
from crewline.v1 import work_service_pb2 as work_api

ROOT = Path(__file__).resolve().parents[2]
crewctl = pytest.fixture(client_crewctl, name="crewctl")

SECTION = {
    "fields": [
        {"name": "severity", "prompt": "How severe?", "choice": {"labels": ["mild", "severe"]}},
        {"name": "signs", "optional": True, "choice": {"labels": ["rash"], "multiple": True}},
        {"name": "confidence", "number": {"min": 0, "max": 1, "step": 0.1}},
        {"name": "notes", "text": None},
        {
            "name": "quality",
            "rubric": {"criteria": [{"name": "focus", "scale": {"min": 1, "max": 5, "step": 1}}]},
        },
    ]
}
# SECTION as the dispatcher sends it back, numbered, with the text limit filled in.
SPEC_PB = {
    "version": 3,
    "fields": [
        {"name": "severity", "prompt": "How severe?", "choice": {"labels": ["mild", "severe"]}},
        {"name": "signs", "optional": True, "choice": {"labels": ["rash"], "multiple": True}},
        {"name": "confidence", "number": {"max": 1.0, "step": 0.1}},
        {"name": "notes", "text": {"max_length": 100_000}},
        {
            "name": "quality",
            "rubric": {"criteria": [{"name": "focus", "scale": {"min": 1, "max": 5, "step": 1}}]},
        },
    ],
}


def test_a_section_reads_into_a_record_with_every_default_spelled_out() -> None:
    spec = parse_answer_spec(SECTION)
    assert spec["version"] == 0
    severity, signs, confidence, notes, quality = spec["fields"]
    assert severity == {
        "name": "severity",
        "prompt": "How severe?",
        "optional": False,
        "choice": {"labels": ["mild", "severe"], "multiple": False},
    }
    assert (signs["optional"], signs["choice"]["multiple"]) == (True, True)
    assert confidence["number"] == {"min": 0, "max": 1, "step": 0.1}
    assert notes["text"] == {"min_length": 0, "max_length": 0}
    assert quality["rubric"]["criteria"] == [
        {"name": "focus", "description": "", "scale": {"min": 1, "max": 5, "step": 1}}
    ]
    assert [accepts(f)[1] for f in spec["fields"]] == [
        "one of mild | severe",
        "one or more of rash",
        "0-1 step 0.1",
        "0-100,000 characters",
        "focus 1-5 step 1",
    ]


def test_the_record_becomes_the_message_and_the_message_the_record() -> None:
    message = answer_spec_pb(parse_answer_spec(SECTION))
    assert [f.WhichOneof("kind") for f in message.fields] == [
        "choice",
        "choice",
        "number",
        "text",
        "rubric",
    ]
    assert message.fields[2].number == project_pb2.NumberField(min=0, max=1, step=0.1)
    sent = project_pb2.Project(answer_spec=json_format.ParseDict(SPEC_PB, project_pb2.AnswerSpec()))
    read = answer_spec_of(sent)
    assert read is not None and read["version"] == 3
    assert same_spec(read) == same_spec(parse_answer_spec(SECTION))
    assert answer_spec_of(project_pb2.Project()) is None
    emptied = work_api.Claim(answer_spec=project_pb2.AnswerSpec(version=4))  # removed: none
    assert answer_spec_of(emptied) is None


@pytest.mark.parametrize(
    ("section", "key"),
    [
        (["severity"], "answer_spec: expected a mapping of fields"),
        ({"field": []}, "answer_spec.field: unknown; use fields"),
        ({}, "answer_spec.fields: required"),
        ({"fields": {"name": "x"}}, "answer_spec.fields: expected a list"),
        ({"fields": [{"name": "x"}]}, "answer_spec.fields[0]: give one of choice, number"),
        (
            {"fields": [{"name": "x", "text": {}, "number": {"min": 0, "max": 1}}]},
            "answer_spec.fields[0]: give one of choice, number, text, rubric, not number and text",
        ),
        ({"fields": [{"text": {}}]}, "answer_spec.fields[0].name: required"),
        ({"fields": [{"name": 7, "text": {}}]}, "answer_spec.fields[0].name: must be text"),
        ({"fields": [{"name": "x", "colour": 1}]}, "answer_spec.fields[0].colour: unknown"),
        (
            {"fields": [{"name": "x", "optional": "yes", "text": {}}]},
            "answer_spec.fields[0].optional: must be true or false",
        ),
        (
            {"fields": [{"name": "x", "choice": {"labels": "mild"}}]},
            "answer_spec.fields[0].choice.labels: expected a list",
        ),
        (
            {"fields": [{"name": "x", "choice": {"labels": ["maybe", True]}}]},
            "answer_spec.fields[0].choice.labels[1]: must be text, not True (quote it)",
        ),
        (
            {"fields": [{"name": "x", "choice": {"multiple": True}}]},
            "answer_spec.fields[0].choice.labels: required",
        ),
        (
            {"fields": [{"name": "x", "number": {"max": 5}}]},
            "answer_spec.fields[0].number.min: required",
        ),
        (
            {"fields": [{"name": "x", "number": {"min": 0, "max": 5, "step": "1"}}]},
            "answer_spec.fields[0].number.step: must be a number",
        ),
        (
            {"fields": [{"name": "x", "number": {"min": 0, "max": True}}]},
            "answer_spec.fields[0].number.max: must be a number",
        ),
        (
            {"fields": [{"name": "x", "text": {"max_length": 2.5}}]},
            "answer_spec.fields[0].text.max_length: must be a whole number",
        ),
        (
            {"fields": [{"name": "x", "rubric": {"criteria": [{"name": "a"}]}}]},
            "answer_spec.fields[0].rubric.criteria[0].scale: required",
        ),
        (
            {"fields": [{"name": "x", "rubric": {"criteria": [{"scale": {"min": 1, "max": 2}}]}}]},
            "answer_spec.fields[0].rubric.criteria[0].name: required",
        ),
        (
            {"fields": [{"name": "x", "rubric": {}}]},
            "answer_spec.fields[0].rubric.criteria: expected a list",
        ),
    ],
)
def test_a_mistake_in_the_section_names_its_key(section: Any, key: str) -> None:
    with pytest.raises(FileError) as err:
        parse_project({"title": "t", "answer_spec": section})
    assert str(err.value).startswith(key), str(err.value)


def test_an_empty_section_is_a_spec_without_fields_which_removes_one() -> None:
    for empty in (None, {"fields": []}, {"fields": None}):
        assert parse_project({"title": "t", "answer_spec": empty}).fields["answer_spec"] == {
            "version": 0,
            "fields": [],
        }


def test_a_bad_section_in_a_file_is_a_usage_error_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "title: t\nanswer_spec:\n  fields:\n    - {name: ok, choice: {labels: [yes, no]}}\n"
    )
    with pytest.raises(CtlError) as err:
        load_project_file(path)
    assert err.value.exit_code == ExitCode.USAGE
    assert "answer_spec.fields[0].choice.labels[0]: must be text, not True" in err.value.message


def test_the_help_shows_a_file_crewctl_reads_with_a_spec_of_each_kind() -> None:
    wanted = parse_project(yaml.safe_load(FILE_FORMAT.removeprefix("\b\n")))
    spec = wanted.fields["answer_spec"]
    kinds = {k for f in spec["fields"] for k in ("choice", "number", "text", "rubric") if k in f}
    assert kinds == {"choice", "number", "text", "rubric"}


def test_the_example_file_with_a_spec_is_valid() -> None:
    wanted = load_project_file(ROOT / "examples" / "project-answer-spec.yaml")
    spec = wanted.fields["answer_spec"]
    assert [f["name"] for f in spec["fields"]] == ["severity", "confidence", "notes", "quality"]


def _spec(**changes: Any) -> AnswerSpecRecord:
    spec = parse_answer_spec(SECTION)
    return {**spec, **changes}  # type: ignore[typeddict-item]


def test_the_same_shape_is_no_change_whatever_its_version_and_number_spelling() -> None:
    current = record(answer_spec=SPEC_PB)
    assert current["answer_spec"] is not None and current["answer_spec"]["version"] == 3
    wanted = parse_project({**FILE, "answer_spec": SECTION}).fields
    assert differences(wanted, current) == {}  # 1 == 1.0, text max_length 0 == 100,000
    other = json.loads(json.dumps(SECTION))
    other["fields"][0]["choice"]["labels"].append("moderate")
    changed = differences(parse_project({**FILE, "answer_spec": other}).fields, current)
    assert list(changed) == ["answer_spec"]
    reordered = {"fields": list(reversed(SECTION["fields"]))}
    assert list(differences(parse_project({**FILE, "answer_spec": reordered}).fields, current))
    removed = parse_project({**FILE, "answer_spec": {"fields": []}}).fields
    assert list(differences(removed, current)) == ["answer_spec"]
    assert differences(removed, record()) == {}  # none to remove


def test_apply_sets_a_new_spec_by_its_path_and_removes_one_with_no_fields(
    crewctl: Crewctl,
) -> None:
    (crewctl.cwd / "p.json").write_text(json.dumps({**FILE, "answer_spec": SECTION}))
    out = crewctl.json(
        "project",
        "apply",
        "-f",
        "p.json",
        ListProjects={"projects": [project()]},
        UpdateProject={"project": project(answer_spec=SPEC_PB, revision=5)},
    )
    assert (out["action"], out["changed"]) == ("updated", ["answer_spec"])
    assert out["project"]["answer_spec"]["version"] == 3
    [sent] = crewctl.requests("UpdateProject")
    assert sent["update_mask"] == "answerSpec"
    assert [f["name"] for f in sent["project"]["answer_spec"]["fields"]] == [
        "severity",
        "signs",
        "confidence",
        "notes",
        "quality",
    ]

    (crewctl.cwd / "p.json").write_text(json.dumps({**FILE, "answer_spec": {"fields": []}}))
    out = crewctl.json(
        "project",
        "apply",
        "-f",
        "p.json",
        ListProjects={"projects": [project(answer_spec=SPEC_PB)]},
        UpdateProject={"project": project(answer_spec={"version": 4}, revision=6)},
    )
    assert (out["changed"], out["project"]["answer_spec"]) == (["answer_spec"], None)
    [sent] = crewctl.requests("UpdateProject")
    assert sent == {
        "project": {"project_id": "p-1", "answer_spec": {}},
        "update_mask": "answerSpec",
        "expected_revision": "4",
    }
    assert methods(crewctl) == ["ListProjects", "UpdateProject"]


def test_offers_carry_the_spec_a_claim_granted_now_would_take(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = "eyJ.contractor.token"  # a contractor's command
    offer = {"task_id": "t-1", "project_id": "p-1", "answer_spec": SPEC_PB}
    out = crewctl.json("offers", "list", ListOffers={"offers": [offer, {"task_id": "t-2"}]})
    first, second = out["offers"]
    assert first["answer_spec"]["fields"][0]["choice"]["labels"] == ["mild", "severe"]
    assert second["answer_spec"] is None
