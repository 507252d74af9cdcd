"""The real ``Admin``, and ``ServiceCalls`` for a client's or a contractor's calls:
synchronous gRPC, one short-lived channel per call.

Protobuf stops here: replies become the plain records of ``crewline.ctl.api``, and
gRPC errors become ``RpcFailed`` with the reason from ``google.rpc.ErrorInfo``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crewline.client import tls as channels
from crewline.client.config import Service
from crewline.client.errors import error_reason as error_reason  # re-exported: bench, tests
from crewline.client.metadata import bearer_metadata
from crewline.client.transport import channel_options
from crewline.ctl.api import ApiKeyRecord, ClientRecord, HealthRow, NewApiKey, RpcFailed
from crewline.ctl.config import SERVICES, Addresses
from crewline.ctl.contractor_rpc import ContractorCalls
from crewline.ctl.pb import timestamp_text as _timestamp
from crewline.v1 import client_admin_service_pb2 as client_api
from crewline.v1 import client_admin_service_pb2_grpc as client_grpc
from crewline.v1 import ops_service_pb2_grpc as ops_grpc

RPC_TIMEOUT = 10.0
# A Watch sends a keepalive every 15 s; this long without any message, the connection
# is taken for dead (a peer that vanished without closing it) and the stream ends.
STREAM_SILENCE = 50.0
HEALTH_TIMEOUT = 2.0
UNREACHABLE = "UNREACHABLE"
_UNREACHABLE_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def client_record(client: client_api.Client) -> ClientRecord:
    """A Client message as a record."""
    return {
        "client_id": client.client_id,
        "display_name": client.display_name,
        "created_at": _timestamp(client, "created_at"),
    }


def key_record(key: client_api.ApiKey) -> ApiKeyRecord:
    """An ApiKey message as a record (it never holds a secret)."""
    return {
        "key_id": key.key_id,
        "client_id": key.client_id,
        "created_at": _timestamp(key, "created_at"),
        "revoked_at": _timestamp(key, "revoked_at"),
    }


def retrying(service: str) -> list[tuple[str, Any]]:
    """The SDK's channel options for ``service``: crewctl retries the calls the SDK
    retries (UNAVAILABLE, RESOURCE_EXHAUSTED), by the same rules, within its timeout."""
    if service not in SERVICES:
        raise ValueError(f"not a Crewline service: {service!r}")
    return channel_options(cast(Service, service))


def rpc_failed(err: Any, *, service: str, address: str) -> RpcFailed:
    """A ``grpc.RpcError`` from a unary call as ``RpcFailed``."""
    return RpcFailed(
        service=service,
        address=address,
        code=err.code().name,
        details=" ".join((err.details() or "").split()),  # one line, whatever the server sent
        reason=error_reason(err),
    )


class Silence:
    """Cancels a stream that has sent nothing for ``limit`` seconds."""

    def __init__(
        self,
        limit: float,
        cancel: Callable[[], object],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._cancel = cancel
        self._clock = clock
        self._last = clock()
        self._stopped = threading.Event()
        self.fired = False

    def heard(self) -> None:
        self._last = self._clock()

    def overdue(self) -> bool:
        return self._clock() - self._last > self._limit

    def watch(self, *, poll: float = 1.0) -> None:
        """Check every ``poll`` seconds until stopped; cancel once overdue."""
        while not self._stopped.wait(poll):
            if self.overdue():
                self.fired = True
                self._cancel()
                return

    def stop(self) -> None:
        self._stopped.set()


class Caller(Protocol):
    """Calls to one service as one caller; ``ServiceCalls`` is the real one."""

    def call(self, method: str, request: Any) -> Any: ...

    def stream(self, method: str, request: Any) -> Iterator[Any]: ...


class ServiceCalls:
    """One service's calls as one caller: ``authorization: Bearer <credential>``.

    A client's API key (dispatcher) or a contractor's token (matcher).
    """

    def __init__(
        self,
        *,
        service: str,
        address: str,
        stub: Callable[[grpc.Channel], Any],
        credential: str,
        timeout: float = RPC_TIMEOUT,
        tls: channels.ClientTls | None = None,
    ) -> None:
        self._service = service
        self._address = address
        self._stub = stub
        self._metadata = bearer_metadata(credential)
        self._timeout = timeout
        self._tls = tls

    def _channel(self) -> grpc.Channel:
        return channels.channel(self._address, self._tls, retrying(self._service))

    def _failed(self, err: Any) -> RpcFailed:
        return rpc_failed(err, service=self._service, address=self._address)

    def call(self, method: str, request: Any) -> Any:
        """A unary call's reply; ``RpcFailed`` when refused or unreachable."""
        try:
            with self._channel() as channel:
                stub = self._stub(channel)
                return getattr(stub, method)(
                    request, metadata=self._metadata, timeout=self._timeout
                )
        except grpc.RpcError as err:
            raise self._failed(err) from None

    def stream(
        self, method: str, request: Any, *, silence: float = STREAM_SILENCE
    ) -> Iterator[Any]:
        """A server stream's messages, with no deadline; it ends with ``RpcFailed``.

        UNAVAILABLE when the server goes away or sends nothing for ``silence`` seconds.
        """
        with self._channel() as channel:
            call = getattr(self._stub(channel), method)(request, metadata=self._metadata)
            quiet = Silence(silence, call.cancel)
            poll = min(1.0, silence / 4)
            threading.Thread(
                target=quiet.watch, kwargs={"poll": poll}, name="crewctl-silence", daemon=True
            ).start()
            try:
                for reply in call:
                    quiet.heard()
                    yield reply
            except grpc.RpcError as err:
                if quiet.fired:
                    raise RpcFailed(
                        service=self._service,
                        address=self._address,
                        code="UNAVAILABLE",
                        details=f"nothing received for {silence:.0f} s",
                    ) from None
                raise self._failed(err) from None
            finally:
                quiet.stop()
                call.cancel()


