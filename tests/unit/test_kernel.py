"""Pure parts of the shared kernel: envelope, settings, migrations files, error mapping."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from crewline import errors, outbox, paging
from crewline.auth.credentials import TokenVerifier, new_signing_key_pem
from crewline.db import KERNEL_MIGRATIONS, load_migrations
from crewline.edge import status_for
from crewline.events import MalformedEvent, PayloadTypes, parse_envelope, wrap
from crewline.protobuf import from_timestamp, timestamp
from crewline.settings import ServiceSettings, SettingsError
from crewline.v1 import events_pb2

SERVICE_MIGRATIONS = [
    Path(__file__).parents[2] / "services" / name / "migrations"
    for name in ("dispatcher", "matcher", "ledger")
]


def test_envelope_round_trips_and_unpacks_to_its_payload_type() -> None:
    published = events_pb2.TaskPublished(task_id="t1", slots=3)
    env = wrap(published, producer="dispatcher", correlation_id="c-1")
    back = parse_envelope(env.SerializeToString())
    assert back.type == "crewline.v1.TaskPublished"
    assert (back.producer, back.correlation_id) == ("dispatcher", "c-1")
    uuid.UUID(back.event_id)
    payload = PayloadTypes.of([events_pb2.TaskPublished]).unpack(back)
    assert payload == published


def test_payload_of_a_type_nobody_routes_is_ignored_not_failed() -> None:
    env = wrap(events_pb2.PayPosted(), producer="ledger", correlation_id="c")
    assert PayloadTypes.of([events_pb2.TaskPublished]).unpack(env) is None


@pytest.mark.parametrize("value", [None, b"", b"\xff\xff\xff garbage"])
def test_garbage_record_is_malformed(value: bytes | None) -> None:
    with pytest.raises(MalformedEvent):
        parse_envelope(value)


_ID = "8c3f3c4e-6a9f-4d0b-9a51-2f6f0f1c2b3a"


@pytest.mark.parametrize(
    "event_id", [f"{{{_ID}}}", f"urn:uuid:{_ID}", _ID.upper(), _ID.replace("-", "")]
)
def test_event_id_in_any_but_the_canonical_uuid_form_is_malformed(event_id: str) -> None:
    env = wrap(events_pb2.TaskPublished(), producer="x", correlation_id="c")
    env.event_id = event_id
    with pytest.raises(MalformedEvent, match="canonical"):
        parse_envelope(env.SerializeToString())


def test_envelope_whose_type_disagrees_with_payload_is_malformed() -> None:
    env = wrap(events_pb2.TaskPublished(), producer="x", correlation_id="c")
    env.type = "crewline.v1.PayPosted"
    with pytest.raises(MalformedEvent):
        parse_envelope(env.SerializeToString())


def test_settings_defaults_bind_loopback_and_the_documented_ports() -> None:
    s = ServiceSettings.from_env(name="matcher", grpc_port=50052, metrics_port=9102, env={})
    assert (s.grpc_host, s.grpc_port, s.metrics_host, s.metrics_port) == (
        "127.0.0.1",
        50052,
        "127.0.0.1",
        9102,
    )
    assert s.postgres.dsn == "postgresql://crewline@127.0.0.1:55432/crewline_matcher"
    assert s.kafka.bootstrap_servers == "127.0.0.1:59092"
    assert not s.grpc_reuse_port  # a second process on the port fails to start


def test_settings_are_overridden_by_environment() -> None:
    env = {
        "CREWLINE_MATCHER_GRPC_ADDR": "127.0.0.1:6000",
        "CREWLINE_MATCHER_PG_DB": "other",
        "CREWLINE_KAFKA_NAMESPACE": "t1.",
        "CREWLINE_MATCHER_GRPC_REUSE_PORT": "True",
    }
    s = ServiceSettings.from_env(name="matcher", grpc_port=50052, metrics_port=9102, env=env)
    assert s.grpc_port == 6000 and s.grpc_reuse_port
    assert s.postgres.database == "other"
    assert s.kafka.topic("crewline.tasks.v1") == "t1.crewline.tasks.v1"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CREWLINE_MATCHER_GRPC_ADDR", "no-port"),
        ("CREWLINE_PG_PORT", "five"),
        ("CREWLINE_MATCHER_GRPC_REUSE_PORT", "maybe"),
    ],
)
def test_malformed_setting_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        ServiceSettings.from_env(name="matcher", grpc_port=1, metrics_port=2, env={name: value})


@pytest.mark.parametrize("directory", [KERNEL_MIGRATIONS, *SERVICE_MIGRATIONS])
def test_migration_sets_are_numbered_from_one_without_gaps(directory: Path) -> None:
    versions = [m.version for m in load_migrations(directory)]
    assert versions == list(range(1, len(versions) + 1))


def test_misnamed_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_init.sql").write_text("SELECT 1")
    with pytest.raises(ValueError, match=r"NNNN_name\.sql"):
        load_migrations(tmp_path)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.InvalidArgument("slots", "bad"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.NotFound("x"), grpc.StatusCode.NOT_FOUND),
        (errors.AlreadyExists("x"), grpc.StatusCode.ALREADY_EXISTS),
        (errors.FailedPrecondition("x"), grpc.StatusCode.FAILED_PRECONDITION),
        (errors.Aborted("x"), grpc.StatusCode.ABORTED),
        (errors.Unauthenticated("x"), grpc.StatusCode.UNAUTHENTICATED),
        (errors.PermissionDenied("x"), grpc.StatusCode.PERMISSION_DENIED),
        (errors.ResourceExhausted("x"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (errors.Unavailable("x"), grpc.StatusCode.UNAVAILABLE),
    ],
)
def test_domain_errors_map_to_caller_facing_codes(
    error: errors.DomainError, code: grpc.StatusCode
) -> None:
    assert status_for(error) == code
    assert error.reason  # every error carries a machine-readable reason


def test_an_error_class_without_its_own_code_cannot_be_defined() -> None:
    with pytest.raises(TypeError, match="code"):

        class Vague(errors.NotFound):  # inherits NOT_FOUND silently: refused
            pass


def test_invalid_argument_names_its_field_in_message_and_metadata() -> None:
    err = errors.InvalidArgument("reward.amount_minor", "must be greater than zero")
    assert err.message == "reward.amount_minor: must be greater than zero"
    assert (err.reason, err.metadata) == ("INVALID_FIELD", {"field": "reward.amount_minor"})


def test_an_error_quotes_a_long_value_by_its_start_and_length_and_stays_small() -> None:
    err = errors.InvalidArgument("update_mask", f"{'p' * 9000!r} is not a field")
    assert err.message == f"update_mask: '{'p' * 63}...(9002 characters) is not a field"
    assert errors.InvalidArgument("f", "short 'value'").message == "f: short 'value'"
    # A value of a size Crewline takes (a 128-character id, quoted) is quoted whole.
    longest = f"no contractor {'c' * 128!r} here; qualification 'domain.{'d' * 57}'"
    assert errors.NotFound(longest).message == longest
    # Many short words, or wide characters, are capped as a whole, in bytes.
    for problem in ("word " * 2000, "é" * 60 + " " + "€ " * 3000):
        err = errors.FailedPrecondition(problem, metadata={"field": "x" * 500})
        assert len(err.message.encode()) <= errors.MESSAGE_BYTES
        assert err.message.endswith(f"...({len(problem)} characters in all)")
        assert err.metadata == {"field": f"{'x' * 64}...(500 characters)"}


async def test_enqueue_outside_a_transaction_is_refused() -> None:
    class NotInTransaction:
        def is_in_transaction(self) -> bool:
            return False

    with pytest.raises(RuntimeError, match="transaction"):
        await outbox.enqueue(
            NotInTransaction(),  # type: ignore[arg-type]
            topic="crewline.tasks.v1",
            key="k",
            payload=events_pb2.TaskPublished(),
            producer="t",
        )


def test_page_tokens_round_trip_and_any_other_token_names_the_field() -> None:
    at = datetime(2026, 1, 1, 12, 0, 0, 123_456, tzinfo=UTC)
    key = str(uuid.uuid4())
    cursor = paging.PageCursor(at, key)
    assert paging.PageCursor.from_token(cursor.token()) == cursor
    assert paging.decode_token(paging.encode_token("7", "x", "y"), parts=3) == ["7", "x", "y"]
    # Another way to write the same time or UUID reads back as the one Crewline writes.
    other = paging.encode_token("2026-01-01T14:00:00.123456+02:00", "{" + key.upper() + "}")
    assert paging.PageCursor.from_token(other) == cursor
    foreign = [
        "%%%",
        "bm90IGEgY3Vyc29y",  # "not a cursor"
        paging.encode_token("2026-01-01T12:00:00", key),  # no timezone
        paging.encode_token("yesterday", key),
        paging.encode_token("0001-01-01T00:00:00+14:00", key),  # no UTC date: asyncpg can't send it
        paging.encode_token("9999-12-31T23:59:59-14:00", key),
        paging.encode_token(at.isoformat(), "p-1"),  # every cursor's id is a UUID
        paging.encode_token(at.isoformat(), key[:-1] + "\x00"),  # PostgreSQL text can't hold NUL
        paging.encode_token("7", "x", "y"),  # three parts, two expected
        base64.urlsafe_b64encode(b"\xff|\xfe").decode(),  # not UTF-8
    ]
    for token in foreign:
        with pytest.raises(errors.InvalidArgument) as err:
            paging.PageCursor.from_token(token)
        assert err.value.field == "page_token", token
    with pytest.raises(ValueError):
        paging.encode_token("a|b")
    assert paging.page_size(0, default=50, maximum=100) == 50
    with pytest.raises(errors.InvalidArgument) as err:
        paging.page_size(101, default=50, maximum=100)
    assert err.value.field == "page_size"


def test_a_where_clause_numbers_only_the_filters_given() -> None:
    from crewline.db import Where

    where = Where("client_id = {}", "acme")
    where.add("status = {}", "open")
    where.add("(at, id) > ({}, {})", 1, 2)
    assert where.sql == "client_id = $1 AND status = $2 AND (at, id) > ($3, $4)"
    assert where.args == ["acme", "open", 1, 2]


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 22, 18, 47, 42, 123456, tzinfo=UTC),
        datetime(2026, 11, 22, 19, 47, 42, 999999, tzinfo=timezone(timedelta(hours=1))),
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),  # before the epoch
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 0, 0, 1),  # naive: UTC, as protobuf reads it
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_timestamps_are_protobufs_own_conversion(value: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(value)
    assert timestamp(value) == expected
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    assert from_timestamp(timestamp(value)) == aware


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "EdDSA", "kid": 1},  # PyJWT: the key id must be a string
        {"alg": "EdDSA", "crit": ["x"]},  # an extension nobody supports
        {"crit": 5},
    ],
)
def test_a_token_whose_header_pyjwt_refuses_is_malformed_not_a_server_error(
    header: dict[str, object],
) -> None:
    _, public = new_signing_key_pem()

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    with pytest.raises(errors.Unauthenticated) as err:
        TokenVerifier([public]).verify(f"{part(header)}.{part({})}.AAAA", now=datetime.now(UTC))
    assert err.value.reason == "CREDENTIAL_MALFORMED"


def test_split_page_keeps_the_asked_size_and_names_the_last_item_only_when_more_follow() -> None:
    assert paging.split_page([1, 2, 3], 2) == ([1, 2], 2)
    assert paging.split_page([1, 2], 2) == ([1, 2], None)
    assert paging.split_page([], 2) == ([], None)
