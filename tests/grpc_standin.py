"""Stand-in Crewline servers for unit tests of what goes on the wire: every RPC of every
Crewline service (and grpc.health.v1) answers from a script of canned replies, and every
request is recorded.

No Crewline code runs behind them, so a test sees exactly what a client sent and what it
made of a fixed answer. Replies are written as dicts in protobuf's JSON form, refusals as
``Refusal`` (a status code with a ``google.rpc.ErrorInfo`` reason and metadata, as the
services' edge sends them).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import any_pb2, json_format
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from google.rpc import error_details_pb2, status_pb2

ERROR_DOMAIN = "crewline.dev"  # as the services' edge sends it
CORRELATION_ID = "standin-correlation-id"
_CREWLINE_SERVICES = (
    "client_admin_service",
    "contractor_admin_service",
    "ledger_service",
    "ops_service",
    "quality_service",
    "task_service",
    "work_service",
)
_SERVICE_MODULES = (
    *(f"crewline.v1.{name}_pb2" for name in _CREWLINE_SERVICES),
    "grpc_health.v1.health_pb2",
)


def _methods() -> dict[str, MethodDescriptor]:
    found: dict[str, MethodDescriptor] = {}
    for name in _SERVICE_MODULES:
        for service in importlib.import_module(name).DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                found[f"/{service.full_name}/{method.name}"] = method
    return found


METHODS = _methods()
SERVICES = ("dispatcher", "matcher", "ledger", "quality")


@dataclass(frozen=True)
class Refusal:
    """A failed call: ``code`` is a grpc.StatusCode name, e.g. ``"NOT_FOUND"``."""

    code: str
    message: str
    reason: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    def status(self) -> grpc.Status:
        code = grpc.StatusCode[self.code]
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.ErrorInfo(
                reason=self.reason, domain=ERROR_DOMAIN, metadata=dict(self.metadata)
            )
        )
        status = status_pb2.Status(code=code.value[0], message=self.message, details=[detail])
        return _Status(
            code,
            self.message,
            (
                ("x-correlation-id", CORRELATION_ID),
                ("grpc-status-details-bin", status.SerializeToString()),
            ),
        )


@dataclass(frozen=True)
class _Status(grpc.Status):
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


@dataclass(frozen=True)
class Echo:
    """A unary method's answer made from the request received (both in protobuf's JSON
    form), for a reply that repeats what was sent, e.g. the idempotency key."""

    reply: Callable[[dict[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class EachCall:
    """A streaming method's answers call by call: the first call gets ``calls[0]`` (its
    messages, then the end: OK, or a Refusal given last), the next ``calls[1]``, and so
    on, the last one again for later calls; e.g. a stream that breaks, then resumes."""

    calls: Sequence[Sequence[Mapping[str, Any] | Refusal]]


# A unary method's answers are given in turn, the last one again for later calls; a
# streaming method's answers are its messages, then the stream ends (OK, or with a
# Refusal given last), the same for every call unless given as one EachCall.
Answer = Mapping[str, Any] | Refusal | Echo | EachCall
Script = Mapping[str, Sequence[Answer]]


@dataclass(frozen=True)
class Received:
    server: str
    method: str  # e.g. "crewline.v1.TaskService/GetTask"
    authorization: str | None
    request: dict[str, Any]


class StandIn(grpc.GenericRpcHandler):
    """One stand-in server, e.g. the ``dispatcher``; it serves every Crewline service.

    A script's keys are method names (``GetTask``) or, to answer one server only,
    ``server:method`` (``ledger:Check``). A method without an answer is UNIMPLEMENTED.
    """

    def __init__(self, name: str, log: list[Received], lock: threading.Lock) -> None:
        self.name = name
        self._log = log
        self._lock = lock
        self._script: Script = {}
        self._turns: dict[str, int] = {}
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((self,))
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop(0)

    def play(self, script: Script) -> None:
        self._script = script
        self._turns = {}

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = METHODS.get(details.method)
        if method is None:
            return None
        request_type = GetMessageClass(method.input_type)
        reply_type = GetMessageClass(method.output_type)

        def unary(request: Message, context: grpc.ServicerContext) -> Message:
            answer = self._next(method, request, context)
            if isinstance(answer, Echo):
                answer = answer.reply(
                    json_format.MessageToDict(request, preserving_proto_field_name=True)
                )
            return self._reply(answer, reply_type, context)

        def stream(request: Message, context: grpc.ServicerContext) -> Iterator[Message]:
            self._record(method, request, context)
            for answer in self._this_call(method):
                yield self._reply(answer, reply_type, context)

        if method.server_streaming:
            return grpc.unary_stream_rpc_method_handler(
                stream,
                request_deserializer=request_type.FromString,
                response_serializer=reply_type.SerializeToString,
            )
        return grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=request_type.FromString,
            response_serializer=reply_type.SerializeToString,
        )

    def _answers(self, method: MethodDescriptor) -> Sequence[Answer]:
        answers = self._script.get(f"{self.name}:{method.name}", self._script.get(method.name))
        if answers is None:
            return [Refusal("UNIMPLEMENTED", f"no canned answer for {method.name}")]
        return answers

    def _this_call(self, method: MethodDescriptor) -> Sequence[Answer]:
        """A streaming method's answers to this call (see ``EachCall``)."""
        answers = self._answers(method)
        if len(answers) != 1 or not isinstance(answers[0], EachCall):
            return answers
        with self._lock:
            turn = self._turns.get(method.name, 0)
            self._turns[method.name] = turn + 1
        calls = answers[0].calls
        return calls[min(turn, len(calls) - 1)]

    def _next(
        self, method: MethodDescriptor, request: Message, context: grpc.ServicerContext
    ) -> Answer:
        answers = self._answers(method)
        self._record(method, request, context)
        with self._lock:
            turn = self._turns.get(method.name, 0)
            self._turns[method.name] = turn + 1
        return answers[min(turn, len(answers) - 1)]

    def _record(
        self, method: MethodDescriptor, request: Message, context: grpc.ServicerContext
    ) -> None:
        metadata = dict(context.invocation_metadata() or ())
        authorization = metadata.get("authorization")
        received = Received(
            server=self.name,
            method=f"{method.containing_service.full_name}/{method.name}",
            authorization=str(authorization) if authorization is not None else None,
            request=json_format.MessageToDict(request, preserving_proto_field_name=True),
        )
        with self._lock:
            self._log.append(received)

    @staticmethod
    def _reply(answer: Answer, reply_type: type[Message], context: grpc.ServicerContext) -> Message:
        if isinstance(answer, Refusal):
            context.abort_with_status(answer.status())
            raise AssertionError("abort_with_status returned")
        if isinstance(answer, Echo):
            raise TypeError("an Echo answers unary methods only")
        if isinstance(answer, EachCall):
            raise TypeError("an EachCall answers streaming methods only")
        return json_format.ParseDict(dict(answer), reply_type())


class StandIns:
    """The stand-in servers, one per service (dispatcher, matcher, ledger, quality), sharing
    one log."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        lock = threading.Lock()
        self.servers = {name: StandIn(name, self.received, lock) for name in SERVICES}

    def __enter__(self) -> StandIns:
        for server in self.servers.values():
            server.start()
        return self

    def __exit__(self, *_: object) -> None:
        for server in self.servers.values():
            server.stop()

    def play(self, script: Script) -> None:
        """Answer from ``script`` from now on, with an empty log."""
        self.received.clear()
        for server in self.servers.values():
            server.play(script)

    def address(self, name: str) -> str:
        return self.servers[name].address
