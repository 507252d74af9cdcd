"""The kernel's edge, for every RPC shape, through a real gRPC server and a real database.

A small Echo service (unary, server-, client- and bidirectional streaming) stands in
for the offers and watch streams to come: each call must be authenticated, checked
against the access policy, logged once (twice for a stream: opened and closed, with
message counts), counted by method and code, and its errors mapped the same way
whatever the shape.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import grpc
import pytest
import structlog
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc
from structlog.testing import capture_logs as _capture_logs

from crewline import errors
from crewline.auth.authenticator import Authenticator
from crewline.auth.credentials import new_operator_credential, sha256_hex
from crewline.auth.principal import CLIENTS, OPERATORS
from crewline.client.errors import error_reason
from crewline.client.metadata import CORRELATION_METADATA
from crewline.edge import AccessPolicy, EdgeInterceptor, principal_of
from crewline.grpc_server import build_server
from crewline.metrics import Metrics
from crewline.settings import AuthSettings
from crewline.timekeeping import SystemClock

from stack import eventually, free_port


async def _true(value: bool) -> bool:
    return value


OPERATOR = new_operator_credential()
SERVICE = "test.Echo"
RULES = {
    f"/{SERVICE}/{m}": OPERATORS for m in ("Unary", "ServerStream", "ClientStream", "Bidi")
} | {f"/{SERVICE}/ClientsOnly": CLIENTS}


class Echo:
    """Replies with the caller and the text; 'fail' raises NotFound, in any shape. A unary
    'huge' sends the database an int beyond bigint; 'closed' queries a closed connection."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.release = asyncio.Event()
        self.entered = 0

    async def unary(self, req: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
        if req.value == "block":
            self.entered += 1
            await self.release.wait()
        if req.value == "huge":
            await self.pool.fetchval("SELECT $1::bigint", 2**70)
        if req.value == "closed":
            async with self.pool.acquire() as conn:
                await conn.close()
                await conn.fetchval("SELECT 1")
        return StringValue(value=f"{principal_of(context)} {req.value}")

    async def server_stream(
        self, req: StringValue, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[StringValue]:
        for n in range(3):
            if req.value == "fail" and n == 1:
                raise errors.NotFound("no such thing", reason="THING_NOT_FOUND")
            yield StringValue(value=f"{req.value}-{n}")

    async def client_stream(
        self, reqs: AsyncIterator[StringValue], context: grpc.aio.ServicerContext
    ) -> StringValue:
        return StringValue(value="+".join([r.value async for r in reqs]))

    async def bidi(
        self, reqs: AsyncIterator[StringValue], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[StringValue]:
        async for r in reqs:
            if r.value == "fail":
                raise errors.NotFound("no such thing", reason="THING_NOT_FOUND")
            yield StringValue(value=r.value.upper())

    def register(self, server: grpc.aio.Server) -> None:
        ser, de = StringValue.SerializeToString, StringValue.FromString
        handlers = {
            "Unary": grpc.unary_unary_rpc_method_handler(self.unary, de, ser),
            "ClientsOnly": grpc.unary_unary_rpc_method_handler(self.unary, de, ser),
            "ServerStream": grpc.unary_stream_rpc_method_handler(self.server_stream, de, ser),
            "ClientStream": grpc.stream_unary_rpc_method_handler(self.client_stream, de, ser),
            "Bidi": grpc.stream_stream_rpc_method_handler(self.bidi, de, ser),
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


@dataclass
class Running:
    channel: grpc.aio.Channel
    echo: Echo
    metrics: Metrics

    def stub(self, method: str, kind: str) -> Any:
        make = getattr(self.channel, kind)
        return make(
            f"/{SERVICE}/{method}",
            request_serializer=StringValue.SerializeToString,
            response_deserializer=StringValue.FromString,
        )

    def count(self, method: str, code: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "crewline_test_rpc_requests_total", {"method": method, "code": code}
        )
        return value or 0.0

    async def counted(self, method: str, code: str, expected: float) -> bool:
        """Whether the call was counted: the edge counts it as the call ends, which may be
        just after the caller has its answer."""

        async def reached() -> bool:
            return self.count(method, code) >= expected

        await eventually(reached, timeout=10)
        return self.count(method, code) == expected


@pytest.fixture
async def running(pool: asyncpg.Pool) -> AsyncIterator[Running]:
    metrics = Metrics.create("test")
    edge = EdgeInterceptor(
        metrics=metrics,
        authenticator=Authenticator(
            pool=pool,
            settings=AuthSettings(operator_credential_sha256=frozenset({sha256_hex(OPERATOR)})),
            clock=SystemClock(),
        ),
        policy=AccessPolicy(RULES),
        max_in_flight=2,
    )
    echo = Echo(pool)
    port = free_port()
    server, _ = build_server(
        host="127.0.0.1",
        port=port,
        interceptors=[edge],
        register=[echo.register],
        service_names=[SERVICE],
    )
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield Running(channel, echo, metrics)
    await server.stop(None)


AS_OPERATOR = (("authorization", f"Bearer {OPERATOR}"),)


def reason_of(err: grpc.aio.AioRpcError) -> str | None:
    """The machine-readable reason the server put in the status details."""
    return error_reason(err)


def capture_logs() -> Any:
    """Log lines as dicts, with the values bound at the edge (correlation id, rpc)."""
    return _capture_logs(processors=[structlog.contextvars.merge_contextvars])


def lines(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == event]


async def test_unary_call_is_authenticated_logged_once_and_counted(running: Running) -> None:
    with capture_logs() as logs:
        reply = await running.stub("Unary", "unary_unary")(
            StringValue(value="hi"), metadata=AS_OPERATOR
        )
    assert reply.value == "operator:operator hi"
    [line] = lines(logs, "rpc")
    assert (line["code"], line["principal"], line["rpc"]) == ("OK", "operator:operator", "Unary")
    assert await running.counted("Unary", "OK", 1)


@pytest.mark.parametrize(
    ("given", "kept"),
    [("corr-1:a/b=", True), ("x" * 128, True), ("x" * 129, False), ("two words", False)],
)
async def test_a_callers_correlation_id_is_kept_only_when_short_and_printable(
    running: Running, given: str, kept: bool
) -> None:
    with capture_logs() as logs:
        call = running.stub("Unary", "unary_unary")(
            StringValue(value="hi"), metadata=(*AS_OPERATOR, (CORRELATION_METADATA, given))
        )
        await call
        trailing = dict(await call.trailing_metadata() or ())
    [line] = lines(logs, "rpc")
    assert line["correlation_id"] == trailing[CORRELATION_METADATA]
    if kept:
        assert trailing[CORRELATION_METADATA] == given
    else:  # a fresh one, as for a call that gave none
        assert re.fullmatch(r"[0-9a-f]{32}", str(trailing[CORRELATION_METADATA]))


async def test_server_stream_logs_open_and_close_with_its_message_count(running: Running) -> None:
    with capture_logs() as logs:
        call = running.stub("ServerStream", "unary_stream")(
            StringValue(value="x"), metadata=AS_OPERATOR
        )
        replies = [r.value async for r in call]
    assert replies == ["x-0", "x-1", "x-2"]
    assert len(lines(logs, "rpc_stream_opened")) == 1
    [closed] = lines(logs, "rpc_stream_closed")
    assert (closed["code"], closed["messages_sent"]) == ("OK", 3)
    assert await running.counted("ServerStream", "OK", 1)


async def test_domain_error_inside_a_stream_maps_as_in_a_unary_call(running: Running) -> None:
    call = running.stub("ServerStream", "unary_stream")(
        StringValue(value="fail"), metadata=AS_OPERATOR
    )
    got = []
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for r in call:
            got.append(r.value)
    assert got == ["fail-0"]
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(err.value) == "THING_NOT_FOUND"
    assert await running.counted("ServerStream", "NOT_FOUND", 1)

    bidi = running.stub("Bidi", "stream_stream")(metadata=AS_OPERATOR)
    await bidi.write(StringValue(value="fail"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await bidi.read()
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(err.value) == "THING_NOT_FOUND"
    assert await running.counted("Bidi", "NOT_FOUND", 1)


async def test_a_value_the_database_cannot_encode_is_internal_and_a_lost_connection_unavailable(
    running: Running,
) -> None:
    """A request value that slipped past validation and that asyncpg cannot encode (an int
    beyond bigint: its DataError, before the query is sent) is a bug, INTERNAL: retrying
    cannot help. A closed connection (an InterfaceError) passes: UNAVAILABLE, retry."""
    unary = running.stub("Unary", "unary_unary")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await unary(StringValue(value="huge"), metadata=AS_OPERATOR)
    assert err.value.code() == grpc.StatusCode.INTERNAL
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await unary(StringValue(value="closed"), metadata=AS_OPERATOR)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert await running.counted("Unary", "INTERNAL", 1)
    assert await running.counted("Unary", "UNAVAILABLE", 1)


async def test_client_and_bidi_streams_count_what_they_receive(running: Running) -> None:
    async def three() -> AsyncIterator[StringValue]:
        for text in ("a", "b", "c"):
            yield StringValue(value=text)

    with capture_logs() as logs:
        joined = await running.stub("ClientStream", "stream_unary")(three(), metadata=AS_OPERATOR)
        echoed = [
            r.value
            async for r in running.stub("Bidi", "stream_stream")(three(), metadata=AS_OPERATOR)
        ]
    assert joined.value == "a+b+c" and echoed == ["A", "B", "C"]
    closed = {line["rpc"]: line for line in lines(logs, "rpc_stream_closed")}
    assert closed["ClientStream"]["messages_received"] == 3
    assert (closed["Bidi"]["messages_received"], closed["Bidi"]["messages_sent"]) == (3, 3)


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ((), "CREDENTIAL_MISSING"),
        ((("authorization", "Basic abc"),), "CREDENTIAL_MALFORMED"),
        ((("authorization", f"Bearer {new_operator_credential()}"),), "CREDENTIAL_FORGED"),
        ((("authorization", "Bearer crwk_0123456789abcdef_" + "A" * 43),), "CREDENTIAL_FORGED"),
    ],
)
async def test_every_shape_refuses_a_bad_credential_before_the_servicer_runs(
    running: Running, metadata: tuple[tuple[str, str], ...], reason: str
) -> None:
    async def one() -> AsyncIterator[StringValue]:
        yield StringValue(value="a")

    calls = [
        running.stub("Unary", "unary_unary")(StringValue(value="a"), metadata=metadata),
        running.stub("ClientStream", "stream_unary")(one(), metadata=metadata),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert reason_of(err.value) == reason
    stream = running.stub("ServerStream", "unary_stream")(StringValue(value="a"), metadata=metadata)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for _ in stream:
            raise AssertionError("the servicer must not run")
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert await running.counted("ServerStream", "UNAUTHENTICATED", 1)


async def test_a_principal_of_the_wrong_kind_is_denied(running: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await running.stub("ClientsOnly", "unary_unary")(
            StringValue(value="a"), metadata=AS_OPERATOR
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await running.counted("ClientsOnly", "PERMISSION_DENIED", 1)


async def test_calls_beyond_the_limit_are_resource_exhausted_and_counted(running: Running) -> None:
    unary = running.stub("Unary", "unary_unary")
    held = [
        asyncio.ensure_future(unary(StringValue(value="block"), metadata=AS_OPERATOR))
        for _ in range(2)
    ]
    await eventually(lambda: _true(running.echo.entered == 2))  # both inside the servicer
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await unary(StringValue(value="third"), metadata=AS_OPERATOR)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reason_of(err.value) == "OVERLOADED"
    running.echo.release.set()
    assert [r.value for r in await asyncio.gather(*held)] == ["operator:operator block"] * 2
    assert await running.counted("Unary", "RESOURCE_EXHAUSTED", 1)
    # The limit is on calls in flight: with those done, a call is admitted again.
    assert (await unary(StringValue(value="after"), metadata=AS_OPERATOR)).value.endswith("after")


async def test_a_stream_body_that_is_not_the_message_is_invalid_argument(running: Running) -> None:
    raw = running.channel.stream_unary(f"/{SERVICE}/ClientStream")

    def bodies() -> Iterator[bytes]:
        yield b"\x0a\x01\xff"  # field 1 (a string) holding bytes that are not UTF-8

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await raw(bodies(), metadata=AS_OPERATOR)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(err.value) == "INVALID_FIELD"


async def test_a_taken_port_is_refused_unless_every_process_asks_to_share_it() -> None:
    """Several processes of a service on one host share its port only when each sets
    CREWLINE_<SERVICE>_GRPC_REUSE_PORT; the kernel then spreads connections among them."""
    port = free_port()

    def server(reuse: bool) -> tuple[grpc.aio.Server, Any]:
        return build_server(
            host="127.0.0.1",
            port=port,
            interceptors=[],
            register=[],
            service_names=[],
            reuse_port=reuse,
        )

    first, _ = server(False)
    await first.start()
    try:
        with pytest.raises(RuntimeError):
            server(False)
    finally:
        await first.stop(None)

    one, one_health = server(True)
    two, two_health = server(True)
    await one_health.set("", health_pb2.HealthCheckResponse.SERVING)
    await two_health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    await one.start()
    await two.start()
    try:
        seen = set()
        for _ in range(32):  # each its own connection: all 32 on one server, p = 2**-31
            options = [("grpc.use_local_subchannel_pool", 1)]
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) as ch:
                reply = await health_pb2_grpc.HealthStub(ch).Check(
                    health_pb2.HealthCheckRequest(service="")
                )
                seen.add(reply.status)
        assert seen == {
            health_pb2.HealthCheckResponse.SERVING,
            health_pb2.HealthCheckResponse.NOT_SERVING,
        }
    finally:
        await one.stop(None)
        await two.stop(None)
