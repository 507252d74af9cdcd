"""``crewctl deadline ...`` without servers: the calls made, where, output and exit codes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from google.protobuf.timestamp_pb2 import Timestamp

from crewline.ctl import deadlines
from crewline.ctl.api import RpcFailed
from crewline.ctl.app import Wiring
from crewline.ctl.deadlines import DeadlinePage, DeadlineRecord, Rearmed
from crewline.ctl.errors import ExitCode
from crewline.ctl.main import cli
from crewline.ctl.ops_rpc import deadline_record, rearm_request
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


@dataclass
class FakeOps:
    """Canned pages (by token) and answers; records every call and where it went."""

    pages: dict[str, DeadlinePage] = field(default_factory=dict)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    refusal: RpcFailed | None = None

    def connect(self, service: str, address: str, credential: str, tls: object) -> FakeOps:
        self.calls.append(("connect", service, address, credential))
        return self

    def list_dead_lettered(self, kind: str, page_size: int, page_token: str) -> DeadlinePage:
        self.calls.append(("list", kind, page_size, page_token))
        if self.refusal:
            raise self.refusal
        return self.pages.get(page_token, {"deadlines": [], "next_page_token": ""})

    def rearm(self, kind: str, ref: str, due_at: str | None) -> Rearmed:
        self.calls.append(("rearm", kind, ref, due_at))
        if self.refusal:
            raise self.refusal
        deadline: DeadlineRecord = {**DEAD, "kind": kind, "ref": ref, "state": "pending"}
        return {"deadline": {**deadline, "generation": 2, "attempts": 0}, "outcome": "armed"}


@pytest.fixture
def ops(monkeypatch: pytest.MonkeyPatch) -> FakeOps:
    fake = FakeOps()
    monkeypatch.setattr(deadlines, "connect", fake.connect)
    return fake


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    env = {"CREWLINE_OPERATOR_CREDENTIAL": "op-secret"} if env is None else env
    wiring = Wiring(env=env, cwd=tmp_path, home=tmp_path)
    return CliRunner().invoke(cli, list(args), obj=wiring, prog_name="crewctl")


def test_dead_lists_the_dispatchers_dead_letters_with_the_operator_credential(
    ops: FakeOps, tmp_path: Path
) -> None:
    ops.pages[""] = {"deadlines": [DEAD], "next_page_token": "t2"}
    result = run(tmp_path, "deadline", "dead", "--kind", "lease")
    assert result.exit_code == 0, result.output
    assert ops.calls == [
        ("connect", "dispatcher", "127.0.0.1:50051", "op-secret"),
        ("list", "lease", 0, ""),
    ]
    assert "boom" in result.stdout
    assert "More: --page-token t2" in result.stdout


def test_dead_all_joins_every_page_in_one_json_document(ops: FakeOps, tmp_path: Path) -> None:
    ops.pages[""] = {"deadlines": [DEAD], "next_page_token": "t2"}
    ops.pages["t2"] = {"deadlines": [{**DEAD, "ref": "c2"}], "next_page_token": ""}
    for args in (("--json", "deadline", "dead", "--all"), ("deadline", "dead", "--all", "--json")):
        result = run(tmp_path, *args)
        assert result.exit_code == 0, result.output
        page = json.loads(result.stdout)
        assert [d["ref"] for d in page["deadlines"]] == ["c1", "c2"]
        assert page["next_page_token"] == ""


def test_service_flag_and_its_address_choose_where_the_call_goes(
    ops: FakeOps, tmp_path: Path
) -> None:
    result = run(tmp_path, "--matcher", "10.0.0.5:6000", "deadline", "dead", "--service", "matcher")
    assert result.exit_code == 0, result.output
    assert ops.calls[0] == ("connect", "matcher", "10.0.0.5:6000", "op-secret")


def test_rearm_sends_kind_ref_and_the_due_time_and_prints_the_outcome(
    ops: FakeOps, tmp_path: Path
) -> None:
    result = run(tmp_path, "--json", "deadline", "rearm", "lease", "c1", "--at", AT)
    assert result.exit_code == 0, result.output
    assert ops.calls[-1] == ("rearm", "lease", "c1", "2026-01-02T03:04:05+00:00")
    rearmed = json.loads(result.stdout)
    assert (rearmed["outcome"], rearmed["deadline"]["generation"]) == ("armed", 2)
    result = run(tmp_path, "deadline", "rearm", "lease", "c1")
    assert ops.calls[-1][1:] == ("lease", "c1", None)
    assert "armed" in result.stdout


@pytest.mark.parametrize("at", ["tomorrow", "2026-01-02T03:04:05"])
def test_rearm_refuses_a_time_without_an_offset_before_calling(
    ops: FakeOps, tmp_path: Path, at: str
) -> None:
    result = run(tmp_path, "deadline", "rearm", "lease", "c1", "--at", at)
    assert result.exit_code == ExitCode.USAGE
    assert ops.calls == []


def test_unknown_clock_exits_not_found_with_the_reason(ops: FakeOps, tmp_path: Path) -> None:
    ops.refusal = RpcFailed(
        service="dispatcher",
        address="127.0.0.1:50051",
        code="NOT_FOUND",
        details="no deadline lease c9",
        reason="DEADLINE_NOT_FOUND",
    )
    result = run(tmp_path, "deadline", "rearm", "lease", "c9")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "DEADLINE_NOT_FOUND" in result.stderr


def test_no_operator_credential_exits_3_without_calling(ops: FakeOps, tmp_path: Path) -> None:
    result = run(tmp_path, "deadline", "dead", env={})
    assert result.exit_code == ExitCode.CREDENTIAL
    assert ops.calls == []


def test_deadline_messages_become_records_and_requests() -> None:
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
    assert not rearm_request("lease", "c1", None).HasField("due_at")
    assert rearm_request("lease", "c1", "2026-01-02T03:04:05+00:00").due_at == pb.due_at
