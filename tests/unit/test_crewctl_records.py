"""What crewctl makes of the services' replies: submissions, claims and the ledger's
replies as records, and the status choices as the protos' statuses."""

from __future__ import annotations

import json

from crewctl_review_data import (
    AT,
    SUB_ID,
    USD,
    ts,
    usd,
)

from crewline.ctl.pb import enum_words
from crewline.ctl.records.claims import claim_record
from crewline.ctl.records.ledger import (
    batch_record,
    earnings_record,
    entry_record,
)
from crewline.ctl.records.submissions import (
    FlagRecord,
    flag_kinds,
    flags_text,
    submission_record,
)
from crewline.ctl.submissions import SUBMISSION_STATUSES
from crewline.v1 import claim_pb2, events_pb2
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api


def test_the_status_choices_are_the_protos_statuses() -> None:
    assert SUBMISSION_STATUSES == tuple(enum_words(task_api.SubmissionStatus.DESCRIPTOR))


def test_a_submission_becomes_a_record_with_its_review_pay_and_result() -> None:
    pb = task_api.Submission(
        submission_id=SUB_ID,
        status=task_api.SUBMISSION_STATUS_ACCEPTED,
        submitted_at=ts(AT),
        result=b'{"rating": 4}',
        earned=usd(1250),
        worked_seconds=1500,
        accepted_by=events_pb2.ACCEPTED_BY_OVERRIDE,
        revert_until=ts(AT),
        bonuses=[task_api.Bonus(bonus_id="b-1", idempotency_key="k", amount=usd(500))],
    )
    record = submission_record(pb)
    assert (record["status"], record["accepted_by"], record["earned"]) == (
        "accepted",
        "override",
        USD(1250),
    )
    assert (record["result_text"], record["result_base64"]) == ('{"rating": 4}', None)
    assert record["bonuses"][0]["amount"] == USD(500) and record["reviewed_at"] is None
    binary = submission_record(task_api.Submission(result=b"\xff\x00"))
    assert (binary["result_text"], binary["result_base64"], binary["earned"]) == (
        None,
        "/wA=",
        None,
    )
    json.dumps(record)


def test_a_flagged_submission_carries_every_number_of_its_flags() -> None:
    fast = events_pb2.ReviewFlag(
        kind=events_pb2.FLAG_KIND_FAST,
        evidence="worked 60 s; ...",
        worked_seconds=60,
        median_seconds=600,
        mad_seconds=0,
        scale_seconds=60,
        z_score=-6.07,
        sample_size=20,
    )
    twice = events_pb2.ReviewFlag(
        kind=events_pb2.FLAG_KIND_IMPLAUSIBLE_TIME, overlap_seconds=240, overlapping_claims=2
    )
    record = submission_record(task_api.Submission(submission_id=SUB_ID, flags=[fast, twice]))
    first, second = record["flags"]
    assert set(first) == {f.name for f in events_pb2.ReviewFlag.DESCRIPTOR.fields}
    assert set(FlagRecord.__annotations__) == set(first)
    assert (first["kind"], first["z_score"], first["scale_seconds"]) == ("fast", -6.07, 60)
    assert (second["kind"], second["overlap_seconds"], second["overlapping_claims"]) == (
        "implausible_time",
        240,
        2,
    )
    assert flag_kinds(record["flags"]) == "fast, implausible_time"
    assert flags_text(record["flags"]) == "fast: worked 60 s; ...\nimplausible_time: "
    unflagged = submission_record(task_api.Submission(submission_id=SUB_ID))
    assert unflagged["flags"] == [] and flag_kinds([]) is None and flags_text([]) is None
    newer = submission_record(task_api.Submission(flags=[events_pb2.ReviewFlag(kind=7)]))
    assert newer["flags"][0]["kind"] == "7"  # a kind newer than this crewctl, as its number
    json.dumps(record)


def test_a_claim_shows_its_review_earnings_and_segments() -> None:
    pb = work_api.Claim(
        claim_id="c-1",
        review=claim_pb2.REVIEW_STATE_REJECTED,
        feedback="missing units",
        earned=usd(2000),
        segments=[claim_pb2.WorkSegment(started_at=ts(AT), ended_at=ts("2026-01-02T03:44:05Z"))],
    )
    record = claim_record(pb)
    assert (record["review"], record["feedback"]) == ("rejected", "missing units")
    assert (record["earned"], record["pending"]) == (None, None)  # rejected: earns nothing
    assert record["segments"] == [{"started_at": AT, "ended_at": "2026-01-02T03:44:05Z"}]
    assert claim_record(work_api.Claim())["earned"] is None


def test_ledger_replies_become_records() -> None:
    entry = entry_record(
        ledger_api.StatementEntry(
            transaction_id="tx-1",
            kind=events_pb2.POSTING_KIND_BONUS,
            source="bonus:b-1",
            amount=usd(500),
            balance_after=usd(1750),
            posted_at=ts(AT),
        )
    )
    assert (entry["kind"], entry["amount"], entry["balance_after"], entry["reversal_of"]) == (
        "bonus",
        USD(500),
        USD(1750),
        None,
    )
    earnings = earnings_record(
        ledger_api.GetEarningsResponse(
            contractor_id="dr-lee",
            by_week=[ledger_api.EarningsLine(key="2026-04-27", paid=usd(9000), submissions=3)],
            other=[usd(25_000)],
        )
    )
    assert earnings["by_week"][0]["key"] == "2026-04-27"
    assert earnings["by_week"][0]["per_tracked_hour"] is None and earnings["other"] == [USD(25_000)]
    batch = batch_record(
        ledger_api.PayoutBatch(
            batch_id="b",
            currency_code="USD",
            threshold=usd(5000),
            payouts=[
                ledger_api.Payout(
                    contractor_id="dr-lee",
                    amount=usd(12_500),
                    status=ledger_api.PAYOUT_STATUS_IN_FLIGHT,
                )
            ],
        )
    )
    assert batch["payouts"][0]["status"] == "in_flight" and batch["threshold"] == USD(5000)
