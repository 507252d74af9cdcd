"""The SDK's answer specs: the builders make the messages the proto describes, a spec
travels with CreateProject and UpdateProject and comes back typed on projects, offers
and claims, and a contractor hands in a dict as compact JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from grpc_standin import Refusal, StandIns

from crewline.client import Endpoints, InvalidArgument, build, sync
from crewline.client import results as r
from crewline.v1 import project_pb2
from crewline.v1 import work_service_pb2 as work_api

ROOT = Path(__file__).resolve().parents[2]
SPEC = build.answer_spec(
    build.choice_field("severity", ["mild", "severe"], prompt="How severe?"),
    build.choice_field("signs", ["rash", "itch", "scale"], multiple=True, optional=True),
    build.number_field("confidence", min=0, max=1, step=0.1),
    build.text_field("notes", min_length=1, max_length=2000, optional=True),
    build.rubric_field(
        "quality",
        [
            build.criterion("accuracy", min=1, max=5, step=1, description="Is it right?"),
            build.criterion("clarity", min=0, max=10),
        ],
    ),
)
SPEC_JSON = {"version": 3, **json_format.MessageToDict(SPEC, preserving_proto_field_name=True)}


def test_the_builders_make_one_field_of_each_kind() -> None:
    severity, signs, confidence, notes, quality = SPEC.fields
    assert [f.WhichOneof("kind") for f in SPEC.fields] == [
        "choice",
        "choice",
        "number",
        "text",
        "rubric",
    ]
    assert (severity.name, severity.prompt, list(severity.choice.labels)) == (
        "severity",
        "How severe?",
        ["mild", "severe"],
    )
    assert (severity.choice.multiple, severity.optional) == (False, False)
    assert (signs.choice.multiple, signs.optional) == (True, True)
    assert (confidence.number.min, confidence.number.max, confidence.number.step) == (0, 1, 0.1)
    assert (notes.text.min_length, notes.text.max_length) == (1, 2000)
    assert [c.name for c in quality.rubric.criteria] == ["accuracy", "clarity"]
    assert quality.rubric.criteria[0].description == "Is it right?"
    assert quality.rubric.criteria[1].scale == project_pb2.NumberField(min=0, max=10, step=0)
    assert SPEC.version == 0  # the dispatcher numbers versions


def test_a_lone_string_is_not_taken_for_a_list_of_labels() -> None:
    with pytest.raises(TypeError, match="labels must be a list"):
        build.choice_field("severity", "mild")


def test_a_spec_read_is_typed_prints_on_one_line_and_goes_back_as_it_came() -> None:
    spec = r.AnswerSpec.from_pb(json_format.ParseDict(SPEC_JSON, project_pb2.AnswerSpec()))
    assert spec.version == 3 and spec.to_pb() == json_format.ParseDict(
        SPEC_JSON, project_pb2.AnswerSpec()
    )
    severity = spec.field("severity")
    assert severity is not None and severity.choice == r.ChoiceField(labels=("mild", "severe"))
    assert severity.kind is severity.choice and spec.field("nope") is None
    quality = spec.fields[4].rubric
    assert quality is not None and quality.criteria[1].scale == r.NumberField(min=0, max=10)
    assert str(spec) == (
        "answer spec v3: severity: one of mild|severe; signs: one or more of"
        " rash|itch|scale, optional; confidence: a number from 0 to 1, step 0.1; notes:"
        " text of 1-2,000 characters, optional; quality: a rubric of accuracy 1-5 step 1,"
        " clarity 0-10"
    )
    assert repr(spec) == "AnswerSpec(version=3, fields=<5>)"


def test_a_field_is_one_kind() -> None:
    with pytest.raises(ValueError, match="give one of choice, number, text, rubric"):
        r.AnswerField(name="x", text=r.TextField(), number=r.NumberField(min=0, max=1))
    unknown = r.AnswerField.from_pb(project_pb2.AnswerField(name="x"))  # a newer kind
    assert unknown.kind is None and "does not know" in str(unknown)


def _project(**changes: Any) -> dict[str, Any]:
    return {"project_id": "p-1", "title": "Derm", "revision": 4, **changes}


@pytest.fixture
def client(servers: StandIns) -> Any:
    endpoints = Endpoints(dispatcher=servers.address("dispatcher"))
    with sync.Client(credential="crwk_k1_secret", endpoints=endpoints) as found:
        yield found


@pytest.fixture
def contractor(servers: StandIns) -> Any:
    endpoints = Endpoints(matcher=servers.address("matcher"))
    with sync.Contractor(credential="golden.contractor.token", endpoints=endpoints) as found:
        yield found


def test_create_project_sends_the_spec_and_the_project_reads_it(
    servers: StandIns, client: sync.Client
) -> None:
    servers.play({"CreateProject": [{"project": _project(answer_spec=SPEC_JSON)}]})
    project = client.create_project(
        title="Derm", pay_terms=build.per_submission(build.usd(5)), answer_spec=SPEC
    )
    [sent] = servers.received
    assert sent.request["answer_spec"] == json_format.MessageToDict(
        SPEC, preserving_proto_field_name=True
    )
    assert project.answer_spec is not None and project.answer_spec.version == 3
    assert project.answer_spec.to_pb() == json_format.ParseDict(SPEC_JSON, project_pb2.AnswerSpec())

    # A typed spec (read from one project) declares another's; none sends none.
    servers.play({"CreateProject": [{"project": _project()}]})
    copied = client.create_project(
        title="Copy", pay_terms=build.per_submission(build.usd(5)), answer_spec=project.answer_spec
    )
    plain = client.create_project(title="Plain", pay_terms=build.per_submission(build.usd(5)))
    first, second = (received.request for received in servers.received)
    assert first["answer_spec"]["fields"] == SPEC_JSON["fields"]
    assert "answer_spec" not in second
    assert copied.answer_spec is None and plain.answer_spec is None


def test_an_update_sets_or_removes_the_spec_by_its_path(
    servers: StandIns, client: sync.Client
) -> None:
    removed = _project(answer_spec={"version": 4})  # removing is a version too: no fields
    servers.play(
        {"UpdateProject": [{"project": _project(answer_spec=SPEC_JSON)}, {"project": removed}]}
    )
    change = project_pb2.Project(project_id="p-1", answer_spec=SPEC)
    updated = client.update_project(change, paths=["answer_spec"], expected_revision=4)
    assert updated.answer_spec is not None and len(updated.answer_spec.fields) == 5
    emptied = client.update_project(
        project_pb2.Project(project_id="p-1", answer_spec=build.answer_spec()),
        paths=["answer_spec"],
    )
    assert emptied.answer_spec is None  # no fields: any bytes are a result
    first, second = (received.request for received in servers.received)
    assert (
        first["update_mask"] == "answerSpec" and len(first["project"]["answer_spec"]["fields"]) == 5
    )
    assert second["update_mask"] == "answerSpec" and "fields" not in second["project"].get(
        "answer_spec", {}
    )


def test_offers_and_claims_carry_the_spec_a_contractor_answers_to(
    servers: StandIns, contractor: sync.Contractor
) -> None:
    servers.play(
        {
            "ListOffers": [
                {"offers": [{"task_id": "t-1", "answer_spec": SPEC_JSON}, {"task_id": "t-2"}]}
            ],
            "ClaimTask": [{"claim": {"claim_id": "c-1", "answer_spec": SPEC_JSON}}],
        }
    )
    with_spec, without = contractor.offers()
    assert with_spec.answer_spec is not None and with_spec.answer_spec.version == 3
    assert without.answer_spec is None
    claim = contractor.claim("t-1")
    assert claim.answer_spec == with_spec.answer_spec


def test_a_dict_result_goes_as_compact_json_and_bytes_as_they_are(
    servers: StandIns, contractor: sync.Contractor
) -> None:
    servers.play({"SubmitWork": [{"claim": {"claim_id": "c-1"}}]})
    answer = {
        "severity": "mild",
        "confidence": 0.9,
        "notes": "Érythème",
        "quality": {"accuracy": 4, "clarity": 7},
    }
    contractor.submit("c-1", answer, worked_seconds=60)
    contractor.submit("c-1", b"\x00raw")
    contractor.submit("c-1", "text")
    sent = [_result(each.request) for each in servers.received]
    assert (
        sent[0]
        == (
            '{"severity":"mild","confidence":0.9,"notes":"Érythème",'
            '"quality":{"accuracy":4,"clarity":7}}'
        ).encode()
    )
    assert json.loads(sent[0]) == answer
    assert sent[1:] == [b"\x00raw", b"text"]


def _result(request: dict[str, Any]) -> bytes:
    message = json_format.ParseDict(request, work_api.SubmitWorkRequest())
    return message.result


def test_a_result_that_is_not_json_is_refused_before_it_is_sent(
    servers: StandIns, contractor: sync.Contractor
) -> None:
    servers.play({"SubmitWork": [{"claim": {"claim_id": "c-1"}}]})
    with pytest.raises(ValueError, match="not JSON compliant"):
        contractor.submit("c-1", {"confidence": float("nan")})
    assert servers.received == []


def test_work_that_does_not_fit_is_refused_naming_the_field(
    servers: StandIns, contractor: sync.Contractor
) -> None:
    field = "result.severity"
    refusal = Refusal(
        "INVALID_ARGUMENT",
        f"{field}: 'moderate' is not one of mild|severe",
        "ANSWER_DOES_NOT_FIT",
        {"field": field},
    )
    servers.play({"SubmitWork": [refusal]})
    with pytest.raises(InvalidArgument) as refused:
        contractor.submit("c-1", {"severity": "moderate"})
    assert (refused.value.reason, refused.value.field) == ("ANSWER_DOES_NOT_FIT", field)
    assert "'moderate' is not one of mild|severe" in str(refused.value)


def test_the_docs_example_declares_a_spec_then_a_new_version(servers: StandIns) -> None:
    """examples/sdk_answer_spec.py, run as a reader runs it, against a stand-in dispatcher."""
    created = _project(answer_spec=SPEC_JSON)
    servers.play({"CreateProject": [{"project": created}], "UpdateProject": [{"project": created}]})
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREWLINE_")}
    env.update(
        CREWLINE_DISPATCHER_GRPC_ADDR=servers.address("dispatcher"),
        CREWLINE_CREDENTIAL="crwk_k1_secret",
    )
    run = subprocess.run(
        [sys.executable, "examples/sdk_answer_spec.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("project p-1: answer spec v3: severity: one of mild|severe;")
    create, update = (received.request for received in servers.received)
    labels = [f.get("choice", {}).get("labels") for f in create["answer_spec"]["fields"]]
    assert labels[0] == ["benign", "watch", "refer"]
    assert [f["name"] for f in create["answer_spec"]["fields"]] == [
        "severity",
        "confidence",
        "notes",
        "quality",
    ]
    assert update["update_mask"] == "answerSpec" and update["expected_revision"] == "4"
    new = update["project"]["answer_spec"]["fields"][0]["choice"]["labels"]
    assert new == ["benign", "watch", "refer", "urgent"]
