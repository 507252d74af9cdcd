"""crewctl's claim commands against the stand-in matcher with the contractor's token:
get, heartbeat, release, list, and what a refused heartbeat or claim advises."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from crewctl_golden.harness import Crewctl
from crewctl_task_data import (
    AT,
    CLAIM,
    CLAIM_PB,
    TASK_ID,
    TOKEN,
    called,
    claim_answer,
    client_crewctl,
    human,
)
from grpc_standin import Refusal

from crewline.client.errors import CrewlineError
from crewline.ctl.errors import ExitCode

crewctl = pytest.fixture(client_crewctl, name="crewctl")


def test_claim_commands_take_the_contractors_token(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    assert crewctl.json("claim", "get", "c-1", GetClaim=claim_answer()) == CLAIM
    assert called(crewctl) == [("matcher", "crewline.v1.WorkService/GetClaim", f"Bearer {TOKEN}")]
    crewctl.json("--credential", "tok", "claim", "release", "c-1", ReleaseClaim=claim_answer())
    assert called(crewctl) == [("matcher", "crewline.v1.WorkService/ReleaseClaim", "Bearer tok")]
    crewctl.env = {"CREWLINE_OPERATOR_CREDENTIAL": "op"}
    missing = crewctl.run("claim", "get", "c-1", GetClaim=claim_answer())
    assert missing.exit_code == ExitCode.CREDENTIAL and crewctl.requests() == []
    assert "no contractor token" in missing.stderr and "crewctl contractor token" in missing.stderr


def test_claim_get_shows_the_lease_and_the_pay_terms(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    text = human(crewctl, "claim", "get", "c-1", GetClaim=claim_answer())
    assert "max_deadline_at" in text and "30.00 USD per hour" in text
    assert crewctl.requests() == [{"claim_id": "c-1"}]


@pytest.mark.parametrize(("worked", "seconds"), [("1500", 1500), ("25m", 1500), ("0", 0)])
def test_heartbeat_sends_the_time_worked_in_seconds(
    crewctl: Crewctl, worked: str, seconds: int
) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    out = crewctl.json(
        "claim",
        "heartbeat",
        "c-1",
        "--worked",
        worked,
        HeartbeatClaim=claim_answer(worked_seconds=seconds),
    )
    sent = {"claim_id": "c-1", "worked_seconds": str(seconds)} if seconds else {"claim_id": "c-1"}
    assert crewctl.requests() == [sent]  # int64 in protobuf's JSON form: a string
    assert out["worked_seconds"] == seconds


def test_release_returns_the_ended_claim(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    released = claim_answer(
        status="CLAIM_STATUS_ENDED", end_reason="CLAIM_END_REASON_RELEASED", ended_at=AT
    )
    out = crewctl.json("claim", "release", "c-1", ReleaseClaim=released)
    assert (out["status"], out["end_reason"]) == ("ended", "released")
    assert crewctl.requests() == [{"claim_id": "c-1"}]
    assert "released" in human(crewctl, "claim", "release", "c-1", ReleaseClaim=released)


def test_claim_list_sends_its_filters_and_reads_every_page_with_all(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    two: list[dict[str, Any]] = [
        {"claims": [CLAIM_PB], "next_page_token": "1"},
        {"claims": [CLAIM_PB]},
    ]
    crewctl.json(
        "claim",
        "list",
        "--status",
        "active",
        "--task",
        TASK_ID,
        "--project",
        "p-1",
        ListMyClaims=two,
    )
    assert crewctl.requests() == [
        {"status": "CLAIM_STATUS_ACTIVE", "task_id": TASK_ID, "project_id": "p-1"}
    ]
    crewctl.json("claim", "list", "--status", "ended", "--task", TASK_ID, ListMyClaims=two)
    assert crewctl.requests() == [{"status": "CLAIM_STATUS_ENDED", "task_id": TASK_ID}]
    every = crewctl.json("claim", "list", "--all", ListMyClaims=two)
    assert every == {"claims": [CLAIM, CLAIM], "next_page_token": ""}
    assert crewctl.requests() == [{}, {"page_token": "1"}]
    text = human(crewctl, "claim", "list", ListMyClaims=two)
    assert "c-1" in text and "More: --page-token 1" in text


def test_a_refused_heartbeat_says_what_to_do_next(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    at_most = Refusal("FAILED_PRECONDITION", "no", "LEASE_AT_MAXIMUM")
    result = crewctl.run("claim", "heartbeat", "c-1", "--worked", "1h", HeartbeatClaim=at_most)
    assert result.exit_code == ExitCode.REFUSED
    assert "LEASE_AT_MAXIMUM" in result.stderr and "submit the work" in result.stderr
    cut = Refusal("FAILED_PRECONDITION", "no", "TASK_CANCELLED")
    refused = crewctl.run("claim", "heartbeat", "c-1", "--worked", "1h", HeartbeatClaim=cut)
    assert "still reviewed and paid" in refused.stderr


@pytest.mark.parametrize(
    ("code", "reason", "exit_code", "hint"),
    [
        ("PERMISSION_DENIED", "NOT_QUALIFIED", ExitCode.REFUSED, "qualifications you do not hold"),
        ("PERMISSION_DENIED", "BLOCKED", ExitCode.REFUSED, "blocked from this project"),
        ("PERMISSION_DENIED", None, ExitCode.CREDENTIAL, "check the contractor token"),
        ("FAILED_PRECONDITION", "NO_FREE_SLOT", ExitCode.REFUSED, "crewctl offers list"),
        ("UNAVAILABLE", "DEPENDENCY_UNAVAILABLE", ExitCode.UNAVAILABLE, "run the same command"),
    ],
)
def test_a_refused_claim_says_why_and_what_to_do(
    code: str, reason: str | None, exit_code: ExitCode, hint: str
) -> None:
    from crewline.ctl.errors import CONTRACTOR_TOKEN_HINT, from_rpc

    failure = CrewlineError(
        "no", code=grpc.StatusCode[code], reason=reason, service="matcher", address="a"
    )
    error = from_rpc(failure, credential_hint=CONTRACTOR_TOKEN_HINT)
    assert error.exit_code == exit_code and hint in error.message
