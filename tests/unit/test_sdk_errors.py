"""The SDK's pure parts: gRPC errors as exceptions, configuration, request ids, builders."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from crewline.client import (
    ConfigError,
    CrewlineError,
    Endpoints,
    InvalidArgument,
    NotFound,
    Overloaded,
    Refused,
    build,
    errors,
)
from crewline.client.config import credential_from
from crewline.client.ids import new_request_id, request_id_or_new


class FakeRpcError(grpc.RpcError):
    """A failed call as grpc-status reports it: code, details, trailing metadata."""

    def __init__(
        self,
        code: grpc.StatusCode,
        details: str,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
        correlation_id: str = "corr-1",
    ) -> None:
        self._code, self._details = code, details
        trailing: list[tuple[str, Any]] = [("x-correlation-id", correlation_id)]
        if reason is not None:
            detail = any_pb2.Any()
            detail.Pack(
                error_details_pb2.ErrorInfo(
                    reason=reason, domain="crewline", metadata=metadata or {}
                )
            )
            status = status_pb2.Status(code=code.value[0], message=details, details=[detail])
            trailing.append(("grpc-status-details-bin", status.SerializeToString()))
        self._trailing = tuple(trailing)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[tuple[str, Any], ...]:
        return self._trailing


def test_invalid_argument_carries_code_reason_field_and_message() -> None:
    err = errors.from_rpc_error(
        FakeRpcError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "task_id:  must be a UUID",
            reason="INVALID_FIELD",
            metadata={"field": "task_id"},
        ),
        method="crewline.v1.WorkService/ClaimTask",
    )
    assert isinstance(err, InvalidArgument)
    assert (err.code, err.code_name, err.reason, err.field) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        "INVALID_FIELD",
        "task_id",
    )
    assert err.message == "task_id: must be a UUID"  # one line, spaces collapsed
    assert err.correlation_id == "corr-1"
    assert str(err) == (
        "crewline.v1.WorkService/ClaimTask: INVALID_ARGUMENT [INVALID_FIELD]:"
        " task_id: must be a UUID"
    )


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (grpc.StatusCode.NOT_FOUND, NotFound),
        (grpc.StatusCode.FAILED_PRECONDITION, Refused),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, Overloaded),
        (grpc.StatusCode.PERMISSION_DENIED, errors.PermissionDenied),
        (grpc.StatusCode.UNAUTHENTICATED, errors.Unauthenticated),
        (grpc.StatusCode.UNAVAILABLE, errors.Unavailable),
        (grpc.StatusCode.ABORTED, errors.Aborted),
    ],
)
def test_each_code_has_its_class(code: grpc.StatusCode, cls: type[CrewlineError]) -> None:
    err = errors.from_rpc_error(FakeRpcError(code, "no", reason="WHY"))
    assert type(err) is cls and err.code == code and err.reason == "WHY"
    assert err.field is None


def test_an_unmapped_code_is_the_base_class_without_a_reason() -> None:
    err = errors.from_rpc_error(FakeRpcError(grpc.StatusCode.INTERNAL, "boom"))
    assert type(err) is CrewlineError
    assert (err.code_name, err.reason, err.field) == ("INTERNAL", None, None)


def test_refused_claim_reason_reads_as_the_server_sent_it() -> None:
    err = errors.from_rpc_error(
        FakeRpcError(grpc.StatusCode.FAILED_PRECONDITION, "full", reason="NO_FREE_SLOT")
    )
    assert isinstance(err, errors.FailedPrecondition)  # the same class as Refused
    assert err.reason == "NO_FREE_SLOT"


def test_endpoints_and_credentials_come_from_the_environment_or_defaults() -> None:
    env = {
        "CREWLINE_MATCHER_GRPC_ADDR": "matcher.example:443",
        "CREWLINE_CREDENTIAL": " crwk_x ",
    }
    found = Endpoints.from_env(env)
    assert (found.dispatcher, found.matcher, found.ledger) == (
        "127.0.0.1:50051",
        "matcher.example:443",
        "127.0.0.1:50053",
    )
    assert found.tls is None
    assert credential_from(None, variable="CREWLINE_CREDENTIAL", env=env, who="Client") == "crwk_x"
    assert credential_from("given", variable="CREWLINE_CREDENTIAL", env=env, who="C") == "given"
    with pytest.raises(ConfigError, match="CREWLINE_OPERATOR_CREDENTIAL"):
        credential_from(None, variable="CREWLINE_OPERATOR_CREDENTIAL", env=env, who="Operator")


def test_tls_is_on_when_the_environment_names_a_ca() -> None:
    found = Endpoints.from_env({"CREWLINE_TLS_CA_FILE": "/etc/ca.pem"})
    assert found.tls is not None and str(found.tls.ca_file) == "/etc/ca.pem"


def test_a_request_id_is_made_only_when_none_is_given() -> None:
    made = new_request_id()
    assert uuid.UUID(made).version == 4
    assert new_request_id() != made
    assert request_id_or_new("mine") == "mine"
    assert uuid.UUID(request_id_or_new(None)).version == 4
    assert uuid.UUID(request_id_or_new("")).version == 4


def test_task_specs_encode_their_payload_by_type_and_get_a_key() -> None:
    as_json = build.task({"q": "é"}, slots=2, priority=0)
    assert as_json.payload_json == '{"q":"\\u00e9"}'
    assert as_json.slots == 2 and as_json.HasField("priority") and as_json.priority == 0
    assert uuid.UUID(as_json.idempotency_key).version == 4
    assert build.task(b"\x00", idempotency_key="k").payload_bytes == b"\x00"
    assert build.task("[1]", idempotency_key="k").payload_json == "[1]"
    assert not build.task("{}").HasField("priority")


def test_money_is_integer_minor_units_only() -> None:
    assert build.usd(250).amount_minor == 250
    with pytest.raises(TypeError, match="amount_minor"):
        build.money(2.5, "USD")  # type: ignore[arg-type]
    terms = build.hourly(build.usd(1800), max_paid_seconds=600)
    assert terms.hourly.rate.amount_minor == 1800 and terms.hourly.max_paid_seconds == 600
