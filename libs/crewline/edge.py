"""The edge every RPC passes through, whatever its shape (unary, or streaming either way).

For each call, in order: bind the correlation id (metadata ``x-correlation-id``, or a
fresh one); admit it or answer RESOURCE_EXHAUSTED when ``max_in_flight`` unary calls
(or ``max_streams`` streaming calls, which live long) are already running;
authenticate the credential; check the method's access rule; run the servicer;
map any error to its status code with a ``google.rpc.ErrorInfo`` (reason, domain,
metadata) in the status details; count the call by method and code; and log one
line per unary call, or an opening and a closing line per stream with its message
counts. A domain error raised inside a stream maps as in a unary call. Health and
reflection (``/grpc.*``) pass untouched.

The servicer learns who is calling from ``principal_of(context)`` and passes it on
explicitly; nothing below the entrypoint reads it from ambient state.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

from crewline import errors
from crewline.auth.authenticator import Authenticator
from crewline.auth.principal import Kind, Principal
from crewline.client.metadata import AUTHORIZATION_METADATA, CORRELATION_METADATA
from crewline.db import TRANSIENT_DB_ERRORS
from crewline.log import bound_contextvars, get_logger, new_correlation_id
from crewline.metrics import Metrics

log = get_logger(__name__)

# A caller's correlation id is kept when it is one printable ASCII word of at most 128
# characters; else the call gets a new one. It goes into every log line, event and
# deadline the call causes, so its size is Crewline's to bound, not the caller's.
_CORRELATION_ID = re.compile(r"[!-~]{1,128}")
ERROR_DOMAIN = "crewline.dev"
_STATUS_DETAILS = "grpc-status-details-bin"

_PRINCIPALS: dict[Any, Principal] = {}


def principal_of(context: grpc.aio.ServicerContext) -> Principal:
    """The authenticated caller of the RPC this context belongs to."""
    return _PRINCIPALS[context]


def status_for(exc: errors.DomainError) -> grpc.StatusCode:
    """The gRPC status code a domain error carries."""
    return grpc.StatusCode[exc.code]


@dataclass(frozen=True)
class AccessPolicy:
    """Which kinds of principal may call each method (``/pkg.Service/Method``).

    Built per service from its proto descriptor: a method without a rule is a
    start-up error, so no RPC is ever reachable by accident.
    """

    rules: Mapping[str, frozenset[Kind]]

    @classmethod
    def of(cls, service: ServiceDescriptor, rules: Mapping[str, frozenset[Kind]]) -> AccessPolicy:
        methods = {m.name for m in service.methods}
        if set(rules) != methods:
            missing, extra = sorted(methods - set(rules)), sorted(set(rules) - methods)
            raise ValueError(f"{service.full_name}: no rule for {missing}, unknown {extra}")
        return cls({f"/{service.full_name}/{name}": kinds for name, kinds in rules.items()})

    def __or__(self, other: AccessPolicy) -> AccessPolicy:
        return AccessPolicy({**self.rules, **other.rules})

    def allowed(self, method: str) -> frozenset[Kind]:
        return self.rules.get(method, frozenset())


class EdgeInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(
        self,
        *,
        metrics: Metrics,
        authenticator: Authenticator,
        policy: AccessPolicy,
        max_in_flight: int,
        max_streams: int = 10_000,
    ) -> None:
        self._metrics = metrics
        self._authenticator = authenticator
        self._policy = policy
        self._max_in_flight = max_in_flight
        self._max_streams = max_streams
        self.in_flight = 0  # unary calls being handled
        self.streams = 0  # streaming calls open: long-lived, so counted apart

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith("/grpc."):
            return handler
        method = details.method
        parse = handler.request_deserializer
        # Requests arrive as bytes and are parsed inside the call, so a body that is not
        # the method's message is INVALID_ARGUMENT (and logged), not grpc's UNKNOWN.
        kwargs = {"request_deserializer": None, "response_serializer": handler.response_serializer}
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary_unary(method, handler.unary_unary, parse), **kwargs
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._unary_stream(method, handler.unary_stream, parse), **kwargs
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._stream_unary(method, handler.stream_unary, parse), **kwargs
            )
        return grpc.stream_stream_rpc_method_handler(
            self._stream_stream(method, handler.stream_stream, parse), **kwargs
        )

    def _unary_unary(self, method: str, inner: Any, parse: Any) -> Any:
        async def call(body: bytes, context: grpc.aio.ServicerContext) -> Any:
            async with _Call(self, method, context, streaming=False) as rpc:
                return await inner(rpc.parse(parse, body), context)

        return call

    def _unary_stream(self, method: str, inner: Any, parse: Any) -> Any:
        async def call(body: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async with _Call(self, method, context, streaming=True) as rpc:
                async for reply in inner(rpc.parse(parse, body), context):
                    rpc.sent += 1
                    yield reply

        return call

    def _stream_unary(self, method: str, inner: Any, parse: Any) -> Any:
        async def call(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> Any:
            async with _Call(self, method, context, streaming=True) as rpc:
                return await inner(rpc.parsed(parse, requests), context)

        return call

    def _stream_stream(self, method: str, inner: Any, parse: Any) -> Any:
        async def call(
            requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            async with _Call(self, method, context, streaming=True) as rpc:
                async for reply in inner(rpc.parsed(parse, requests), context):
                    rpc.sent += 1
                    yield reply

        return call


class _Call:
    """One RPC's passage through the edge: admission, identity, outcome, accounting."""

    def __init__(
        self,
        edge: EdgeInterceptor,
        method: str,
        context: grpc.aio.ServicerContext,
        *,
        streaming: bool,
    ) -> None:
        self._edge, self._context, self._streaming = edge, context, streaming
        self.method = method
        self.name = method.rsplit("/", 1)[-1]
        self.metadata = dict(context.invocation_metadata() or ())
        given = self.metadata.get(CORRELATION_METADATA, "")
        self.correlation_id = (
            given
            if isinstance(given, str) and _CORRELATION_ID.fullmatch(given)
            else new_correlation_id()
        )
        self.code = grpc.StatusCode.OK
        self.principal: Principal | None = None
        self.sent = self.received = 0
        self._admitted = False
        self._started = time.perf_counter()
        self._bound = bound_contextvars(correlation_id=self.correlation_id, rpc=self.name)

    async def __aenter__(self) -> _Call:
        self._bound.__enter__()
        try:
            self._context.set_trailing_metadata(((CORRELATION_METADATA, self.correlation_id),))
            self._admit()
            principal = await self._edge._authenticator.authenticate(
                self.metadata.get(AUTHORIZATION_METADATA)
            )
            self.principal = principal
            if principal.kind not in self._edge._policy.allowed(self.method):
                raise errors.PermissionDenied(f"a {principal.kind} may not call {self.name}")
            _PRINCIPALS[self._context] = principal
            if self._streaming:
                log.info("rpc_stream_opened", principal=str(principal))
        except BaseException as exc:
            await self.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def _admit(self) -> None:
        edge = self._edge
        if self._streaming:
            if edge.streams >= edge._max_streams:
                raise errors.ResourceExhausted(
                    f"{edge._max_streams} streams already open; retry with back-off",
                    metadata={"max_streams": str(edge._max_streams)},
                )
            edge.streams += 1
        else:
            if edge.in_flight >= edge._max_in_flight:
                raise errors.ResourceExhausted(
                    f"{edge._max_in_flight} calls already in progress; retry with back-off",
                    metadata={"max_in_flight": str(edge._max_in_flight)},
                )
            edge.in_flight += 1
        self._admitted = True

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        try:
            if exc is not None:
                await self._fail(exc)
            return False
        finally:
            self._finish()

    async def _fail(self, exc: BaseException) -> None:
        """Map ``exc`` to a status and abort; cancellations and aborts pass through."""
        if isinstance(exc, asyncio.CancelledError | GeneratorExit):
            self.code = grpc.StatusCode.CANCELLED  # the caller went away or its deadline passed
            return
        if isinstance(exc, grpc.aio.AbortError):
            self.code = self._context.code() or grpc.StatusCode.UNKNOWN
            return
        if isinstance(exc, errors.DomainError):
            error = exc
        elif isinstance(exc, TRANSIENT_DB_ERRORS):
            log.warning("rpc_dependency_unavailable", error=repr(exc))
            error = errors.Unavailable("database unavailable, retry the same request")
        else:
            log.error("rpc_failed", exc_info=exc)
            error = _Internal("internal error")
        await self._abort(error)

    async def _abort(self, error: errors.DomainError) -> NoReturn:
        self.code = status_for(error)
        info = error_details_pb2.ErrorInfo(
            reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
        )
        detail = any_pb2.Any()
        detail.Pack(info)
        status = status_pb2.Status(code=self.code.value[0], message=error.message, details=[detail])
        await self._context.abort(
            self.code,
            error.message,
            trailing_metadata=(
                (CORRELATION_METADATA, self.correlation_id),
                (_STATUS_DETAILS, status.SerializeToString()),
            ),
        )
        raise AssertionError("abort returned")  # pragma: no cover

    def _finish(self) -> None:
        _PRINCIPALS.pop(self._context, None)
        if self._admitted:
            if self._streaming:
                self._edge.streams -= 1
            else:
                self._edge.in_flight -= 1
            self._admitted = False
        elapsed = time.perf_counter() - self._started
        metrics = self._edge._metrics
        metrics.rpc_requests.labels(self.name, self.code.name).inc()
        metrics.rpc_duration.labels(self.name, self.code.name).observe(elapsed)
        fields: dict[str, Any] = {"code": self.code.name, "duration_ms": round(elapsed * 1000, 2)}
        if self.principal is not None:
            fields["principal"] = str(self.principal)
        if self._streaming:
            fields.update(messages_received=self.received, messages_sent=self.sent)
        log.info("rpc_stream_closed" if self._streaming else "rpc", **fields)
        self._bound.__exit__(None, None, None)

    def parse(self, parse: Callable[[bytes], Any] | None, body: bytes) -> Any:
        if parse is None:
            return body
        try:
            return parse(body)
        except DecodeError as exc:
            raise errors.InvalidArgument(
                "request", f"not a valid {self.name} request: {exc}"
            ) from None

    async def parsed(
        self, parse: Callable[[bytes], Any] | None, requests: AsyncIterator[bytes]
    ) -> AsyncIterator[Any]:
        async for body in requests:
            self.received += 1
            yield self.parse(parse, body)


class _Internal(errors.DomainError):
    """A fault of ours, answered INTERNAL without its details (those are in the log)."""

    code = "INTERNAL"
    default_reason = "INTERNAL"
