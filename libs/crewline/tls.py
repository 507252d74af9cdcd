"""gRPC over TLS: the one place that turns certificate files into channel credentials.

Clients (the SDK, crewctl, the kernel's own health waits) read the environment:

- ``CREWLINE_TLS_CA_FILE``: PEM roots that sign the servers' certificates. Setting it turns
  TLS on; unset, channels are plaintext (the local stack's default).
- ``CREWLINE_TLS_CERT_FILE`` and ``CREWLINE_TLS_KEY_FILE``: the client's own certificate and
  key, for servers that require mutual TLS. Both or neither.

Services (``ServerTls``, read with the other settings at start-up):

- ``CREWLINE_GRPC_TLS_CERT_FILE`` and ``CREWLINE_GRPC_TLS_KEY_FILE``: the service's
  certificate chain and key. Setting both turns TLS on for its gRPC port.
- ``CREWLINE_GRPC_TLS_CLIENT_CA_FILE``: also require every client to present a
  certificate signed by this CA (mutual TLS).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

CA_ENV = "CREWLINE_TLS_CA_FILE"
CERT_ENV = "CREWLINE_TLS_CERT_FILE"
KEY_ENV = "CREWLINE_TLS_KEY_FILE"

ChannelOptions = Sequence[tuple[str, Any]]


class TlsConfigError(ValueError):
    """A TLS setting that cannot be used; the message names the variable or file."""


def read_pem(path: Path, what: str) -> bytes:
    """The file's bytes; ``TlsConfigError`` naming ``what`` when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as err:
        raise TlsConfigError(f"{what}: cannot read {path}: {err.strerror}") from None


@dataclass(frozen=True)
class ClientTls:
    """The files a client needs to reach a TLS server, and to prove itself under mTLS."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise TlsConfigError(f"{CERT_ENV} and {KEY_ENV} go together: set both or neither")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ClientTls | None:
        """The client TLS the environment asks for; None for plaintext."""
        ca = env.get(CA_ENV, "").strip()
        cert = env.get(CERT_ENV, "").strip()
        key = env.get(KEY_ENV, "").strip()
        if not ca:
            if cert or key:
                raise TlsConfigError(f"{CERT_ENV}/{KEY_ENV} need {CA_ENV} (TLS is off without it)")
            return None
        return cls(Path(ca), Path(cert) if cert else None, Path(key) if key else None)

    def credentials(self) -> grpc.ChannelCredentials:
        roots = read_pem(self.ca_file, CA_ENV)
        if self.cert_file is None or self.key_file is None:
            return grpc.ssl_channel_credentials(root_certificates=roots)
        return grpc.ssl_channel_credentials(
            root_certificates=roots,
            private_key=read_pem(self.key_file, KEY_ENV),
            certificate_chain=read_pem(self.cert_file, CERT_ENV),
        )


def channel(address: str, tls: ClientTls | None, options: ChannelOptions = ()) -> grpc.Channel:
    """A synchronous channel: secure when ``tls`` is given, else plaintext."""
    if tls is None:
        return grpc.insecure_channel(address, options=list(options))
    return grpc.secure_channel(address, tls.credentials(), options=list(options))


def aio_channel(
    address: str, tls: ClientTls | None, options: ChannelOptions = ()
) -> grpc.aio.Channel:
    """An asyncio channel: secure when ``tls`` is given, else plaintext."""
    if tls is None:
        return grpc.aio.insecure_channel(address, options=list(options))
    return grpc.aio.secure_channel(address, tls.credentials(), options=list(options))


# --- the server side: every service's gRPC port ---------------------------------------

SERVER_CERT_ENV = "CREWLINE_GRPC_TLS_CERT_FILE"
SERVER_KEY_ENV = "CREWLINE_GRPC_TLS_KEY_FILE"
CLIENT_CA_ENV = "CREWLINE_GRPC_TLS_CLIENT_CA_FILE"


@dataclass(frozen=True)
class ServerTls:
    """A service's certificate chain and key, and for mutual TLS the CA of its clients.

    Built from files once, at start-up, and checked there: a file that is missing, not
    PEM, or a key that does not match the certificate stops the service with the
    variable named, instead of failing every handshake later.
    """

    cert_chain: bytes
    private_key: bytes = field(repr=False)
    client_ca: bytes | None = None  # set: a client must present a certificate it signed

    @property
    def mutual(self) -> bool:
        return self.client_ca is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServerTls | None:
        """``CREWLINE_GRPC_TLS_CERT_FILE`` + ``..._KEY_FILE`` (TLS on), and
        ``CREWLINE_GRPC_TLS_CLIENT_CA_FILE`` (mutual TLS); None for plaintext."""
        cert = env.get(SERVER_CERT_ENV, "").strip()
        key = env.get(SERVER_KEY_ENV, "").strip()
        client_ca = env.get(CLIENT_CA_ENV, "").strip()
        if not cert and not key:
            if client_ca:
                raise TlsConfigError(
                    f"{CLIENT_CA_ENV} needs {SERVER_CERT_ENV} and {SERVER_KEY_ENV} (TLS is off)"
                )
            return None
        if not cert or not key:
            raise TlsConfigError(f"{SERVER_CERT_ENV} and {SERVER_KEY_ENV} go together")
        return cls.from_files(
            cert_file=Path(cert),
            key_file=Path(key),
            client_ca_file=Path(client_ca) if client_ca else None,
        )

    @classmethod
    def from_files(
        cls, *, cert_file: Path, key_file: Path, client_ca_file: Path | None = None
    ) -> ServerTls:
        """Read and check the files; ``TlsConfigError`` names the variable of a bad one."""
        cert_chain = read_pem(cert_file, SERVER_CERT_ENV)
        private_key = read_pem(key_file, SERVER_KEY_ENV)
        certs = _certificates(cert_chain, SERVER_CERT_ENV, cert_file)
        key = _private_key(private_key, SERVER_KEY_ENV, key_file)
        if _public_der(key.public_key()) != _public_der(certs[0].public_key()):
            raise TlsConfigError(
                f"{SERVER_KEY_ENV}: {key_file} is not the key of the certificate in {cert_file}"
            )
        client_ca = None
        if client_ca_file is not None:
            client_ca = read_pem(client_ca_file, CLIENT_CA_ENV)
            _certificates(client_ca, CLIENT_CA_ENV, client_ca_file)
        return cls(cert_chain, private_key, client_ca)

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.private_key, self.cert_chain)],
            root_certificates=self.client_ca,
            require_client_auth=self.mutual,
        )


def _certificates(pem: bytes, what: str, path: Path) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError:
        certs = []
    if not certs:
        raise TlsConfigError(f"{what}: {path} holds no PEM certificate")
    return certs


def _private_key(pem: bytes, what: str, path: Path) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise TlsConfigError(f"{what}: {path} is encrypted; give an unencrypted key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsConfigError(f"{what}: {path} holds no PEM private key") from None


def _public_der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
