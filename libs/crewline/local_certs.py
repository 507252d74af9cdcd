"""A local CA and the certificates a TLS stack needs, made on first use (``crewline.cli certs``).

``ca.pem`` / ``ca-key.pem``: the CA every service and client trusts. ``server.pem`` /
``server-key.pem``: the services' certificate, for ``localhost``, 127.0.0.1 and ::1 (and
any extra host names given). ``client.pem`` / ``client-key.pem``: a client certificate,
for mutual TLS. Keys are ECDSA P-256, files 0600 in a 0700 directory. An existing file is
kept; a certificate that is missing, expires within a week or lacks a requested host
name is made again. For a laptop
or a test, not production: there, certificates come from the organisation's own CA.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 365
RENEW_BEFORE = timedelta(days=7)
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class LocalCerts:
    directory: Path
    made: tuple[str, ...]  # the files written by this call

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server_cert_file(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key_file(self) -> Path:
        return self.directory / "server-key.pem"

    @property
    def client_cert_file(self) -> Path:
        return self.directory / "client.pem"

    @property
    def client_key_file(self) -> Path:
        return self.directory / "client-key.pem"


def ensure(
    directory: Path, *, hosts: Sequence[str] = (), now: datetime | None = None
) -> LocalCerts:
    """The CA, server and client certificates in ``directory``, made where missing.

    ``hosts``: names or IP addresses the server certificate is for, besides the defaults.
    """
    now = now or datetime.now(UTC)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    certs = LocalCerts(directory, ())
    made: list[str] = []
    ca_key_file = directory / "ca-key.pem"
    if _needs_new(certs.ca_file, now) or not ca_key_file.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        _write(ca_key_file, _key_pem(ca_key))
        _write(certs.ca_file, _pem(_ca_certificate(ca_key, now)))
        made += ["ca.pem", "ca-key.pem"]
        # A new CA invalidates everything it signed before.
        for leaf in (certs.server_cert_file, certs.client_cert_file):
            leaf.unlink(missing_ok=True)
    ca_key = _load_key(ca_key_file)
    ca_cert = x509.load_pem_x509_certificate(certs.ca_file.read_bytes())
    server_names = list(dict.fromkeys([*DEFAULT_HOSTS, *hosts]))
    leaves: tuple[tuple[Path, Path, str, list[str]], ...] = (
        (certs.server_cert_file, certs.server_key_file, "crewline-server", server_names),
        (certs.client_cert_file, certs.client_key_file, "crewline-client", []),
    )
    for cert_file, key_file, common_name, names in leaves:
        if not _needs_new(cert_file, now, names) and key_file.exists():
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _leaf_certificate(ca_cert, ca_key, key, common_name, names, now)
        _write(key_file, _key_pem(key))
        _write(cert_file, _pem(cert))
        made += [cert_file.name, key_file.name]
    return LocalCerts(directory, tuple(made))


def _needs_new(cert_file: Path, now: datetime, names: Sequence[str] = ()) -> bool:
    """Missing, about to expire, or not for every one of ``names``."""
    if not cert_file.exists():
        return True
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    if cert.not_valid_after_utc - RENEW_BEFORE < now:
        return True
    if not names:
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return True
    return not {_general_name(n) for n in names} <= set(san)


def _ca_certificate(key: ec.EllipticCurvePrivateKey, now: datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Crewline local CA")])
    return (
        _builder(name, name, key.public_key(), now, CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signing=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf_certificate(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    names: Sequence[str],
    now: datetime,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    usage = ExtendedKeyUsageOID.SERVER_AUTH if names else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(subject, ca_cert.subject, key.public_key(), now, LEAF_DAYS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256())


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime,
    days: int,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))  # tolerate a little clock skew
        .not_valid_after(now + timedelta(days=days))
    )


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not signing,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signing,
        crl_sign=signing,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not the EC key this tool makes")
    return key


def _write(path: Path, content: bytes) -> None:
    """Replace ``path`` with a 0600 file holding ``content`` (atomically)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    tmp.replace(path)
