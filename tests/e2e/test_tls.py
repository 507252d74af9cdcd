"""gRPC over TLS: a dispatcher started with the certificates `crewline.cli certs` makes.

Under mutual TLS only a client with a certificate from the stack's CA gets through; a
client without one, with one from another CA, or in plaintext, is refused at the
handshake (UNAVAILABLE: no RPC, not even health, reaches the service). With TLS alone,
a client that trusts the CA connects without a certificate of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crewline.client.metadata import bearer_metadata
from crewline.client.tls import ClientTls, aio_channel
from crewline.local_certs import LocalCerts
from crewline.v1 import client_admin_service_pb2 as client_admin
from crewline.v1 import client_admin_service_pb2_grpc

from flow import unique
from harness import SERVICES, ServiceProcess, service_env
from stack import (
    ROOT,
    create_topics,
    fresh_database,
    kafka_settings,
    run_script,
    run_secrets,
    start_infra,
)


def make_certs(directory: Path) -> LocalCerts:
    """Certificates made the way `make up` makes them: by the CLI."""
    subprocess.run(
        [sys.executable, "-m", "crewline.cli", "certs", str(directory)], cwd=ROOT, check=True
    )
    return LocalCerts(directory, ())


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> LocalCerts:
    return make_certs(tmp_path_factory.mktemp("tls") / "certs")


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCerts:
    return make_certs(tmp_path_factory.mktemp("tls") / "other")


def tls_env(certs: LocalCerts, *, mutual: bool) -> dict[str, str]:
    """The server's TLS settings, and the client's (read by the harness's health wait)."""
    env = {
        "CREWLINE_GRPC_TLS_CERT_FILE": str(certs.server_cert_file),
        "CREWLINE_GRPC_TLS_KEY_FILE": str(certs.server_key_file),
        "CREWLINE_TLS_CA_FILE": str(certs.ca_file),
    }
    if mutual:
        env["CREWLINE_GRPC_TLS_CLIENT_CA_FILE"] = str(certs.ca_file)
        env["CREWLINE_TLS_CERT_FILE"] = str(certs.client_cert_file)
        env["CREWLINE_TLS_KEY_FILE"] = str(certs.client_key_file)
    return env


async def start_dispatcher(
    label: str, extra: dict[str, str], log_dir: Path, *, provision: bool = True
) -> ServiceProcess:
    """A dispatcher of its own (database and Kafka namespace), started but not waited for.
    ``provision=False``: neither is made, for a dispatcher that must not get that far."""
    kafka = kafka_settings(label)
    database = "crewline_never_made"
    if provision:
        start_infra()
        await create_topics(kafka)
        database = (await fresh_database(label)).database
    env, addr, metrics_url = service_env("dispatcher", kafka.namespace, database)
    log = log_dir / f"{label}.log"
    proc = ServiceProcess("dispatcher", {**env, **extra}, log, addr, metrics_url)
    proc.start()
    return proc


async def running(label: str, extra: dict[str, str], log_dir: Path) -> ServiceProcess:
    proc = await start_dispatcher(label, extra, log_dir)
    # The harness's wait, over TLS as the client variables in ``extra`` say.
    status = await proc.wait_serving()
    assert status == "SERVING", proc.log_text()[-3000:]
    return proc


@pytest.fixture(scope="module")
async def mtls_dispatcher(certs: LocalCerts, log_dir: Path) -> AsyncIterator[ServiceProcess]:
    proc = await running("tls_mutual", tls_env(certs, mutual=True), log_dir)
    yield proc
    assert proc.terminate() == 0


@pytest.fixture(scope="module")
async def tls_dispatcher(certs: LocalCerts, log_dir: Path) -> AsyncIterator[ServiceProcess]:
    proc = await running("tls_only", tls_env(certs, mutual=False), log_dir)
    yield proc
    assert proc.terminate() == 0


async def health(channel: grpc.aio.Channel) -> str:
    reply = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(), timeout=20
    )
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def create_client(channel: grpc.aio.Channel) -> str:
    """An authenticated RPC: the operator creates a client."""
    client_id = unique("tls-client")
    reply = await client_admin_service_pb2_grpc.ClientAdminServiceStub(channel).CreateClient(
        client_admin.CreateClientRequest(client_id=client_id, display_name="TLS"),
        metadata=bearer_metadata(run_secrets().operator_credential()),
        timeout=20,
    )
    assert reply.client.client_id == client_id
    return client_id


async def refusal(channel: grpc.aio.Channel) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await health(channel)
    return caught.value


async def test_client_with_a_certificate_from_the_ca_is_served_under_mutual_tls(
    mtls_dispatcher: ServiceProcess, certs: LocalCerts
) -> None:
    tls = ClientTls(certs.ca_file, certs.client_cert_file, certs.client_key_file)
    async with aio_channel(mtls_dispatcher.grpc_addr, tls) as channel:
        assert await health(channel) == "SERVING"
        await create_client(channel)


async def test_client_without_a_certificate_is_refused_under_mutual_tls(
    mtls_dispatcher: ServiceProcess, certs: LocalCerts
) -> None:
    async with aio_channel(mtls_dispatcher.grpc_addr, ClientTls(certs.ca_file)) as channel:
        err = await refusal(channel)
    assert err.code() == grpc.StatusCode.UNAVAILABLE


