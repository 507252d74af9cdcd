"""``crewctl deadletters ...`` without servers: the calls made, where, output and exit codes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from google.protobuf.timestamp_pb2 import Timestamp

from crewline.ctl import deadletters
from crewline.ctl.api import RpcFailed
from crewline.ctl.app import Wiring
from crewline.ctl.deadletters import DeadLetterPage, DeadLetterRecord, Replayed
from crewline.ctl.errors import ExitCode
from crewline.ctl.main import cli
from crewline.ctl.ops_rpc import dead_letter_record
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


@dataclass
class FakeOps:
    """Canned pages (by token) and a canned replay outcome; records every call."""

    pages: dict[str, DeadLetterPage] = field(default_factory=dict)
    outcome: str = "applied"
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    refusal: RpcFailed | None = None

    def connect(self, service: str, address: str, credential: str, tls: object) -> FakeOps:
        self.calls.append(("connect", service, address, credential))
        return self

    def list_dead_letters(self, topic: str, page_size: int, page_token: str) -> DeadLetterPage:
        self.calls.append(("list", topic, page_size, page_token))
        if self.refusal:
            raise self.refusal
        return self.pages.get(page_token, {"dead_letters": [], "next_page_token": ""})

    def replay(self, event_id: str) -> Replayed:
        self.calls.append(("replay", event_id))
        if self.refusal:
            raise self.refusal
        error = "PermanentEventError: still unknown" if self.outcome == "failed" else DEAD["error"]
        letter: DeadLetterRecord = {**DEAD, "event_id": event_id, "replays": 1, "error": error}
        return {"outcome": self.outcome, "dead_letter": letter}


@pytest.fixture
def ops(monkeypatch: pytest.MonkeyPatch) -> FakeOps:
    fake = FakeOps()
    monkeypatch.setattr(deadletters, "connect", fake.connect)
    return fake


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    env = {"CREWLINE_OPERATOR_CREDENTIAL": "op-secret"} if env is None else env
    wiring = Wiring(env=env, cwd=tmp_path, home=tmp_path)
    return CliRunner().invoke(cli, list(args), obj=wiring, prog_name="crewctl")


def test_list_asks_the_ledger_by_default_with_the_operator_credential(
    ops: FakeOps, tmp_path: Path
) -> None:
    ops.pages[""] = {"dead_letters": [DEAD], "next_page_token": "t2"}
    result = run(tmp_path, "deadletters", "list", "--topic", "crewline.tasks.v1")
    assert result.exit_code == 0, result.output
    assert ops.calls == [
        ("connect", "ledger", "127.0.0.1:50053", "op-secret"),
        ("list", "crewline.tasks.v1", 0, ""),
    ]
    assert EVENT_ID in result.stdout and "currency XYZ" in result.stdout
    assert "More: --page-token t2" in result.stdout


def test_list_all_joins_every_page_in_one_json_document(ops: FakeOps, tmp_path: Path) -> None:
    second: DeadLetterRecord = {**DEAD, "event_id": "e2", "offset": 42}
    ops.pages[""] = {"dead_letters": [DEAD], "next_page_token": "t2"}
    ops.pages["t2"] = {"dead_letters": [second], "next_page_token": ""}
    for args in (
        ("--json", "deadletters", "list", "--all"),
        ("deadletters", "list", "--all", "--json"),
    ):
        result = run(tmp_path, *args)
        assert result.exit_code == 0, result.output
        page = json.loads(result.stdout)
        assert page == {"dead_letters": [DEAD, second], "next_page_token": ""}


def test_list_passes_page_size_and_token(ops: FakeOps, tmp_path: Path) -> None:
    result = run(tmp_path, "deadletters", "list", "--page-size", "10", "--page-token", "t9")
    assert result.exit_code == 0, result.output
    assert ops.calls[-1] == ("list", "", 10, "t9")
    assert "Dead letters: 0" in result.stdout


def test_service_flag_and_its_address_choose_where_the_call_goes(
    ops: FakeOps, tmp_path: Path
) -> None:
    result = run(
        tmp_path, "--dispatcher", "10.0.0.5:6000", "deadletters", "list", "--service", "dispatcher"
    )
    assert result.exit_code == 0, result.output
    assert ops.calls[0] == ("connect", "dispatcher", "10.0.0.5:6000", "op-secret")


def test_replay_applied_prints_the_outcome_and_exits_zero(ops: FakeOps, tmp_path: Path) -> None:
    result = run(tmp_path, "--json", "deadletters", "replay", EVENT_ID)
    assert result.exit_code == 0, result.output
    assert ops.calls == [
        ("connect", "ledger", "127.0.0.1:50053", "op-secret"),
        ("replay", EVENT_ID),
    ]
    replayed = json.loads(result.stdout)
    assert (replayed["outcome"], replayed["dead_letter"]["replays"]) == ("applied", 1)
    ops.outcome = "already_applied"
    human = run(tmp_path, "deadletters", "replay", EVENT_ID, "--service", "matcher")
    assert human.exit_code == 0 and "already_applied" in human.stdout
    assert ops.calls[-2][:2] == ("connect", "matcher")


def test_replay_that_fails_again_prints_the_new_error_and_exits_1(
    ops: FakeOps, tmp_path: Path
) -> None:
    ops.outcome = "failed"
    result = run(tmp_path, "deadletters", "replay", EVENT_ID, "--json")
    assert result.exit_code == ExitCode.REFUSED
    assert json.loads(result.stdout)["dead_letter"]["error"] == "PermanentEventError: still unknown"
    assert "still unknown" in result.stderr


def test_unknown_event_exits_not_found_with_the_reason(ops: FakeOps, tmp_path: Path) -> None:
    ops.refusal = RpcFailed(
        service="ledger",
        address="127.0.0.1:50053",
        code="NOT_FOUND",
        details=f"no dead letter {EVENT_ID}",
        reason="DEAD_LETTER_NOT_FOUND",
    )
    result = run(tmp_path, "deadletters", "replay", EVENT_ID)
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "DEAD_LETTER_NOT_FOUND" in result.stderr


def test_bad_input_refused_by_the_service_exits_1_naming_the_field(
    ops: FakeOps, tmp_path: Path
) -> None:
    ops.refusal = RpcFailed(
        service="ledger",
        address="127.0.0.1:50053",
        code="INVALID_ARGUMENT",
        details="topic: must be one of crewline.tasks.v1, ...",
        reason="INVALID_FIELD",
    )
    result = run(tmp_path, "deadletters", "list", "--topic", "tasks")
    assert result.exit_code == ExitCode.REFUSED
    assert "topic:" in result.stderr


def test_no_operator_credential_exits_3_without_calling(ops: FakeOps, tmp_path: Path) -> None:
    for args in (("deadletters", "list"), ("deadletters", "replay", EVENT_ID)):
        result = run(tmp_path, *args, env={})
        assert result.exit_code == ExitCode.CREDENTIAL
    assert ops.calls == []


def test_replay_needs_an_event_id(ops: FakeOps, tmp_path: Path) -> None:
    result = run(tmp_path, "deadletters", "replay")
    assert result.exit_code == ExitCode.USAGE
    assert ops.calls == []


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
