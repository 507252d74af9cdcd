"""crewctl against a dispatcher that requires mutual TLS: every kind of channel crewctl
opens (the operator's, a client's, the OpsService's) speaks TLS from the environment, and
without the client certificate the call is refused at the handshake (exit 5)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_tls import make_certs, running, tls_env

from crewline.local_certs import LocalCerts

from flow import unique
from harness import ServiceProcess, run_crewctl
from stack import run_secrets

EXIT_UNAVAILABLE = 5


@pytest.fixture(scope="module")
def crewctl_certs(tmp_path_factory: pytest.TempPathFactory) -> LocalCerts:
    return make_certs(tmp_path_factory.mktemp("crewctl-tls") / "certs")


@pytest.fixture(scope="module")
async def dispatcher(crewctl_certs: LocalCerts, log_dir: Path) -> AsyncIterator[ServiceProcess]:
    proc = await running("crewctl_mtls", tls_env(crewctl_certs, mutual=True), log_dir)
    yield proc
    assert proc.terminate() == 0


async def crewctl(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    return await run_crewctl("--json", *args, env=env)


def client_env(dispatcher: ServiceProcess, certs: LocalCerts, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "crewctl.toml"
    config.write_text("")
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CREWLINE_")}
    return {
        **inherited,
        "CREWCTL_CONFIG": str(config),
        "CREWLINE_OPERATOR_CREDENTIAL": run_secrets().operator_credential(),
        "CREWLINE_DISPATCHER_GRPC_ADDR": dispatcher.grpc_addr,
        "CREWLINE_TLS_CA_FILE": str(certs.ca_file),
        "CREWLINE_TLS_CERT_FILE": str(certs.client_cert_file),
        "CREWLINE_TLS_KEY_FILE": str(certs.client_key_file),
    }


async def test_crewctl_speaks_mutual_tls_from_the_environment(
    dispatcher: ServiceProcess, crewctl_certs: LocalCerts, tmp_path: Path
) -> None:
    env = client_env(dispatcher, crewctl_certs, tmp_path)
    client_id = unique("tls-acme")

    code, out, err = await crewctl(env, "client", "key", "create", client_id)
    assert code == 4, err  # served over mTLS: the client does not exist yet
    code, out, err = await crewctl(env, "client", "create", client_id)
    assert code == 0, err
    code, out, err = await crewctl(env, "client", "key", "create", client_id)
    assert code == 0, err
    secret = json.loads(out)["secret"]
    code, out, err = await crewctl({**env, "CREWLINE_CREDENTIAL": secret}, "project", "list")
    assert (code, json.loads(out)["projects"]) == (0, []), err
    code, out, err = await crewctl(env, "deadletters", "list", "--service", "dispatcher")
    assert code == 0 and json.loads(out)["dead_letters"] == [], err


async def test_without_the_client_certificate_crewctl_exits_5(
    dispatcher: ServiceProcess, crewctl_certs: LocalCerts, tmp_path: Path
) -> None:
    env = client_env(dispatcher, crewctl_certs, tmp_path)
    del env["CREWLINE_TLS_CERT_FILE"], env["CREWLINE_TLS_KEY_FILE"]

    code, out, err = await crewctl(env, "client", "create", unique("tls-acme"))

    assert code == EXIT_UNAVAILABLE and out == ""
    assert "UNAVAILABLE" in err
