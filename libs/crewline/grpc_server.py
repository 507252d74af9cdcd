"""The gRPC server every service runs: health, reflection, and one edge interceptor.

The interceptor binds the correlation id (metadata ``x-correlation-id``, or a
fresh one), logs one line per RPC, records RPC metrics by method and code, and
maps domain errors to status codes, so handlers never touch status codes and a
caller's mistake never surfaces as UNKNOWN or INTERNAL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from crewline import errors
from crewline.db import TRANSIENT_DB_ERRORS
from crewline.log import bound_contextvars, get_logger, new_correlation_id
from crewline.metrics import Metrics

log = get_logger(__name__)

CORRELATION_METADATA = "x-correlation-id"

_STATUS_BY_ERROR: tuple[tuple[type[errors.DomainError], grpc.StatusCode], ...] = (
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
)


def status_for(exc: errors.DomainError) -> grpc.StatusCode:
    """The gRPC status code a domain error maps to."""
    for cls, code in _STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.FAILED_PRECONDITION


class EdgeInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Logging, metrics, correlation id and error mapping for unary-unary RPCs."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None or details.method.startswith("/grpc."):
            return handler
        # The request arrives as bytes and is parsed inside the wrapper, so a body that is
        # not the method's message is INVALID_ARGUMENT (and logged), not grpc's UNKNOWN.
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(
                details.method.rsplit("/", 1)[-1],
                handler.unary_unary,
                handler.request_deserializer,
            ),
            request_deserializer=None,
            response_serializer=handler.response_serializer,
        )

    def _wrap(
        self,
        method: str,
        inner: Callable[..., Awaitable[Any]],
        parse: Callable[[bytes], Any] | None,
    ) -> Callable[..., Any]:
        async def call(body: bytes, context: grpc.aio.ServicerContext) -> Any:
            metadata = dict(context.invocation_metadata() or ())
            correlation_id = metadata.get(CORRELATION_METADATA) or new_correlation_id()
            context.set_trailing_metadata(((CORRELATION_METADATA, correlation_id),))
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            with bound_contextvars(correlation_id=correlation_id, rpc=method):
                try:
                    return await inner(_parse(parse, body, method), context)
                except asyncio.CancelledError:
                    code = grpc.StatusCode.CANCELLED  # the caller went away or its deadline passed
                    raise
                except errors.DomainError as exc:
                    code = status_for(exc)
                    await context.abort(code, exc.message)
                except TRANSIENT_DB_ERRORS as exc:
                    code = grpc.StatusCode.UNAVAILABLE
                    log.warning("rpc_dependency_unavailable", error=repr(exc))
                    await context.abort(code, "database unavailable, retry the same request")
                except grpc.aio.AbortError:
                    code = context.code() or grpc.StatusCode.UNKNOWN
                    raise
                except Exception:
                    code = grpc.StatusCode.INTERNAL
                    log.exception("rpc_failed")
                    await context.abort(code, "internal error")
                finally:
                    elapsed = time.perf_counter() - started
                    self._metrics.rpc_requests.labels(method, code.name).inc()
                    self._metrics.rpc_duration.labels(method, code.name).observe(elapsed)
                    log.info("rpc", code=code.name, duration_ms=round(elapsed * 1000, 2))

        return call


def _parse(parse: Callable[[bytes], Any] | None, body: bytes, method: str) -> Any:
    if parse is None:
        return body
    try:
        return parse(body)
    except DecodeError as exc:
        raise errors.InvalidArgument("request", f"not a valid {method} request: {exc}") from None


def build_server(
    *,
    host: str,
    port: int,
    metrics: Metrics,
    register: Iterable[Callable[[grpc.aio.Server], None]],
    service_names: Iterable[str],
) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    """A server bound to host:port with the given servicers, health and reflection.

    Health starts NOT_SERVING; the runtime's dependency monitor flips it.
    """
    # No SO_REUSEPORT: a second process on the same port must fail to start, not
    # silently share the port with the first.
    server = grpc.aio.server(
        interceptors=[EdgeInterceptor(metrics)], options=[("grpc.so_reuseport", 0)]
    )
    for add in register:
        add(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = list(service_names)
    reflection.enable_server_reflection(
        [
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind gRPC server to {host}:{port}")
    return server, health_servicer
