"""``crewctl deadline``: list and re-arm dead-lettered durable deadlines through the
kernel's OpsService, with the operator credential, against stand-in servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crewctl_golden.harness import Crewctl
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_standin import Refusal, StandIns

from crewline.ctl.errors import ExitCode
from crewline.ctl.records.ops import DeadlineRecord, deadline_record
from crewline.v1 import ops_service_pb2 as api

AT = "2026-01-02T03:04:05Z"
DEAD: DeadlineRecord = {
    "kind": "lease",
    "ref": "c1",
    "generation": 1,
    "state": "dead_lettered",
    "due_at": AT,
    "attempts": 8,
    "last_error": "RuntimeError: boom",
    "dead_at": AT,
    "fired_at": None,
    "correlation_id": "req-1",
}


# DEAD as the service sends it.
DEAD_PB = {**DEAD, "state": "DEADLINE_STATE_DEAD_LETTERED", "fired_at": None}
REARMED = {
    "deadline": {**DEAD_PB, "state": "DEADLINE_STATE_PENDING", "generation": 2, "attempts": 0},
    "outcome": "REARM_OUTCOME_ARMED",
}


@pytest.fixture
def crewctl(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(servers, env={"CREWLINE_OPERATOR_CREDENTIAL": "op-secret"}, cwd=tmp_path)


def test_dead_lists_the_dispatchers_dead_letters_with_the_operator_credential(
    crewctl: Crewctl,
) -> None:
    result = crewctl.run(
        "deadline",
        "dead",
        "--kind",
        "lease",
        ListDeadLetteredDeadlines={"deadlines": [DEAD_PB], "next_page_token": "t2"},
    )
    assert result.exit_code == 0, result.output
    [call] = crewctl.servers.received
    assert (call.server, call.authorization, call.request) == (
        "dispatcher",
        "Bearer op-secret",
        {"kind": "lease"},
    )
    assert "boom" in result.stdout
    assert "More: --page-token t2" in result.stdout


def test_dead_all_joins_every_page_in_one_json_document(crewctl: Crewctl) -> None:
    pages = [
        {"deadlines": [DEAD_PB], "next_page_token": "t2"},
        {"deadlines": [{**DEAD_PB, "ref": "c2"}]},
    ]
    for args in (("--json", "deadline", "dead", "--all"), ("deadline", "dead", "--all", "--json")):
        result = crewctl.run(*args, ListDeadLetteredDeadlines=pages)
        assert result.exit_code == 0, result.output
        page = json.loads(result.stdout)
        assert [d["ref"] for d in page["deadlines"]] == ["c1", "c2"]
        assert page["next_page_token"] == ""


def test_service_flag_and_its_address_choose_where_the_call_goes(crewctl: Crewctl) -> None:
    address = crewctl.servers.address("ledger")  # any server answers every service
    result = crewctl.run(
        "--matcher",
        address,
        "deadline",
        "dead",
        "--service",
        "matcher",
        ListDeadLetteredDeadlines={},
    )
    assert result.exit_code == 0, result.output
    assert [r.server for r in crewctl.servers.received] == ["ledger"]


def test_rearm_sends_kind_ref_and_the_due_time_and_prints_the_outcome(crewctl: Crewctl) -> None:
    result = crewctl.run(
        "--json", "deadline", "rearm", "lease", "c1", "--at", AT, RearmDeadline=REARMED
    )
    assert result.exit_code == 0, result.output
    assert crewctl.requests() == [{"kind": "lease", "ref": "c1", "due_at": AT}]
    rearmed = json.loads(result.stdout)
    assert (rearmed["outcome"], rearmed["deadline"]["generation"]) == ("armed", 2)
    result = crewctl.run("deadline", "rearm", "lease", "c1", RearmDeadline=REARMED)
    assert crewctl.requests() == [{"kind": "lease", "ref": "c1"}]
    assert "armed" in result.stdout


@pytest.mark.parametrize("at", ["tomorrow", "2026-01-02T03:04:05"])
def test_rearm_refuses_a_time_without_an_offset_before_calling(crewctl: Crewctl, at: str) -> None:
    result = crewctl.run("deadline", "rearm", "lease", "c1", "--at", at)
    assert result.exit_code == ExitCode.USAGE
    assert crewctl.requests() == []


def test_unknown_clock_exits_not_found_with_the_reason(crewctl: Crewctl) -> None:
    refused = Refusal("NOT_FOUND", "no deadline lease c9", "DEADLINE_NOT_FOUND")
    result = crewctl.run("deadline", "rearm", "lease", "c9", RearmDeadline=refused)
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "DEADLINE_NOT_FOUND" in result.stderr


def test_no_operator_credential_exits_3_without_calling(crewctl: Crewctl) -> None:
    crewctl.caller, crewctl.env = "none", {}
    result = crewctl.run("deadline", "dead")
    assert result.exit_code == ExitCode.CREDENTIAL
    assert crewctl.requests() == []


def test_deadline_messages_become_records() -> None:
    pb = api.Deadline(
        kind="lease",
        ref="c1",
        generation=3,
        attempts=2,
        state=api.DEADLINE_STATE_DEAD_LETTERED,
        last_error="boom",
        correlation_id="req-1",
        due_at=Timestamp(seconds=1_767_323_045),
    )
    pb.dead_at.CopyFrom(pb.due_at)
    assert deadline_record(pb) == {
        "kind": "lease",
        "ref": "c1",
        "generation": 3,
        "state": "dead_lettered",
        "due_at": AT,
        "attempts": 2,
        "last_error": "boom",
        "dead_at": AT,
        "fired_at": None,
        "correlation_id": "req-1",
    }
