"""gRPC over TLS for callers: certificate files into channel credentials, in one place.

Clients (the SDK, crewctl, the server's own health waits) read the environment:

- ``CREWLINE_TLS_CA_FILE``: PEM roots that sign the servers' certificates. Setting it turns
  TLS on; unset, channels are plaintext (the local stack's default).
- ``CREWLINE_TLS_CERT_FILE`` and ``CREWLINE_TLS_KEY_FILE``: the client's own certificate and
  key, for servers that require mutual TLS. Both or neither.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

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
