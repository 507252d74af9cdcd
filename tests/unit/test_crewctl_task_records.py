"""What crewctl makes of the dispatcher's and matcher's messages: tasks, claims and watch
events as records of plain values."""

from __future__ import annotations

import base64
import json

from crewctl_task_data import (
    AT,
    TASK_ID,
    TERMS,
)
from google.protobuf import timestamp_pb2

from crewline.ctl.records.claims import claim_record
from crewline.ctl.records.tasks import task_record, watch_event_record
from crewline.v1 import claim_pb2, events_pb2, money_pb2, project_pb2
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api


def ts(text: str) -> timestamp_pb2.Timestamp:
    at = timestamp_pb2.Timestamp()
    at.FromJsonString(text)
    return at


HOURLY = project_pb2.PayTerms(
    version=1,
    hourly=project_pb2.HourlyPay(
        rate=money_pb2.Money(currency_code="USD", amount_minor=3000), max_paid_seconds=7200
    ),
    effective_at=ts(AT),
)


def test_a_task_message_becomes_a_record_with_a_binary_payload_in_base64() -> None:
    pb = task_api.Task(
        task_id=TASK_ID,
        status=task_api.TASK_STATUS_CANCELLED,
        slots=3,
        live_claims=1,
        payload_bytes=b"\x00\x01",
        created_at=ts(AT),
        cancelled_at=ts(AT),
    )
    record = task_record(pb)
    assert (record["status"], record["slots"], record["live_claims"]) == ("cancelled", 3, 1)
    assert (record["payload_json"], record["payload_base64"]) == (None, "AAE=")
    assert (record["cancelled_at"], record["expires_at"]) == (AT, None)


def test_a_claim_message_becomes_a_record_with_its_lease_and_how_it_ends() -> None:
    pb = work_api.Claim(
        claim_id="c-1",
        status=work_api.CLAIM_STATUS_ACTIVE,
        deadline_at=ts("2026-01-02T04:04:05Z"),
        max_deadline_at=ts("2026-01-02T06:04:05Z"),
        worked_seconds=600,
        cut=claim_pb2.CLAIM_END_REASON_TASK_CANCELLED,
        pay_terms=HOURLY,
        payload_json="{}",
    )
    record = claim_record(pb)
    assert (record["status"], record["cut"], record["end_reason"]) == (
        "active",
        "task_cancelled",
        None,
    )
    assert (record["deadline_at"], record["worked_seconds"]) == ("2026-01-02T04:04:05Z", 600)
    assert record["pay_terms"] == TERMS


def test_watch_events_become_records_with_plain_values() -> None:
    settled = task_api.WatchEvent(
        cursor="c9",
        at=ts(AT),
        task_id=TASK_ID,
        project_id="p-1",
        claim_settled=events_pb2.ClaimSettled(
            claim_id="c-1",
            amount=money_pb2.Money(currency_code="USD", amount_minor=1250),
            worked_seconds=1500,
            pay_terms=HOURLY,
            reason=claim_pb2.CLAIM_END_REASON_PROJECT_PAUSED,
            settled_at=ts(AT),
        ),
    )
    record = watch_event_record(settled)
    assert (record["cursor"], record["type"], record["at"]) == ("c9", "claim_settled", AT)
    e = record["event"]
    assert e["amount"] == {"currency": "USD", "amount_minor": 1250}
    assert (e["reason"], e["worked_seconds"], e["settled_at"]) == ("project_paused", 1500, AT)
    assert e["pay_terms"] == TERMS
    json.dumps(record)  # every value is JSON-ready

    changed = watch_event_record(
        task_api.WatchEvent(cursor="c10", task_changed=task_api.Task(task_id=TASK_ID, slots=4))
    )
    assert changed["type"] == "task_changed" and changed["event"]["slots"] == 4
    submitted = watch_event_record(
        task_api.WatchEvent(work_submitted=events_pb2.WorkSubmitted(result=b"ok"))
    )
    assert submitted["event"]["result"] == base64.b64encode(b"ok").decode()
    assert submitted["event"]["reward"] is None  # an unset message field
