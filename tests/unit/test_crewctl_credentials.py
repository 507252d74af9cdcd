"""Which credential crewctl uses and names: the one a command's audience needs (an
account named: the operator's), the one a refused call was made with, and another
audience's credential refused plainly before any call."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from crewctl_golden.harness import Crewctl
from crewctl_golden.records import CLAIM_ID
from crewctl_task_data import (
    TASK_ID,
    client_crewctl,
)
from grpc_standin import Refusal, StandIns

from crewline.client.errors import CrewlineError
from crewline.ctl.errors import ExitCode, from_rpc

crewctl = pytest.fixture(client_crewctl, name="crewctl")


@pytest.mark.parametrize(
    ("args", "method", "hint"),
    [
        (("claim", "get", "c-1"), "GetClaim", "contractor token"),
        (("task", "get", TASK_ID), "GetTask", "client's API key"),
        (("project", "pause", "p-1"), "PauseProject", "client's API key"),
    ],
)
def test_an_unauthenticated_call_names_the_credential_it_used(
    crewctl: Crewctl, args: tuple[str, ...], method: str, hint: str
) -> None:
    refused: dict[str, Any] = {method: Refusal("UNAUTHENTICATED", "no")}
    result = crewctl.run(*args, **refused)
    assert result.exit_code == ExitCode.CREDENTIAL
    assert hint in result.stderr and "operator credential" not in result.stderr


def test_operator_refusals_still_point_at_the_operator_credential() -> None:
    failure = CrewlineError(
        "no", code=grpc.StatusCode.UNAUTHENTICATED, service="dispatcher", address="h:1"
    )
    assert "operator credential" in from_rpc(failure).format_message()


# --- by the command's audience; said in a refusal; another audience's refused ---------


def test_naming_an_account_uses_the_operator_credential_over_a_client_key(
    servers: StandIns,
) -> None:
    both = {"CREWLINE_OPERATOR_CREDENTIAL": "crwo_both", "CREWLINE_CREDENTIAL": "crwk_x_y"}
    crewctl = Crewctl(servers, caller="none", env=dict(both))

    named = crewctl.run("--json", "statement", "--account", "contractor:dr-lee", ListStatement={})
    assert named.exit_code == 0, named.stderr
    assert crewctl.authorizations() == ["Bearer crwo_both"]

    own = crewctl.run("--json", "statement", ListStatement={})
    assert own.exit_code == 0, own.stderr
    assert crewctl.authorizations() == ["Bearer crwk_x_y"]


def test_a_refused_call_says_which_credential_it_was_made_with(servers: StandIns) -> None:
    operator = Crewctl(servers, caller="operator")
    client = Crewctl(servers, caller="client")
    gone = Refusal("NOT_FOUND", "not found", "NOT_FOUND")

    as_operator = operator.run("contractor", "get", "x", GetContractor=gone)
    as_client = client.run("task", "get", "x", GetTask=gone)

    assert "as the operator, with the credential from $CREWLINE_OPERATOR_CREDENTIAL]" in (
        as_operator.stderr
    )
    assert "with the client key from $CREWLINE_CREDENTIAL]" in as_client.stderr


def test_a_client_command_with_only_the_operator_credential_says_so(servers: StandIns) -> None:
    crewctl = Crewctl(servers, caller="operator")

    result = crewctl.run("task", "get", "x")

    assert result.exit_code == ExitCode.CREDENTIAL
    assert "this is a client's command" in result.stderr
    assert "only the operator credential was found" in result.stderr
    assert crewctl.requests() == []


def test_an_operator_command_with_only_a_client_key_says_so(servers: StandIns) -> None:
    crewctl = Crewctl(servers, caller="client")

    result = crewctl.run("contractor", "get", "dr-lee")

    assert result.exit_code == ExitCode.CREDENTIAL
    message = " ".join(result.stderr.split())
    assert "this is an operator's command" in message
    assert "only a client's API key was found (in $CREWLINE_CREDENTIAL)" in message
    assert "looked, in order, at: --credential, $CREWLINE_OPERATOR_CREDENTIAL" in message
    assert crewctl.requests() == []


def test_a_contractor_command_given_a_client_key_says_so(servers: StandIns) -> None:
    crewctl = Crewctl(servers, caller="none")

    result = crewctl.run("claim", "get", CLAIM_ID, "--credential", "crwk_0123_secret")

    assert result.exit_code == ExitCode.CREDENTIAL
    assert "and --credential holds a client's API key" in result.stderr
    assert crewctl.requests() == []


@pytest.mark.parametrize(
    ("args", "answers"),
    [
        (("earnings", "--contractor", "dr-lee"), {"GetEarnings": {}}),
        (("statement", "--account", "contractor:dr-lee"), {"ListStatement": {}}),
    ],
)
def test_the_operator_credential_in_the_credential_flag_reads_someone_elses_ledger(
    servers: StandIns, args: tuple[str, ...], answers: dict[str, Any]
) -> None:
    crewctl = Crewctl(servers, caller="none")

    result = crewctl.run("--json", *args, "--credential", "crwo_given", **answers)

    assert result.exit_code == 0, result.stderr
    assert [r.method.rsplit("/", 1)[1] for r in servers.received] == list(answers)
    assert crewctl.authorizations() == ["Bearer crwo_given"]


def test_an_operator_command_takes_the_operator_credential_from_crewline_credential(
    servers: StandIns,
) -> None:
    crewctl = Crewctl(servers, caller="none", env={"CREWLINE_CREDENTIAL": "crwo_in_caller_env"})
    gone = Refusal("NOT_FOUND", "not found", "NOT_FOUND")

    result = crewctl.run("contractor", "get", "dr-lee", GetContractor=gone)

    assert result.exit_code == ExitCode.NOT_FOUND, result.stderr
    assert crewctl.authorizations() == ["Bearer crwo_in_caller_env"]
    assert "as the operator, with the credential from $CREWLINE_CREDENTIAL]" in result.stderr


def test_the_operator_credential_env_comes_before_crewline_credential(servers: StandIns) -> None:
    both = {"CREWLINE_OPERATOR_CREDENTIAL": "crwo_first", "CREWLINE_CREDENTIAL": "crwo_second"}
    crewctl = Crewctl(servers, caller="none", env=dict(both))

    assert crewctl.run("contractor", "get", "dr-lee", GetContractor={}).exit_code == 0
    assert crewctl.authorizations() == ["Bearer crwo_first"]
