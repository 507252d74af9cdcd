"""One long-lived channel per service, calls with the caller's credential, and the
retry policy gRPC applies by itself.

Retries happen inside gRPC (``grpc.enable_retries`` and the service config's
``retryPolicy``): an idempotent call that meets UNAVAILABLE or RESOURCE_EXHAUSTED (the
servers' overload answer) is sent again, the same request message each time, with
exponential backoff, within the call's deadline. The few calls whose repetition would
do something new are listed in ``NOT_RETRIED`` and get no policy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from crewline.client.config import SERVICES, Endpoints, Service
from crewline.client.errors import from_rpc_error
from crewline.client.metadata import CORRELATION_METADATA, bearer_metadata
from crewline.client.streams import StreamCall
from crewline.client.tls import aio_channel
from crewline.v1 import (
    client_admin_service_pb2,
    contractor_admin_service_pb2,
    ledger_service_pb2,
    ops_service_pb2,
    quality_service_pb2,
    task_service_pb2,
    work_service_pb2,
)

Reply = TypeVar("Reply", bound=Message)

OPS = "crewline.v1.OpsService"
HEALTH = "grpc.health.v1.Health"
# Every Crewline gRPC service, by full name: its methods.
METHODS: Mapping[str, tuple[str, ...]] = {
    svc.full_name: tuple(m.name for m in svc.methods)
    for module in (
        task_service_pb2,
        client_admin_service_pb2,
        work_service_pb2,
        contractor_admin_service_pb2,
        ledger_service_pb2,
        quality_service_pb2,
        ops_service_pb2,
    )
    for svc in module.DESCRIPTOR.services_by_name.values()
}
# What each Crewline service serves (OpsService and Health are the kernel's, on each).
SERVED: Mapping[Service, tuple[str, ...]] = {
    "dispatcher": ("crewline.v1.TaskService", "crewline.v1.ClientAdminService", OPS, HEALTH),
    "matcher": ("crewline.v1.WorkService", "crewline.v1.ContractorAdminService", OPS, HEALTH),
    "ledger": ("crewline.v1.LedgerService", OPS, HEALTH),
    "quality": ("crewline.v1.QualityService", OPS, HEALTH),
}

# Calls whose repetition is not the same call: each one issues a new secret, or moves a
# revision again (an update with expected_revision would then be refused as ABORTED).
NOT_RETRIED = frozenset(
    {
        "crewline.v1.ContractorAdminService/IssueContractorToken",
        "crewline.v1.TaskService/UpdateProject",
        "crewline.v1.ContractorAdminService/UpdateContractor",
    }
)
RETRYABLE_CODES = ("UNAVAILABLE", "RESOURCE_EXHAUSTED")


def retry_policy(
    *, max_attempts: int = 5, initial_backoff: float = 0.2, max_backoff: float = 3.0
) -> dict[str, Any]:
    """gRPC's ``retryPolicy`` for the idempotent calls (gRPC caps attempts at 5)."""
    return {
        "maxAttempts": max_attempts,
        "initialBackoff": f"{initial_backoff}s",
        "maxBackoff": f"{max_backoff}s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": list(RETRYABLE_CODES),
    }


def service_config(service: Service, policy: Mapping[str, Any] | None = None) -> str:
    """The service config (JSON) for a channel to ``service``: every method of what it
    serves retried under ``policy``, except ``NOT_RETRIED``, which get no policy."""
    retried: list[dict[str, str]] = []
    plain: list[dict[str, str]] = []
    for name in SERVED[service]:
        if name not in METHODS:  # Health: every method
            retried.append({"service": name})
            continue
        for method in METHODS[name]:
            entry = {"service": name, "method": method}
            (plain if f"{name}/{method}" in NOT_RETRIED else retried).append(entry)
    configs: list[dict[str, Any]] = [
        {"name": retried, "retryPolicy": dict(policy or retry_policy())}
    ]
    if plain:
        configs.append({"name": plain})
    return json.dumps({"methodConfig": configs})


def channel_options(service: Service) -> list[tuple[str, Any]]:
    return [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", service_config(service)),
    ]


class Transport:
    """The channels of one SDK object, opened on first use, closed by ``close``."""

    def __init__(
        self,
        endpoints: Endpoints,
        credential: str | None,
        *,
        timeout: float,
        channel_factory: Callable[[str, Endpoints, Service], grpc.aio.Channel] | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.timeout = timeout
        self._metadata: tuple[tuple[str, str], ...] = (
            bearer_metadata(credential) if credential else ()
        )
        self._channels: dict[Service, grpc.aio.Channel] = {}
        self._factory = channel_factory or _open

    def channel(self, service: Service) -> grpc.aio.Channel:
        if service not in self._channels:
            self._channels[service] = self._factory(
                self.endpoints.of(service), self.endpoints, service
            )
        return self._channels[service]

    def metadata(self, correlation_id: str | None = None) -> tuple[tuple[str, str], ...]:
        if correlation_id:
            return (*self._metadata, (CORRELATION_METADATA, correlation_id))
        return self._metadata

    async def unary(
        self,
        service: Service,
        method: str,
        request: Message,
        reply: type[Reply],
        *,
        timeout: float | None = None,
        correlation_id: str | None = None,
    ) -> Reply:
        """``method`` ("pkg.Service/Method") on ``service``; its reply, or a ``CrewlineError``."""
        call = self.channel(service).unary_unary(
            f"/{method}",
            request_serializer=_serialize,
            response_deserializer=reply.FromString,
        )
        try:
            answer: Reply = await call(
                request,
                metadata=self.metadata(correlation_id),
                timeout=self.timeout if timeout is None else timeout,
            )
        except grpc.RpcError as err:
            raise from_rpc_error(
                err, method=method, service=service, address=self.endpoints.of(service)
            ) from None
        return answer

    def server_stream(
        self, service: Service, method: str, request: Message, reply: type[Reply]
    ) -> StreamCall[Reply]:
        """A server stream, with no deadline: ``async for`` its messages, ``cancel`` it."""
        call = self.channel(service).unary_stream(
            f"/{method}",
            request_serializer=_serialize,
            response_deserializer=reply.FromString,
        )
        stream: StreamCall[Reply] = call(request, metadata=self.metadata())
        return stream

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for ch in channels:
            await ch.close()


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _open(address: str, endpoints: Endpoints, service: Service) -> grpc.aio.Channel:
    return aio_channel(address, endpoints.tls, channel_options(service))


__all__ = ["SERVICES", "Transport", "service_config"]
