"""``crewctl deadletters``: list and replay a service's dead letters through the
kernel's OpsService, with the operator credential, against stand-in servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crewctl_golden.harness import Crewctl
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_standin import Refusal, StandIns

from crewline.ctl.errors import ExitCode
from crewline.ctl.records.ops import DeadLetterRecord, dead_letter_record
from crewline.v1 import ops_service_pb2 as api

AT = "2026-01-02T03:04:05Z"
EVENT_ID = "3f2b8c1e-9d4a-4c0e-8f5b-2a7d6e1c9b30"
DEAD: DeadLetterRecord = {
    "event_id": EVENT_ID,
    "topic": "crewline.tasks.v1",
    "partition": 2,
    "offset": 41,
    "type": "crewline.v1.SubmissionAccepted",
    "error": "PermanentEventError: currency XYZ is unknown",
    "dead_at": AT,
    "correlation_id": "req-1",
    "replays": 0,
}


@pytest.fixture
def crewctl(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(servers, env={"CREWLINE_OPERATOR_CREDENTIAL": "op-secret"}, cwd=tmp_path)


def replayed(outcome: str, error: str = DEAD["error"]) -> dict[str, object]:
    letter = {**DEAD, "replays": 1, "error": error}
    return {"outcome": f"REPLAY_OUTCOME_{outcome.upper()}", "dead_letter": letter}


def test_list_asks_the_ledger_by_default_with_the_operator_credential(crewctl: Crewctl) -> None:
    result = crewctl.run(
        "deadletters",
        "list",
        "--topic",
        "crewline.tasks.v1",
        ListDeadLetters={"dead_letters": [DEAD], "next_page_token": "t2"},
    )
    assert result.exit_code == 0, result.output
    [call] = crewctl.servers.received
    assert (call.server, call.authorization) == ("ledger", "Bearer op-secret")
    assert call.request == {"topic": "crewline.tasks.v1"}
    assert EVENT_ID in result.stdout and "currency XYZ" in result.stdout
    assert "More: --page-token t2" in result.stdout


def test_list_all_joins_every_page_in_one_json_document(crewctl: Crewctl) -> None:
    second: DeadLetterRecord = {**DEAD, "event_id": "e2", "offset": 42}
    pages = [{"dead_letters": [DEAD], "next_page_token": "t2"}, {"dead_letters": [second]}]
    for args in (
        ("--json", "deadletters", "list", "--all"),
        ("deadletters", "list", "--all", "--json"),
    ):
        result = crewctl.run(*args, ListDeadLetters=pages)
        assert result.exit_code == 0, result.output
        page = json.loads(result.stdout)
        assert page == {"dead_letters": [DEAD, second], "next_page_token": ""}
        assert crewctl.requests() == [{}, {"page_token": "t2"}]


def test_list_passes_page_size_and_token(crewctl: Crewctl) -> None:
    result = crewctl.run(
        "deadletters", "list", "--page-size", "10", "--page-token", "t9", ListDeadLetters={}
    )
    assert result.exit_code == 0, result.output
    assert crewctl.requests() == [{"page_size": 10, "page_token": "t9"}]
    assert "Dead letters: 0" in result.stdout


def test_service_flag_and_its_address_choose_where_the_call_goes(crewctl: Crewctl) -> None:
    address = crewctl.servers.address("matcher")  # any server answers every service
    result = crewctl.run(
        "--dispatcher",
        address,
        "deadletters",
        "list",
        "--service",
        "dispatcher",
        ListDeadLetters={},
    )
    assert result.exit_code == 0, result.output
    assert [r.server for r in crewctl.servers.received] == ["matcher"]


def test_replay_applied_prints_the_outcome_and_exits_zero(crewctl: Crewctl) -> None:
    result = crewctl.run(
        "--json", "deadletters", "replay", EVENT_ID, ReplayDeadLetter=replayed("applied")
    )
    assert result.exit_code == 0, result.output
    [call] = crewctl.servers.received
    assert (call.server, call.request) == ("ledger", {"event_id": EVENT_ID})
    found = json.loads(result.stdout)
    assert (found["outcome"], found["dead_letter"]["replays"]) == ("applied", 1)
    human = crewctl.run(
        "deadletters",
        "replay",
        EVENT_ID,
        "--service",
        "matcher",
        ReplayDeadLetter=replayed("already_applied"),
    )
    assert human.exit_code == 0 and "already_applied" in human.stdout
    assert [r.server for r in crewctl.servers.received] == ["matcher"]


def test_replay_that_fails_again_prints_the_new_error_and_exits_1(crewctl: Crewctl) -> None:
    again = replayed("failed", "PermanentEventError: still unknown")
    result = crewctl.run("deadletters", "replay", EVENT_ID, "--json", ReplayDeadLetter=again)
    assert result.exit_code == ExitCode.REFUSED
    assert json.loads(result.stdout)["dead_letter"]["error"] == "PermanentEventError: still unknown"
    assert "still unknown" in result.stderr


def test_unknown_event_exits_not_found_with_the_reason(crewctl: Crewctl) -> None:
    refused = Refusal("NOT_FOUND", f"no dead letter {EVENT_ID}", "DEAD_LETTER_NOT_FOUND")
    result = crewctl.run("deadletters", "replay", EVENT_ID, ReplayDeadLetter=refused)
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "DEAD_LETTER_NOT_FOUND" in result.stderr


def test_bad_input_refused_by_the_service_exits_1_naming_the_field(crewctl: Crewctl) -> None:
    refused = Refusal(
        "INVALID_ARGUMENT", "topic: must be one of crewline.tasks.v1, ...", "INVALID_FIELD"
    )
    result = crewctl.run("deadletters", "list", "--topic", "tasks", ListDeadLetters=refused)
    assert result.exit_code == ExitCode.REFUSED
    assert "topic:" in result.stderr


def test_no_operator_credential_exits_3_without_calling(crewctl: Crewctl) -> None:
    crewctl.caller, crewctl.env = "none", {}
    for args in (("deadletters", "list"), ("deadletters", "replay", EVENT_ID)):
        result = crewctl.run(*args)
        assert result.exit_code == ExitCode.CREDENTIAL
        assert crewctl.requests() == []


def test_replay_needs_an_event_id(crewctl: Crewctl) -> None:
    result = crewctl.run("deadletters", "replay")
    assert result.exit_code == ExitCode.USAGE
    assert crewctl.requests() == []


def test_dead_letter_messages_become_records() -> None:
    pb = api.DeadLetter(
        event_id=EVENT_ID,
        topic="crewline.tasks.v1",
        partition=2,
        offset=41,
        type="crewline.v1.SubmissionAccepted",
        error="PermanentEventError: currency XYZ is unknown",
        dead_at=Timestamp(seconds=1_767_323_045),
        correlation_id="req-1",
        replays=0,
    )
    assert dead_letter_record(pb) == DEAD
    assert dead_letter_record(api.DeadLetter(event_id=EVENT_ID))["dead_at"] is None
