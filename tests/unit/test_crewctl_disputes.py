"""crewctl's disputes of gold keys: the correction file (what crewctl refuses before any
call, and the key it sends as a gold file's), what each command sends as each audience
and reads back, the idempotency key and its retry line, and what is refused before a
call, against stand-in servers."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from crewctl_golden.dispute_cases import CORRECTED, OPEN, SEEN_BY_CLIENT, WATCHED
from crewctl_golden.harness import Crewctl
from grpc_standin import Echo, Refusal, StandIns

from crewline.client.results import DisputeState
from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.gold_file import read_correction
from crewline.ctl.records import disputes as records


@pytest.fixture
def as_contractor(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(servers, caller="contractor", cwd=tmp_path)


def source(text: str, name: str = "key.json") -> io.StringIO:
    found = io.StringIO(text)
    found.name = name
    return found


def test_crewctls_words_are_the_sdks_enum() -> None:
    assert list(records.DISPUTE_STATES) == [member.value.lower() for member in DisputeState]


def test_a_correction_file_reads_as_a_gold_files_answer_and_rules() -> None:
    read = read_correction(
        source(
            '{"answer": {"severity": "severe"},'
            ' "rules": {"severity": {"also_accepted": ["moderate"]}}}'
        )
    )
    assert read.answer == {"severity": "severe"}
    assert (read.also_accepted, read.tolerance) == ({"severity": ["moderate"]}, {})
    assert read_correction(source('{"answer": {"n": 1}, "rules": null}')).tolerance == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "key.json: not JSON"),
        ('[{"answer": {}}]', "key.json: expected a JSON object"),
        ('{"severity": "severe"}', 'key.json: unknown field "severity"'),
        ('{"answer": {}}', 'key.json: "answer" must be an object'),
        ('{"answer": "severe"}', 'key.json: "answer" must be an object'),
        ('{"answer": {"n": 1}, "rules": {"n": {"tolerance": -1}}}', '"rules.n.tolerance" must be'),
    ],
)
def test_what_crewctl_cannot_send_is_refused_as_a_usage_error(text: str, problem: str) -> None:
    with pytest.raises(CtlError) as err:
        read_correction(source(text))
    assert err.value.exit_code == ExitCode.USAGE
    assert problem in str(err.value)


def test_a_bad_file_sends_nothing(as_client: Crewctl) -> None:
    (as_client.cwd / "key.json").write_text('{"answer": []}')
    result = as_client.run("dispute", "resolve", "d-1", "--correct-file", "key.json")
    assert result.exit_code == ExitCode.USAGE and '"answer" must be an object' in result.stderr
    assert as_client.requests() == []


def test_a_client_corrects_a_key_from_a_file_or_stdin_and_dismisses(as_client: Crewctl) -> None:
    (as_client.cwd / "key.json").write_text(
        json.dumps({"answer": {"severity": "severe", "confidence": 0.8},
                    "rules": {"confidence": {"tolerance": 0.1}}})
    )  # fmt: skip
    got = as_client.json(
        "dispute", "resolve", "d-2", "--correct-file", "key.json", "--note", "right",
        ResolveDispute={"dispute": CORRECTED},
    )  # fmt: skip
    assert as_client.requests("ResolveDispute") == [
        {
            "dispute_id": "d-2",
            "correct": {  # as a gold file's key is sent: compact, keys sorted
                "answer_json": '{"confidence":0.8,"severity":"severe"}',
                "rules": [{"field": "confidence", "tolerance": 0.1}],
            },
            "note": "right",
        }
    ]
    assert got["state"] == "corrected"
    assert got["accepted_submission_ids"] == CORRECTED["accepted_submission_ids"]
    assert got["overturned_sanction_ids"] == CORRECTED["overturned_sanction_ids"]

    piped = as_client.run(
        "--json", "dispute", "resolve", "d-2", "--correct-file", "-",
        input='{"answer": {"severity": "severe"}}',
        ResolveDispute={"dispute": CORRECTED},
    )  # fmt: skip
    assert piped.exit_code == 0, piped.stderr
    assert as_client.requests() == [
        {"dispute_id": "d-2", "correct": {"answer_json": '{"severity":"severe"}'}}
    ]
    dismissed = {**SEEN_BY_CLIENT, "state": "DISPUTE_STATE_DISMISSED"}
    kept = as_client.json(
        "dispute", "resolve", "d-3", "--dismiss", ResolveDispute={"dispute": dismissed}
    )
    assert kept["state"] == "dismissed"
    assert as_client.requests() == [{"dispute_id": "d-3", "dismiss": True}]
    for flags in ((), ("--dismiss", "--correct-file", "key.json")):
        refused = as_client.run("dispute", "resolve", "d-2", *flags)
        assert refused.exit_code == ExitCode.USAGE and "exactly one" in refused.stderr
        assert as_client.requests() == []


def test_only_a_client_resolves_refused_before_any_call(
    as_contractor: Crewctl, as_operator: Crewctl
) -> None:
    for caller in (as_contractor, as_operator):
        refused = caller.run("dispute", "resolve", "d-1", "--dismiss")
        assert refused.exit_code == ExitCode.CREDENTIAL
        assert (
            "this is a client's command" in refused.stderr and "dispute resolve" in refused.stderr
        )
        assert caller.requests() == []


def test_a_dispute_is_filed_with_a_key_made_or_given_and_retried_with_it(
    as_contractor: Crewctl,
) -> None:
    filed = Echo(lambda request: {"dispute": {**OPEN, "task_id": request["task_id"]}})
    got = as_contractor.json(
        "dispute", "file", "--task", "t-9", "--note", "wrong key", DisputeGoldKey=filed
    )
    assert (got["task_id"], got["state"], got["gold_id"]) == ("t-9", "open", None)
    [sent] = as_contractor.requests()
    assert re.fullmatch(r"crewctl-[0-9a-f-]{36}", sent.pop("idempotency_key"))
    assert sent == {"task_id": "t-9", "note": "wrong key"}

    down = Refusal("UNAVAILABLE", "connection refused")
    result = as_contractor.run(
        "dispute", "file", "--task", "t-8", "--note", "n", "--key", "k-1", DisputeGoldKey=down
    )
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "crewctl dispute file --task t-8 --note ... --key k-1" in result.stderr
    assert {r["idempotency_key"] for r in as_contractor.requests()} == {"k-1"}
    # A refusal that surely arrived is no reason to retry: no retry line.
    gone = Refusal("NOT_FOUND", "task t-7 not found")
    result = as_contractor.run(
        "dispute", "file", "--task", "t-7", "--note", "n", DisputeGoldKey=gone
    )
    assert result.exit_code == ExitCode.NOT_FOUND and "To retry" not in result.stderr


def test_a_contractors_disputes_are_their_own_whole(as_contractor: Crewctl) -> None:
    page = as_contractor.json("disputes", ListMyDisputes={"disputes": [OPEN]})
    assert page["disputes"][0]["note"] == OPEN["note"] and page["disputes"][0]["gold_id"] is None
    assert as_contractor.requests() == [{}]
    for flags in (("--state", "open"), ("--project", "p-1")):
        refused = as_contractor.run("disputes", *flags)
        assert refused.exit_code == ExitCode.USAGE and "its own disputes" in refused.stderr
    assert as_contractor.requests() == []


def test_a_client_names_a_project_and_an_operator_reads_any(
    as_client: Crewctl, as_operator: Crewctl
) -> None:
    refused = as_client.run("disputes")
    assert refused.exit_code == ExitCode.USAGE and "--project" in refused.stderr
    page = as_client.json(
        "disputes", "--project", "p-1", "--state", "dismissed", ListDisputes={"disputes": []}
    )
    assert page == {"disputes": [], "next_page_token": ""}
    assert as_client.requests() == [{"project_id": "p-1", "state": "DISPUTE_STATE_DISMISSED"}]
    read = as_operator.json("disputes", ListDisputes={"disputes": [SEEN_BY_CLIENT]})
    assert read["disputes"][0]["gold_id"] == SEEN_BY_CLIENT["gold_id"]
    assert as_operator.requests() == [{}]
    assert as_operator.authorizations() == ["Bearer crwo_golden-operator"]


def test_watch_shows_a_dispute_of_the_project(as_client: Crewctl) -> None:
    event = {"cursor": "c-1", "project_id": "p-1", "dispute_changed": {"dispute": WATCHED}}
    result = as_client.run("--json", "watch", "--limit", "1", Watch=[{"events": [event]}])
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert (record["type"], record["task_id"], record["project_id"]) == (
        "dispute_changed",
        "",
        "p-1",
    )
    assert record["event"]["dispute"]["state"] == "corrected"
    assert (
        record["event"]["dispute"]["accepted_submission_ids"] == WATCHED["accepted_submission_ids"]
    )
    lines = as_client.run("watch", "--limit", "1", Watch=[{"events": [event]}]).stdout
    assert "dispute_changed      project=p-1  dispute_id=" in lines
    assert "contractor_id=dr-lee" in lines and "state=corrected" in lines
