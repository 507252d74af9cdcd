"""The server's TLS settings and the local CA: what is accepted, and what a mistake says."""

from __future__ import annotations

import ipaddress
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from crewline import local_certs
from crewline.local_certs import LocalCerts
from crewline.settings import ServiceSettings, SettingsError
from crewline.tls import ServerTls, TlsConfigError

CERT, KEY, CLIENT_CA = (
    "CREWLINE_GRPC_TLS_CERT_FILE",
    "CREWLINE_GRPC_TLS_KEY_FILE",
    "CREWLINE_GRPC_TLS_CLIENT_CA_FILE",
)


@pytest.fixture
def certs(tmp_path: Path) -> LocalCerts:
    return local_certs.ensure(tmp_path / "certs")


def server_env(certs: LocalCerts, **overrides: str) -> dict[str, str]:
    env = {CERT: str(certs.server_cert_file), KEY: str(certs.server_key_file)}
    return {**env, **overrides}


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_no_tls_variables_mean_plaintext() -> None:
    assert ServerTls.from_env({}) is None


def test_certificate_and_key_turn_tls_on_and_a_client_ca_makes_it_mutual(
    certs: LocalCerts,
) -> None:
    plain_tls = ServerTls.from_env(server_env(certs))
    assert plain_tls is not None and not plain_tls.mutual
    mutual = ServerTls.from_env(server_env(certs, **{CLIENT_CA: str(certs.ca_file)}))
    assert mutual is not None and mutual.mutual
    assert mutual.client_ca == certs.ca_file.read_bytes()


@pytest.mark.parametrize(
    ("env_of", "named"),
    [
        (lambda c: {CLIENT_CA: str(c.ca_file)}, CLIENT_CA),
        (lambda c: {CERT: str(c.server_cert_file)}, KEY),
        (lambda c: {KEY: str(c.server_key_file)}, CERT),
        (lambda c: server_env(c, **{KEY: str(c.directory / "missing.pem")}), KEY),
        (lambda c: server_env(c, **{CERT: str(c.server_key_file)}), CERT),  # a key, no cert
        (lambda c: server_env(c, **{KEY: str(c.client_key_file)}), KEY),  # another cert's key
        (lambda c: server_env(c, **{CLIENT_CA: str(c.directory / "no-ca.pem")}), CLIENT_CA),
        (lambda c: server_env(c, **{CLIENT_CA: str(c.server_key_file)}), CLIENT_CA),
    ],
    ids=[
        "client-ca-alone",
        "cert-without-key",
        "key-without-cert",
        "missing-key-file",
        "cert-file-not-a-certificate",
        "key-of-another-certificate",
        "missing-client-ca",
        "client-ca-not-a-certificate",
    ],
)
def test_a_bad_setting_is_refused_at_start_naming_the_variable(
    certs: LocalCerts, env_of: Callable[[LocalCerts], dict[str, str]], named: str
) -> None:
    env = env_of(certs)
    with pytest.raises(TlsConfigError, match=named):
        ServerTls.from_env(env)
    full = {**env, "CREWLINE_DISPATCHER_GRPC_ADDR": "127.0.0.1:50051"}
    with pytest.raises(SettingsError, match=named):
        ServiceSettings.from_env(name="dispatcher", grpc_port=1, metrics_port=2, env=full)


def test_service_settings_carry_the_servers_tls(certs: LocalCerts) -> None:
    settings = ServiceSettings.from_env(
        name="ledger", grpc_port=1, metrics_port=2, env=server_env(certs)
    )
    assert settings.grpc_tls is not None
    assert settings.grpc_tls.cert_chain == certs.server_cert_file.read_bytes()
    assert "private_key" not in repr(settings.grpc_tls)


def test_local_ca_signs_a_server_certificate_for_loopback_and_a_client_certificate(
    certs: LocalCerts,
) -> None:
    ca, server, client = (
        load(p) for p in (certs.ca_file, certs.server_cert_file, certs.client_cert_file)
    )
    server.verify_directly_issued_by(ca)
    client.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_keys_are_private_to_their_owner(certs: LocalCerts) -> None:
    assert stat.S_IMODE(certs.directory.stat().st_mode) == 0o700
    for key in ("ca-key.pem", "server-key.pem", "client-key.pem"):
        assert stat.S_IMODE((certs.directory / key).stat().st_mode) == 0o600


def test_a_second_run_keeps_what_is_there(certs: LocalCerts) -> None:
    before = {p.name: p.read_bytes() for p in certs.directory.iterdir()}
    again = local_certs.ensure(certs.directory)
    assert again.made == ()
    assert {p.name: p.read_bytes() for p in certs.directory.iterdir()} == before


def test_certificates_near_expiry_are_made_again_under_the_same_ca(certs: LocalCerts) -> None:
    ca_before = certs.ca_file.read_bytes()
    later = datetime.now(UTC) + timedelta(days=local_certs.LEAF_DAYS - 1)
    renewed = local_certs.ensure(certs.directory, now=later)
    assert set(renewed.made) == {"server.pem", "server-key.pem", "client.pem", "client-key.pem"}
    assert certs.ca_file.read_bytes() == ca_before
    load(certs.server_cert_file).verify_directly_issued_by(load(certs.ca_file))


def test_another_host_name_remakes_the_server_certificate_only(certs: LocalCerts) -> None:
    renewed = local_certs.ensure(certs.directory, hosts=["dispatcher.internal", "10.0.0.7"])
    assert set(renewed.made) == {"server.pem", "server-key.pem"}
    names = load(certs.server_cert_file).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert "dispatcher.internal" in names.value.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("10.0.0.7") in names.value.get_values_for_type(x509.IPAddress)
