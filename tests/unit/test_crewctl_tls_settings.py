"""crewctl's TLS settings reach every channel; a half setting or an unreadable file is a
usage error naming it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from crewctl_file_data import (
    client_crewctl,
    methods,
)
from crewctl_golden.harness import Crewctl

from crewline import local_certs
from crewline.ctl.errors import ExitCode
from crewline.local_certs import LocalCerts

crewctl = pytest.fixture(client_crewctl, name="crewctl")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> LocalCerts:
    return local_certs.ensure(tmp_path_factory.mktemp("certs"))


def test_tls_settings_reach_every_channel_and_a_half_setting_is_a_usage_error(
    crewctl: Crewctl, certs: LocalCerts
) -> None:
    # The stand-ins speak plaintext: a call over TLS fails its handshake and never arrives.
    listed: dict[str, Any] = {"ListProjects": {"projects": []}}
    assert crewctl.run("project", "list", **listed).exit_code == 0
    assert methods(crewctl) == ["ListProjects"]
    crewctl.env["CREWLINE_TLS_CA_FILE"] = str(certs.directory / "ca.pem")
    over_tls = crewctl.run("project", "list", **listed)
    assert over_tls.exit_code == ExitCode.UNAVAILABLE and "Tls handshake failed" in over_tls.stderr
    assert crewctl.servers.received == []

    health = crewctl.run("--json", "health", Check={"status": "SERVING"})  # every service
    assert health.exit_code == ExitCode.UNHEALTHY
    services = json.loads(health.stdout)["services"]
    assert {(s["service"], s["liveness"]) for s in services} == {
        ("dispatcher", "UNREACHABLE"),
        ("matcher", "UNREACHABLE"),
        ("ledger", "UNREACHABLE"),
        ("quality", "UNREACHABLE"),
    }
    assert crewctl.servers.received == []

    crewctl.env["CREWLINE_TLS_CERT_FILE"] = str(certs.directory / "client.pem")
    half = crewctl.run("project", "list", **listed)
    assert half.exit_code == ExitCode.USAGE and "CREWLINE_TLS_KEY_FILE" in half.stderr
    assert crewctl.servers.received == []


def test_a_tls_file_that_cannot_be_read_is_a_usage_error_naming_it(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_TLS_CA_FILE"] = str(crewctl.cwd / "missing-ca.pem")
    result = crewctl.run("project", "list", ListProjects={"projects": []})
    assert result.exit_code == ExitCode.USAGE, result.exception
    assert "CREWLINE_TLS_CA_FILE" in result.stderr and "missing-ca.pem" in result.stderr
    assert crewctl.servers.received == []
