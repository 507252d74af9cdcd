"""``bounded`` (the demo's cap on requests in flight), and the raw-stub gRPC helpers the
benchmarks (``bench/``) still import from the old demo.

The demo itself goes through the SDK (``crewline.client``). The benchmarks keep raw
stubs on purpose: they measure the services, not the SDK's retries and wrapping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import grpc

from crewline.aio import Backoff
from crewline.settings import env_addr

CONCURRENCY = 20  # requests in flight
RPC_TIMEOUT = 10.0
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})

T = TypeVar("T")
Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class Addresses:
    dispatcher: str
    matcher: str
    ledger: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Addresses:
        """The services' gRPC addresses, from the variables the services themselves read."""

        def addr(service: str, port: int) -> str:
            host, p = env_addr(env, f"CREWLINE_{service}_GRPC_ADDR", f"127.0.0.1:{port}")
            return f"{host}:{p}"

        return cls(
            dispatcher=addr("DISPATCHER", 50051),
            matcher=addr("MATCHER", 50052),
            ledger=addr("LEDGER", 50053),
        )


async def bounded(aws: Iterable[Awaitable[T]], limit: int = CONCURRENCY) -> list[T]:
    """Await all, at most ``limit`` at a time, in order."""
    gate = asyncio.Semaphore(limit)

    async def one(aw: Awaitable[T]) -> T:
        async with gate:
            return await aw

    return list(await asyncio.gather(*(one(aw) for aw in aws)))


async def call(rpc: Callable[..., Awaitable[T]], request: object, metadata: Metadata) -> T:
    """One RPC; the same request again after UNAVAILABLE or a deadline (all are idempotent)."""
    backoff = Backoff(initial=0.05, maximum=1.0)
    while True:
        try:
            return await rpc(request, timeout=RPC_TIMEOUT, metadata=metadata)
        except grpc.aio.AioRpcError as err:
            if err.code() not in RETRYABLE:
                raise
        await asyncio.sleep(backoff.next())
