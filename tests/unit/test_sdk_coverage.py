"""Every RPC has its SDK call and its retry rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import crewline.client
from crewline.client.transport import METHODS, NOT_RETRIED, SERVED, service_config

SDK = Path(crewline.client.__file__).parent


def sdk_source() -> str:
    """The SDK's calls: not transport.py, whose retry table names three methods itself."""
    return "\n".join(p.read_text() for p in sorted(SDK.glob("*.py")) if p.name != "transport.py")


@pytest.mark.parametrize(
    "rpc", sorted(f"{service}/{method}" for service, ms in METHODS.items() for method in ms)
)
def test_every_rpc_is_called_by_the_sdk(rpc: str) -> None:
    method = rpc.rsplit("/", 1)[1]
    assert f'"{method}"' in sdk_source() or f'/{method}"' in sdk_source(), rpc


def test_every_method_gets_the_retry_policy_except_those_that_must_not_repeat() -> None:
    assert NOT_RETRIED <= {f"{s}/{m}" for s, ms in METHODS.items() for m in ms}  # no stale name
    for service, names in SERVED.items():
        config = json.loads(service_config(service))["methodConfig"]
        retried = {
            f"{n['service']}/{n.get('method', '*')}"
            for block in config
            if "retryPolicy" in block
            for n in block["name"]
        }
        plain = {
            f"{n['service']}/{n['method']}"
            for block in config
            if "retryPolicy" not in block
            for n in block["name"]
        }
        expected = {f"{s}/{m}" for s in names if s in METHODS for m in METHODS[s]}
        assert retried | plain == expected | {"grpc.health.v1.Health/*"}
        assert plain == expected & NOT_RETRIED
        policy = next(b["retryPolicy"] for b in config if "retryPolicy" in b)
        assert policy["retryableStatusCodes"] == ["UNAVAILABLE", "RESOURCE_EXHAUSTED"]
        assert policy["maxAttempts"] <= 5  # gRPC's own ceiling
