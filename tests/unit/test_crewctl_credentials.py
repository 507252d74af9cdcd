"""Which credential crewctl names when a call is refused as unauthenticated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from crewctl_golden.harness import Crewctl
from crewctl_task_data import (
    TASK_ID,
    client_crewctl,
)
from grpc_standin import Refusal, StandIns

from crewline.client.errors import CrewlineError
from crewline.ctl.errors import ExitCode, from_rpc


@pytest.fixture
def crewctl(servers: StandIns, tmp_path: Path) -> Crewctl:
    return client_crewctl(servers, tmp_path)


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