async def test_client_with_a_certificate_from_another_ca_is_refused(
    mtls_dispatcher: ServiceProcess, certs: LocalCerts, other_ca: LocalCerts
) -> None:
    tls = ClientTls(certs.ca_file, other_ca.client_cert_file, other_ca.client_key_file)
    async with aio_channel(mtls_dispatcher.grpc_addr, tls) as channel:
        err = await refusal(channel)
    assert err.code() == grpc.StatusCode.UNAVAILABLE


async def test_plaintext_client_is_refused(mtls_dispatcher: ServiceProcess) -> None:
    async with aio_channel(mtls_dispatcher.grpc_addr, None) as channel:
        err = await refusal(channel)
    assert err.code() == grpc.StatusCode.UNAVAILABLE


async def test_client_that_does_not_trust_the_servers_ca_is_refused(
    tls_dispatcher: ServiceProcess, other_ca: LocalCerts
) -> None:
    async with aio_channel(tls_dispatcher.grpc_addr, ClientTls(other_ca.ca_file)) as channel:
        err = await refusal(channel)
    assert err.code() == grpc.StatusCode.UNAVAILABLE


async def test_without_a_client_ca_a_client_without_a_certificate_connects(
    tls_dispatcher: ServiceProcess, certs: LocalCerts
) -> None:
    async with aio_channel(tls_dispatcher.grpc_addr, ClientTls(certs.ca_file)) as channel:
        assert await health(channel) == "SERVING"
        await create_client(channel)


def test_wait_healthy_speaks_tls_from_the_environment(
    mtls_dispatcher: ServiceProcess, certs: LocalCerts
) -> None:
    def wait_healthy(env: dict[str, str], timeout: str) -> subprocess.CompletedProcess[str]:
        addr = mtls_dispatcher.grpc_addr
        return subprocess.run(
            [sys.executable, "-m", "crewline.cli", "wait-healthy", addr, "-t", timeout],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )

    base = {k: v for k, v in mtls_dispatcher.env.items() if not k.startswith("CREWLINE_")}
    client = {k: v for k, v in tls_env(certs, mutual=True).items() if "_GRPC_" not in k}
    served = wait_healthy({**base, **client}, "60")
    assert served.returncode == 0, served.stdout + served.stderr
    assert "SERVING" in served.stdout
    plain = wait_healthy(base, "1")
    assert plain.returncode == 1
    assert "UNREACHABLE" in plain.stdout


async def test_a_missing_certificate_file_stops_the_service_naming_the_variable(
    certs: LocalCerts, log_dir: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.pem"
    extra = {**tls_env(certs, mutual=True), "CREWLINE_GRPC_TLS_CERT_FILE": str(missing)}
    proc = await start_dispatcher("tls_missing", extra, log_dir, provision=False)
    assert proc.proc is not None
    assert proc.proc.wait(timeout=60) != 0
    assert f"CREWLINE_GRPC_TLS_CERT_FILE: cannot read {missing}" in proc.log_text()


async def test_make_up_with_tls_makes_certificates_and_serves_every_service_over_mutual_tls(
    tmp_path: Path,
) -> None:
    """services.sh, as `CREWLINE_TLS=1 make up` runs it, on the test instance."""
    start_infra()
    kafka = kafka_settings("tls_scripts")
    await create_topics(kafka)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREWLINE_")}
    env |= {"CREWLINE_HOME": str(home), "CREWLINE_TLS": "1"}
    for name in SERVICES:
        db = await fresh_database(f"tls_scripts_{name}")
        service, _, _ = service_env(name, kafka.namespace, db.database)
        env |= {k: v for k, v in service.items() if k.startswith("CREWLINE_")}
    addrs = [env[f"CREWLINE_{n.upper()}_GRPC_ADDR"] for n in SERVICES]
    tls_dir = home / "tls"
    try:
        code, up = await run_script("services.sh", "up", env)
        assert code == 0, up
        assert up.count("SERVING") == len(SERVICES)
        assert (tls_dir / "ca.pem").exists() and (tls_dir / "client.pem").exists()

        client = ClientTls(tls_dir / "ca.pem", tls_dir / "client.pem", tls_dir / "client-key.pem")
        for addr in addrs:
            async with aio_channel(addr, client) as channel:
                assert await health(channel) == "SERVING"
            async with aio_channel(addr, ClientTls(tls_dir / "ca.pem")) as channel:
                assert (await refusal(channel)).code() == grpc.StatusCode.UNAVAILABLE

        # The running services' mode is remembered: a later plain `make up` keeps TLS,
        # and asking for plaintext while they run with TLS is refused, not half-done.
        remembered = {k: v for k, v in env.items() if k != "CREWLINE_TLS"}
        code, again = await run_script("services.sh", "up", remembered)
        assert code == 0 and "starting" not in again, again
        assert again.count("SERVING") == len(SERVICES), again
        code, status = await run_script("services.sh", "status", remembered)
        assert "mutual TLS" in status
        code, refused = await run_script("services.sh", "up", {**env, "CREWLINE_TLS": "0"})
        assert code != 0 and "make down" in refused
    finally:
        code, down = await run_script("services.sh", "down", env)
        assert code == 0, down
    assert not (home / "run" / "services.tls").exists()
