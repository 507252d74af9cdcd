"""The call metadata every Crewline call carries: the wire's names, shared with the services."""

from __future__ import annotations

AUTHORIZATION_METADATA = "authorization"
# A caller's id for one logical operation, echoed back in the trailing metadata.
CORRELATION_METADATA = "x-correlation-id"


def bearer_metadata(credential: str) -> tuple[tuple[str, str]]:
    """The call metadata that presents ``credential``: what every caller sends."""
    return ((AUTHORIZATION_METADATA, f"Bearer {credential}"),)
