"""The pure parts of deadlines v2: retry delays, clock states, and OpsService's request checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from crewline import errors, ops, paging
from crewline.clock import Deadline, DeadlineRecord, retry_delay
from crewline.v1 import ops_service_pb2 as api

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def record(**changes: object) -> DeadlineRecord:
    deadline = Deadline(
        kind="lease", ref="a|b", generation=1, due_at=NOW, attempts=0, correlation_id="c"
    )
    fields: dict[str, object] = {"fired_at": None, "dead_at": None, "last_error": None}
    return DeadlineRecord(deadline=deadline, **{**fields, **changes})  # type: ignore[arg-type]


def test_retry_delay_doubles_from_the_initial_delay_up_to_the_maximum() -> None:
    delays = [retry_delay(n, initial=1.0, maximum=300.0) for n in range(1, 12)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert retry_delay(10_000, initial=1.0, maximum=300.0) == 300  # no overflow


def test_a_clock_is_pending_fired_or_dead_lettered() -> None:
    assert record().state == "pending"
    assert record(fired_at=NOW).state == "fired"
    assert record(dead_at=NOW, last_error="boom").state == "dead_lettered"


def test_page_tokens_round_trip_kinds_and_refs_of_any_text() -> None:
    dead = record(dead_at=NOW)
    assert ops.cursor_of(ops.page_token(dead)) == (NOW, "lease", "a|b")
    assert ops.cursor_of("") is None


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        paging.encode_token(NOW.isoformat(), "not hex", "6162"),
        paging.encode_token(NOW.isoformat(), "6c65617365", "ff"),  # not UTF-8
        paging.encode_token(NOW.isoformat(), "6c65617365", "6100"),  # a NUL: PostgreSQL text can't
        paging.encode_token("0001-01-01T00:00:00+01:00", "6c65617365", "6162"),  # no UTC date
    ],
)
def test_a_token_the_service_did_not_issue_is_invalid_page_token(token: str) -> None:
    with pytest.raises(errors.InvalidArgument) as err:
        ops.cursor_of(token)
    assert err.value.field == "page_token"


def test_due_at_defaults_to_now_and_may_be_at_most_a_year_ahead() -> None:
    unset = api.RearmDeadlineRequest(kind="lease", ref="a")
    assert ops.due_at_of(unset, NOW) == NOW
    soon = NOW + timedelta(days=366)
    ts = Timestamp()
    ts.FromDatetime(soon)
    assert ops.due_at_of(api.RearmDeadlineRequest(due_at=ts), NOW) == soon
    ts.FromDatetime(soon + timedelta(seconds=1))
    with pytest.raises(errors.InvalidArgument) as err:
        ops.due_at_of(api.RearmDeadlineRequest(due_at=ts), NOW)
    assert err.value.field == "due_at"


@pytest.mark.parametrize(
    ("check", "value", "field"),
    [(ops.kind_of, "", "kind"), (ops.kind_of, "a b", "kind"), (ops.ref_of, "", "ref")],
)
def test_kind_and_ref_are_checked_naming_the_field(check: object, value: str, field: str) -> None:
    with pytest.raises(errors.InvalidArgument) as err:
        check(value)  # type: ignore[operator]
    assert err.value.field == field
