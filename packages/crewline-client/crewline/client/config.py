"""Where the services are and who is calling: from arguments, else the environment.

- ``CREWLINE_DISPATCHER_GRPC_ADDR``, ``CREWLINE_MATCHER_GRPC_ADDR``,
  ``CREWLINE_LEDGER_GRPC_ADDR``, ``CREWLINE_QUALITY_GRPC_ADDR``: the services (defaults
  127.0.0.1:50051/50052/50053/50054).
- ``CREWLINE_CREDENTIAL``: a client's API key or a contractor's token.
- ``CREWLINE_OPERATOR_CREDENTIAL``: the operator credential.
- ``CREWLINE_TLS_CA_FILE`` (and ``CREWLINE_TLS_CERT_FILE``/``CREWLINE_TLS_KEY_FILE`` for
  mutual TLS): TLS, when set (see ``crewline.client.tls``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from crewline.client.tls import ClientTls

Service = Literal["dispatcher", "matcher", "ledger", "quality"]
# Every service: an address each in Endpoints; an operator's health_all and health_report
# check them all, as crewctl's health does.
SERVICES: tuple[Service, ...] = ("dispatcher", "matcher", "ledger", "quality")
DEFAULT_ADDRESSES: Mapping[Service, str] = {
    "dispatcher": "127.0.0.1:50051",
    "matcher": "127.0.0.1:50052",
    "ledger": "127.0.0.1:50053",
    "quality": "127.0.0.1:50054",
}
CREDENTIAL_ENV = "CREWLINE_CREDENTIAL"
OPERATOR_CREDENTIAL_ENV = "CREWLINE_OPERATOR_CREDENTIAL"
DEFAULT_TIMEOUT = 10.0


class ConfigError(ValueError):
    """A setting the SDK cannot use; the message names the argument or variable."""


def address_env(service: Service) -> str:
    return f"CREWLINE_{service.upper()}_GRPC_ADDR"


@dataclass(frozen=True, kw_only=True)
class Endpoints:
    """The services' gRPC addresses, and the TLS to reach them with (None: plaintext)."""

    dispatcher: str = DEFAULT_ADDRESSES["dispatcher"]
    matcher: str = DEFAULT_ADDRESSES["matcher"]
    ledger: str = DEFAULT_ADDRESSES["ledger"]
    quality: str = DEFAULT_ADDRESSES["quality"]
    tls: ClientTls | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Endpoints:
        """Addresses and TLS from ``env`` (the process environment by default)."""
        env = os.environ if env is None else env
        found = {s: env.get(address_env(s), "").strip() or DEFAULT_ADDRESSES[s] for s in SERVICES}
        return cls(**found, tls=ClientTls.from_env(env))

    def of(self, service: Service) -> str:
        address: str = getattr(self, service)
        return address


def resolve(
    *,
    endpoints: Endpoints | None,
    overrides: Mapping[Service, str | None],
    env: Mapping[str, str] | None,
) -> Endpoints:
    """``endpoints`` (or the environment's) with any address given as an argument."""
    base = endpoints or Endpoints.from_env(env)
    given = {s: a for s, a in overrides.items() if a}
    if not given:
        return base
    return Endpoints(
        dispatcher=given.get("dispatcher", base.dispatcher),
        matcher=given.get("matcher", base.matcher),
        ledger=given.get("ledger", base.ledger),
        quality=given.get("quality", base.quality),
        tls=base.tls,
    )


def credential_or_none(
    given: str | None, *, variable: str, env: Mapping[str, str] | None
) -> str | None:
    """``given``, else ``variable`` from the environment; None when neither."""
    env = os.environ if env is None else env
    return (given or env.get(variable, "")).strip() or None


def credential_from(
    given: str | None, *, variable: str, env: Mapping[str, str] | None, who: str
) -> str:
    """``given``, else ``variable`` from the environment; ``ConfigError`` when neither."""
    credential = credential_or_none(given, variable=variable, env=env)
    if credential is None:
        raise ConfigError(f"{who}: pass credential=... or set {variable}")
    return credential
