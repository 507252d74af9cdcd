"""crewctl, run as operators run it (a subprocess with --json), against the real services."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from flow import unique
from harness import SERVICES, Stack, run_crewctl
from stack import free_port

EXIT_CREDENTIAL = 3
EXIT_NOT_FOUND = 4
EXIT_UNAVAILABLE = 5


@dataclass(frozen=True)
class Outcome:
    code: int
    out: Any  # the parsed --json document; None when stdout is empty
    err: str


@dataclass(frozen=True)
class Crewctl:
    """``python -m crewline.ctl.main --json ...`` with the test stack's addresses."""

    env: dict[str, str]

    def with_env(self, **changes: str) -> Crewctl:
        return Crewctl({**self.env, **changes})

    async def __call__(self, *args: str) -> Outcome:
        code, out, err = await run_crewctl("--json", *args, env=self.env)
        return Outcome(code, json.loads(out) if out.strip() else None, err)

    async def ok(self, *args: str) -> Any:
        """The JSON document of a command that must succeed."""
        outcome = await self(*args)
        assert outcome.code == 0, f"crewctl {' '.join(args)} -> {outcome.code}: {outcome.err}"
        return outcome.out


@pytest.fixture
def crewctl(stack: Stack, operator_credential: str, tmp_path: Path) -> Crewctl:
    empty_config = tmp_path / "crewctl.toml"
    empty_config.write_text("")  # never the operator's own ~/.config/crewline/crewctl.toml
    env = {
        **os.environ,
        "CREWCTL_CONFIG": str(empty_config),
        "CREWLINE_OPERATOR_CREDENTIAL": operator_credential,
        **{
            f"CREWLINE_{name.upper()}_GRPC_ADDR": stack.services[name].grpc_addr
            for name in SERVICES
        },
    }
    return Crewctl(env)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_operator_creates_a_client_then_creates_lists_and_revokes_its_key(
    crewctl: Crewctl,
) -> None:
    client_id = unique("acme")
    client = await crewctl.ok("client", "create", client_id, "--name", "Acme Labs")
    assert (client["client_id"], client["display_name"]) == (client_id, "Acme Labs")

    request_id = unique("req")
    created = await crewctl.ok("client", "key", "create", client_id, "--request-id", request_id)
    key = created["key"]
    assert key["client_id"] == client_id and key["revoked_at"] is None
    assert created["secret"].startswith(f"crwk_{key['key_id']}_")

    again = await crewctl.ok("client", "key", "create", client_id, "--request-id", request_id)
    assert again["key"]["key_id"] == key["key_id"] and again["secret"] is None

    listed = await crewctl.ok("client", "key", "list", client_id)
    assert [(k["key_id"], k["revoked_at"]) for k in listed] == [(key["key_id"], None)]
    assert all("secret" not in k for k in listed)

    revoked = await crewctl.ok("client", "key", "revoke", key["key_id"])
    assert revoked["key_id"] == key["key_id"] and revoked["revoked_at"]

    [after] = await crewctl.ok("client", "key", "list", client_id)
    assert when(after["revoked_at"]) == when(revoked["revoked_at"])


async def test_key_create_without_request_id_makes_a_new_key_each_time(crewctl: Crewctl) -> None:
    client_id = unique("lab")
    await crewctl.ok("client", "create", client_id)

    first = await crewctl.ok("client", "key", "create", client_id)
    second = await crewctl.ok("client", "key", "create", client_id)

    assert first["key"]["key_id"] != second["key"]["key_id"]
    assert first["secret"] and second["secret"]


async def test_operator_creates_a_contractor_then_issues_and_revokes_a_token(
    crewctl: Crewctl,
) -> None:
    contractor_id = unique("dr-lee")
    made = await crewctl.ok("contractor", "create", contractor_id, "--name", "Dr. Ada Lee")
    assert (made["contractor_id"], made["display_name"]) == (contractor_id, "Dr. Ada Lee")

    issued = await crewctl.ok("contractor", "token", contractor_id, "--ttl", "3600")
    token = issued["token"]
    assert issued["secret"] and token["contractor_id"] == contractor_id
    assert token["revoked_at"] is None
    lifetime = when(token["expires_at"]) - when(token["issued_at"])
    assert abs(lifetime.total_seconds() - 3600) < 2

    revoked = await crewctl.ok("contractor", "revoke-token", token["token_id"])
    assert revoked["token_id"] == token["token_id"] and revoked["revoked_at"]


async def test_health_says_every_service_is_live_and_ready(crewctl: Crewctl, stack: Stack) -> None:
    report = await crewctl.ok("health")

    assert report["serving"] is True
    assert {row["service"]: row["address"] for row in report["services"]} == {
        name: stack.services[name].grpc_addr for name in SERVICES
    }
    assert [row["service"] for row in report["services"]] == [
        "dispatcher",
        "matcher",
        "ledger",
        "quality",
    ]
    assert {(row["liveness"], row["readiness"]) for row in report["services"]} == {
        ("SERVING", "SERVING")
    }


async def test_wrong_operator_credential_exits_3_with_the_reason_on_stderr(
    crewctl: Crewctl,
) -> None:
    wrong = crewctl.with_env(CREWLINE_OPERATOR_CREDENTIAL="not-the-operator-credential")

    outcome = await wrong("client", "create", unique("acme"))

    assert outcome.code == EXIT_CREDENTIAL, outcome.err
    assert outcome.out is None
    assert "UNAUTHENTICATED" in outcome.err or "PERMISSION_DENIED" in outcome.err


async def test_revoking_an_unknown_key_exits_4(crewctl: Crewctl) -> None:
    outcome = await crewctl("client", "key", "revoke", unique("no-such-key"))

    assert outcome.code == EXIT_NOT_FOUND, outcome.err
    assert "NOT_FOUND" in outcome.err and outcome.out is None


async def test_a_service_nobody_listens_on_exits_5(crewctl: Crewctl) -> None:
    nowhere = crewctl.with_env(CREWLINE_DISPATCHER_GRPC_ADDR=f"127.0.0.1:{free_port()}")

    outcome = await nowhere("client", "key", "list", "acme")

    assert outcome.code == EXIT_UNAVAILABLE, outcome.err
    assert "UNAVAILABLE" in outcome.err and "make up" in outcome.err