class GrpcAdmin(ContractorCalls):
    """Calls the services at ``addresses`` with ``authorization: Bearer <credential>``.

    The matcher's contractor calls come from ``ContractorCalls``.
    """

    def __init__(
        self, addresses: Addresses, credential: str | None, *, timeout: float = RPC_TIMEOUT
    ) -> None:
        self._addresses = addresses
        self._metadata = bearer_metadata(credential) if credential else ()
        self._timeout = timeout

    @contextmanager
    def _channel(self, service: str) -> Iterator[Any]:
        address = self._addresses.of(service)
        try:
            with channels.channel(address, self._addresses.tls, retrying(service)) as channel:
                yield channel
        except grpc.RpcError as err:
            raise rpc_failed(err, service=service, address=address) from None

    def _options(self) -> dict[str, Any]:
        return {"metadata": self._metadata, "timeout": self._timeout}

    def create_client(self, client_id: str, display_name: str) -> ClientRecord:
        request = client_api.CreateClientRequest(client_id=client_id, display_name=display_name)
        with self._channel("dispatcher") as channel:
            stub = client_grpc.ClientAdminServiceStub(channel)
            reply = stub.CreateClient(request, **self._options())
        return client_record(reply.client)

    def create_api_key(self, client_id: str, request_id: str) -> NewApiKey:
        request = client_api.CreateApiKeyRequest(request_id=request_id, client_id=client_id)
        with self._channel("dispatcher") as channel:
            stub = client_grpc.ClientAdminServiceStub(channel)
            reply = stub.CreateApiKey(request, **self._options())
        return {"key": key_record(reply.key), "secret": reply.secret or None}

    def list_api_keys(self, client_id: str) -> list[ApiKeyRecord]:
        request = client_api.ListApiKeysRequest(client_id=client_id)
        with self._channel("dispatcher") as channel:
            stub = client_grpc.ClientAdminServiceStub(channel)
            reply = stub.ListApiKeys(request, **self._options())
        return [key_record(key) for key in reply.keys]

    def revoke_api_key(self, key_id: str) -> ApiKeyRecord:
        request = client_api.RevokeApiKeyRequest(key_id=key_id)
        with self._channel("dispatcher") as channel:
            stub = client_grpc.ClientAdminServiceStub(channel)
            reply = stub.RevokeApiKey(request, **self._options())
        return key_record(reply.key)

    def health(self) -> list[HealthRow]:
        """Liveness and readiness of every service, checked side by side."""
        with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
            return list(pool.map(self._health_row, SERVICES))

    def _health_row(self, service: str) -> HealthRow:
        address = self._addresses.of(service)
        with channels.channel(address, self._addresses.tls) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            liveness = self._probe(stub, "liveness")
            # Unreachable once is unreachable: don't wait out a second timeout.
            readiness = liveness if liveness == UNREACHABLE else self._probe(stub, "readiness")
        return {
            "service": service,
            "address": address,
            "liveness": liveness,
            "readiness": readiness,
        }

    def _probe(self, stub: Any, name: str) -> str:
        request = health_pb2.HealthCheckRequest(service=name)
        try:
            reply = stub.Check(request, metadata=self._metadata, timeout=HEALTH_TIMEOUT)
        except grpc.RpcError as err:
            return UNREACHABLE if err.code() in _UNREACHABLE_CODES else str(err.code().name)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def ops_calls(
    service: str,
    address: str,
    credential: str,
    *,
    timeout: float = RPC_TIMEOUT,
    tls: channels.ClientTls | None = None,
) -> ServiceCalls:
    """``service``'s kernel OpsService (deadlines, dead letters), as the operator."""
    return ServiceCalls(
        service=service,
        address=address,
        stub=ops_grpc.OpsServiceStub,
        credential=credential,
        timeout=timeout,
        tls=tls,
    )
