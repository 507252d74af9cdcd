"""gRPC over TLS for the services: a certificate chain and key into server credentials.

The client side (``ClientTls``, channels) is the SDK's, in ``crewline.client.tls``.
Services (``ServerTls``, read with the other settings at start-up):

- ``CREWLINE_GRPC_TLS_CERT_FILE`` and ``CREWLINE_GRPC_TLS_KEY_FILE``: the service's
  certificate chain and key. Setting both turns TLS on for its gRPC port.
- ``CREWLINE_GRPC_TLS_CLIENT_CA_FILE``: also require every client to present a
  certificate signed by this CA (mutual TLS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from crewline.client.tls import TlsConfigError, read_pem

__all__ = ["ServerTls", "TlsConfigError"]


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
