"""crewctl's review and pay commands against stand-in servers: submissions (list, get,
accept, reject, bonus, export, a decisions file), claim submit with the time worked,
earnings, statements, payouts and ledger verify; what each sends and prints, and the
records made of what the services answer."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from crewctl_golden.harness import Crewctl
from google.protobuf import timestamp_pb2
from grpc_standin import Answer, Echo, Refusal, StandIns

from crewline.ctl.decisions import bonus_key, parse_decision
from crewline.ctl.errors import ExitCode
from crewline.ctl.ledger import duration_text, reconciled
from crewline.ctl.pb import MoneyRecord, enum_words
from crewline.ctl.records.claims import ClaimRecord, claim_record
from crewline.ctl.records.ledger import (
    EarningsRecord,
    PayoutBatchRecord,
    VerifyRecord,
    batch_record,
    earnings_record,
    entry_record,
)
from crewline.ctl.records.submissions import SubmissionRecord, submission_record
from crewline.ctl.submissions import SUBMISSION_STATUSES
from crewline.v1 import claim_pb2, events_pb2, money_pb2
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

KEY = "crwk_k1_client-secret"
TOKEN = "eyJ.contractor.token"
OPERATOR = "op-secret"
AT = "2026-01-02T03:04:05Z"
SUB_ID = "3f2b8c1e-9d4a-4c0e-8f5b-2a7d6e1c9b30"


def USD(minor: int) -> MoneyRecord:
    return {"currency": "USD", "amount_minor": minor}


SUBMISSION: SubmissionRecord = {
    "submission_id": SUB_ID,
    "task_id": "t-1",
    "project_id": "p-1",
    "contractor_id": "dr-lee",
    "status": "pending_review",
    "submitted_at": AT,
    "earned": None,  # pending review: what it will earn is under pending
    "pending": {"currency": "USD", "amount_minor": 1250},
    "worked_seconds": 1500,
    "reviewed_at": None,
    "accepted_by": None,
    "feedback": "",
    "revert_until": None,
    "auto_accept_at": "2026-01-05T03:04:05Z",
    "bonuses": [],
    "result_text": '{"rating": 4}',
    "result_base64": None,
}
CLAIM: ClaimRecord = {
    "claim_id": "c-1",
    "task_id": "t-1",
    "project_id": "p-1",
    "contractor_id": "dr-lee",
    "status": "submitted",
    "granted_at": AT,
    "deadline_at": AT,
    "max_deadline_at": AT,
    "worked_seconds": 2400,
    "cut": None,
    "end_reason": "submitted",
    "ended_at": AT,
    "pay_terms": {
        "version": 1,
        "basis": "hourly",
        "currency": "USD",
        "amount_minor": 3000,
        "max_paid_seconds": 7200,
        "effective_at": AT,
    },
    "instructions": "",
    "payload_json": None,
    "payload_base64": None,
    "review": "pending",
    "feedback": "",
    "earned": None,
    "pending": {"currency": "USD", "amount_minor": 2000},
    "segments": [],
}
VERIFIED: VerifyRecord = {
    "balanced": True,
    "verified_at": AT,
    "account_count": 12,
    "transaction_count": 40,
    "entry_count": 110,
    "unbalanced_transaction_count": 0,
    "mismatched_balance_count": 0,
    "accepted_submission_count": 30,
    "paid_once_count": 30,
    "unpaid_count": 0,
    "paid_twice_count": 0,
    "rejected_with_pay_count": 0,
    "total_paid_to_contractors": [{"currency": "USD", "amount_minor": 37_500}],
}
BATCH: PayoutBatchRecord = {
    "batch_id": "2026-w18",
    "currency": "USD",
    "threshold": {"currency": "USD", "amount_minor": 5000},
    "payouts": [
        {
            "payout_id": "po-1",
            "contractor_id": "dr-lee",
            "amount": {"currency": "USD", "amount_minor": 12_500},
            "status": "in_flight",
            "transaction_id": "tx-9",
        }
    ],
    "total": {"currency": "USD", "amount_minor": 12_500},
    "created_at": AT,
}
EARNINGS: EarningsRecord = {
    "contractor_id": "dr-lee",
    "by_project": [
        {
            "key": "p-1",
            "paid": {"currency": "USD", "amount_minor": 9000},
            "submissions": 3,
            "claimed_seconds": 10_800,
            "tracked_seconds": 7200,
            "per_claimed_hour": {"currency": "USD", "amount_minor": 3000},
            "per_tracked_hour": {"currency": "USD", "amount_minor": 4500},
        }
    ],
    "by_week": [],
    "total": [],
    "other": [{"currency": "USD", "amount_minor": 25_000}],
    "pending": None,
    "pending_submissions": None,
}


# --- the same, as the services send them (protobuf's JSON form) ---------------------


def money(minor: int, currency: str = "USD") -> dict[str, Any]:
    """A Money as a reply carries it."""
    return {"currency_code": currency, "amount_minor": minor}


def sent_money(minor: int, currency: str = "USD") -> dict[str, Any]:
    """A Money as a request received shows it (int64 is a string in protobuf's JSON)."""
    return {"currency_code": currency, "amount_minor": str(minor)}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


SUBMISSION_PB: dict[str, Any] = {
    "submission_id": SUB_ID,
    "task_id": "t-1",
    "project_id": "p-1",
    "contractor_id": "dr-lee",
    "status": "SUBMISSION_STATUS_PENDING_REVIEW",
    "submitted_at": AT,
    "earned": money(1250),
    "worked_seconds": 1500,
    "auto_accept_at": "2026-01-05T03:04:05Z",
    "result": b64(b'{"rating": 4}'),
}
ACCEPTED_PB = {
    **SUBMISSION_PB,
    "status": "SUBMISSION_STATUS_ACCEPTED",
    "accepted_by": "ACCEPTED_BY_CLIENT",
}
CLAIM_PB: dict[str, Any] = {
    "claim_id": "c-1",
    "task_id": "t-1",
    "project_id": "p-1",
    "contractor_id": "dr-lee",
    "status": "CLAIM_STATUS_SUBMITTED",
    "granted_at": AT,
    "deadline_at": AT,
    "max_deadline_at": AT,
    "worked_seconds": 2400,
    "end_reason": "CLAIM_END_REASON_SUBMITTED",
    "ended_at": AT,
    "pay_terms": {
        "version": 1,
        "hourly": {"rate": money(3000), "max_paid_seconds": 7200},
        "effective_at": AT,
    },
    "review": "REVIEW_STATE_PENDING",
    "earned": money(2000),
}
VERIFIED_PB = {**VERIFIED, "total_paid_to_contractors": [money(37_500)]}
BATCH_PB = {
    "batch_id": "2026-w18",
    "currency_code": "USD",
    "threshold": money(5000),
    "payouts": [
        {
            "payout_id": "po-1",
            "contractor_id": "dr-lee",
            "amount": money(12_500),
            "status": "PAYOUT_STATUS_IN_FLIGHT",
            "transaction_id": "tx-9",
        }
    ],
    "total": money(12_500),
    "created_at": AT,
}
EARNINGS_PB = {
    "contractor_id": "dr-lee",
    "by_project": [
        {
            "key": "p-1",
            "paid": money(9000),
            "submissions": 3,
            "claimed_seconds": 10_800,
            "tracked_seconds": 7200,
            "per_claimed_hour": money(3000),
            "per_tracked_hour": money(4500),
        }
    ],
    "other": [money(25_000)],
}
ENTRY_PB = {
    "transaction_id": "tx-1",
    "kind": "POSTING_KIND_PAY",
    "source": f"submission:{SUB_ID}",
    "amount": money(1250),
    "balance_after": money(1250),
    "posted_at": AT,
}


def refused(code: str, reason: str = "") -> Refusal:
    return Refusal(code, "no", reason)


def ts(text: str) -> timestamp_pb2.Timestamp:
    at = timestamp_pb2.Timestamp()
    at.FromJsonString(text)
    return at


def usd(minor: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="USD", amount_minor=minor)


# --- protobuf to records ---------------------------------------------------------------


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


# --- the decisions file ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "expected a JSON object"),
        ('{"decision": "accept"}', '"submission_id" is required'),
        (f'{{"submission_id": "{SUB_ID}", "decision": "maybe"}}', '"decision" must be one of'),
        (f'{{"submission_id": "{SUB_ID}", "decision": "reject"}}', '"feedback" is required'),
        (
            f'{{"submission_id": "{SUB_ID}", "decision": "bonus",'
            ' "bonus": {"currency": "USD", "reason": "r"}}',
            '"bonus.amount" is required',
        ),
        (
            f'{{"submission_id": "{SUB_ID}", "decision": "bonus",'
            ' "bonus": {"amount": "0.005", "currency": "USD", "reason": "r"}}',
            "more than 2 decimals",
        ),
        (
            f'{{"submission_id": "{SUB_ID}", "decision": "bonus",'
            ' "bonus": {"amount": "-1", "currency": "USD", "reason": "r"}}',
            "greater than zero",
        ),
        (
            f'{{"submission_id": "{SUB_ID}", "decision": "accept", "override_rejection": 1}}',
            "true or false",
        ),
    ],
)
def test_a_malformed_decision_says_what_is_wrong(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_decision(1, line)


def test_decision_amounts_are_exact_and_keys_derived_from_the_bonus() -> None:
    float_amount = parse_decision(
        1,
        f'{{"submission_id": "{SUB_ID}", "decision": "bonus",'
        ' "bonus": {"amount": 0.1, "currency": "usd", "reason": "tidy"}}',
    ).bonus
    assert float_amount is not None
    assert float_amount.amount == USD(10)  # 0.1, not 0.1000000000000000055...
    assert float_amount.key == bonus_key(SUB_ID, USD(10), "tidy")
    assert float_amount.key != bonus_key(SUB_ID, USD(11), "tidy")
    assert float_amount.key.startswith("review-") and len(float_amount.key) <= 128
    given = parse_decision(
        2,
        f'{{"submission_id": "{SUB_ID}", "decision": "bonus",'
        ' "bonus": {"amount": "3", "currency": "JPY", "reason": "r", "key": "mine"}}',
    ).bonus
    assert given is not None
    assert (given.amount, given.key) == ({"currency": "JPY", "amount_minor": 3}, "mine")


@pytest.mark.parametrize(
    ("bonus", "message"),
    [
        ("5", '"bonus" must be an object'),
        ({"amount": "5", "currency": "USD"}, '"bonus.reason" is required'),
        ({"amount": 5.555, "currency": "USD", "reason": "x"}, "bonus.amount"),
        ({"currency": "USD", "reason": "x"}, '"bonus.amount" is required'),
    ],
)
def test_a_malformed_bonus_in_an_accept_names_its_field(bonus: Any, message: str) -> None:
    line = json.dumps({"submission_id": "s", "decision": "accept", "bonus": bonus})
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_decision(1, line)


# --- the command line, against stand-in servers ---------------------------------------


@pytest.fixture
def crewctl(servers: StandIns, tmp_path: Path) -> Crewctl:
    """crewctl with a client's API key and the operator credential both in the
    environment: each command must pick the one meant for it."""
    env = {"CREWLINE_CREDENTIAL": KEY, "CREWLINE_OPERATOR_CREDENTIAL": OPERATOR}
    return Crewctl(servers, caller="none", env=dict(env), cwd=tmp_path)


def human(crewctl: Crewctl, *args: str, **answers: Answer | list[Answer]) -> str:
    result = crewctl.run(*args, **answers)
    assert result.exit_code == 0, result.output
    return result.stdout


def write(crewctl: Crewctl, name: str, text: str) -> str:
    path = crewctl.cwd / name
    path.write_text(text)
    return str(path)


def callers(crewctl: Crewctl) -> list[tuple[str, str | None]]:
    """Which server each request went to, with which credential."""
    return [(r.server, r.authorization) for r in crewctl.servers.received]


def calls(crewctl: Crewctl) -> list[tuple[str, dict[str, Any]]]:
    """Each request received, by method name, in order."""
    return [(r.method.rsplit("/", 1)[1], r.request) for r in crewctl.servers.received]


def pages(count: int) -> list[Answer]:
    """``count`` pages of one submission each, s-1, s-2, ..., each naming the next page."""
    return [
        {
            "submissions": [{**SUBMISSION_PB, "submission_id": f"s-{n}"}],
            "next_page_token": str(n) if n < count else "",
        }
        for n in range(1, count + 1)
    ]


def granted(request: dict[str, Any]) -> dict[str, Any]:
    """GrantBonus's reply: the bonus as asked, under the key it was asked with."""
    bonus = {
        "bonus_id": "b-1",
        "idempotency_key": request["idempotency_key"],
        "amount": request["amount"],
        "reason": request["reason"],
        "granted_at": AT,
    }
    return {"bonus": bonus, "submission": SUBMISSION_PB}


REVIEWED: dict[str, Answer | list[Answer]] = {
    "AcceptSubmission": {"submission": ACCEPTED_PB},
    "RejectSubmission": Echo(
        lambda r: {
            "submission": {
                **SUBMISSION_PB,
                "status": "SUBMISSION_STATUS_REJECTED",
                "feedback": r["feedback"],
            }
        }
    ),
    "GrantBonus": Echo(granted),
}


def test_review_requests_carry_the_filters_feedback_override_and_money(
    crewctl: Crewctl,
) -> None:
    crewctl.json(
        "submission", "list", "--project", "p-1", "--status", "rejected", "--page-size", "10",
        "--page-token", "t", ListSubmissions={"submissions": [{"submission_id": SUB_ID}]},
    )  # fmt: skip
    assert crewctl.requests() == [
        {
            "project_id": "p-1",
            "status": "SUBMISSION_STATUS_REJECTED",
            "page_size": 10,
            "page_token": "t",
        }
    ]
    crewctl.json(
        "submission", "accept", SUB_ID, "--feedback", "fine after all", "--override-rejection",
        **REVIEWED,
    )  # fmt: skip
    assert crewctl.requests() == [
        {"submission_id": SUB_ID, "feedback": "fine after all", "override_rejection": True}
    ]
    crewctl.json("submission", "reject", SUB_ID, "--feedback", "why", **REVIEWED)
    assert crewctl.requests() == [{"submission_id": SUB_ID, "feedback": "why"}]
    out = crewctl.json(
        "submission", "bonus", SUB_ID, "5.50", "USD", "--reason", "great", "--key", "k-1",
        **REVIEWED,
    )  # fmt: skip
    assert out["bonus"]["bonus_id"] == "b-1"
    assert crewctl.requests() == [
        {
            "submission_id": SUB_ID,
            "idempotency_key": "k-1",
            "amount": sent_money(550),
            "reason": "great",
        }
    ]


def test_submit_work_carries_the_result_and_the_time_worked(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    answer = write(crewctl, "answer.txt", "answer")
    submitted: dict[str, Answer] = {"SubmitWork": {"claim": {}}}
    crewctl.json("claim", "submit", "c-1", "--result-file", answer, "--worked", "40m", **submitted)
    assert crewctl.requests() == [
        {"claim_id": "c-1", "result": b64(b"answer"), "worked_seconds": "2400"}
    ]
    segments = write(
        crewctl,
        "segments.json",
        json.dumps([{"started_at": AT, "ended_at": "2026-01-02T03:44:05.500Z"}]),
    )
    crewctl.json(
        "claim", "submit", "c-1", "--result-file", answer, "--segments", segments, **submitted
    )
    [sent] = crewctl.requests()
    assert "worked_seconds" not in sent  # 0: the segments say it
    assert sent["segments"] == [{"started_at": AT, "ended_at": "2026-01-02T03:44:05.500Z"}]


def test_ledger_requests_name_the_account_contractor_and_threshold(crewctl: Crewctl) -> None:
    crewctl.env = {"CREWLINE_OPERATOR_CREDENTIAL": OPERATOR}
    page = crewctl.json(
        "statement", "--account", "contractor:dr-lee", "--page-size", "20", "--page-token", "t",
        ListStatement={"account_id": "contractor:dr-lee"},
    )  # fmt: skip
    assert page == {"account_id": "contractor:dr-lee", "entries": [], "next_page_token": ""}
    assert crewctl.requests() == [
        {"account_id": "contractor:dr-lee", "page_size": 20, "page_token": "t"}
    ]
    crewctl.json("earnings", GetEarnings={})
    assert crewctl.requests() == [{}]
    crewctl.json(
        "payout", "run", "2026-w18", "--threshold", "50", "USD", RunPayoutBatch={"batch": {}}
    )
    assert crewctl.requests() == [{"batch_id": "2026-w18", "threshold": sent_money(5000)}]
    crewctl.json("payout", "get", "2026-w18", GetPayoutBatch={"batch": {}})
    assert crewctl.requests() == [{"batch_id": "2026-w18"}]
    report = crewctl.json("ledger", "verify", VerifyBooks={"balanced": True, "paid_once_count": 3})
    assert crewctl.requests() == [{}]
    assert report["balanced"] and report["paid_once_count"] == 3 and reconciled(report)


# --- submissions -----------------------------------------------------------------------


def test_submission_list_needs_a_project_or_a_task_and_reads_every_page(
    crewctl: Crewctl,
) -> None:
    for args in ((), ("--project", "p-1", "--task", "t-1")):
        result = crewctl.run("submission", "list", *args)
        assert result.exit_code == ExitCode.USAGE and "--project or --task" in result.output
        assert crewctl.requests() == []
    every = crewctl.json(
        "submission", "list", "--project", "p-1", "--status", "REJECTED", "--all",
        ListSubmissions=pages(3),
    )  # fmt: skip
    assert [s["submission_id"] for s in every["submissions"]] == ["s-1", "s-2", "s-3"]
    first = {"project_id": "p-1", "status": "SUBMISSION_STATUS_REJECTED"}
    assert crewctl.requests() == [
        first,
        {**first, "page_token": "1"},
        {**first, "page_token": "2"},
    ]
    assert set(callers(crewctl)) == {("dispatcher", f"Bearer {KEY}")}  # the client's API key
    table = human(crewctl, "submission", "list", "--task", "t-1", ListSubmissions=pages(3))
    flat = "".join(table.replace("│", " ").split())  # the table folds long values
    assert "12.50" in flat and "More: --page-token 1" in table
    assert crewctl.requests() == [{"task_id": "t-1"}]


def test_accept_reject_and_get_pass_what_was_given(crewctl: Crewctl) -> None:
    accepted = crewctl.json("submission", "accept", SUB_ID, "--override-rejection", **REVIEWED)
    assert accepted["status"] == "accepted"
    assert crewctl.requests() == [{"submission_id": SUB_ID, "override_rejection": True}]
    crewctl.json("submission", "accept", SUB_ID, "--feedback", "Nice", **REVIEWED)
    assert crewctl.requests() == [{"submission_id": SUB_ID, "feedback": "Nice"}]
    rejected = crewctl.json("submission", "reject", SUB_ID, "--feedback", "Off topic", **REVIEWED)
    assert rejected["feedback"] == "Off topic"
    assert crewctl.requests() == [{"submission_id": SUB_ID, "feedback": "Off topic"}]
    missing = crewctl.run("submission", "reject", SUB_ID)
    assert missing.exit_code == ExitCode.USAGE and "--feedback" in missing.output
    assert crewctl.requests() == []
    found = {"submission": SUBMISSION_PB}
    assert crewctl.json("submission", "get", SUB_ID, GetSubmission=found) == SUBMISSION
    text = human(crewctl, "submission", "get", SUB_ID, GetSubmission=found)
    assert "12.50 USD" in text and "auto_accept_at" in text
    assert crewctl.requests() == [{"submission_id": SUB_ID}]


def test_a_refused_review_says_what_to_do_next(crewctl: Crewctl) -> None:
    result = crewctl.run(
        "submission", "accept", SUB_ID, AcceptSubmission=refused("FAILED_PRECONDITION", "REJECTED")
    )
    assert result.exit_code == ExitCode.REFUSED
    assert "--override-rejection" in result.stderr and "REJECTED" in result.stderr
    late = crewctl.run(
        "submission", "accept", SUB_ID, "--override-rejection",
        AcceptSubmission=refused("FAILED_PRECONDITION", "REVERT_WINDOW_OVER"),
    )  # fmt: skip
    assert "stands for good" in late.stderr


def test_a_bonus_is_exact_in_minor_units_and_keyed(crewctl: Crewctl) -> None:
    out = crewctl.json(
        "submission", "bonus", SUB_ID, "12.50", "usd", "--reason", "Thorough", **REVIEWED
    )
    [sent] = crewctl.requests()
    key = sent.pop("idempotency_key")
    assert sent == {"submission_id": SUB_ID, "amount": sent_money(1250), "reason": "Thorough"}
    assert key.startswith("crewctl-") and out["bonus"]["idempotency_key"] == key
    text = human(
        crewctl, "submission", "bonus", SUB_ID, "3", "JPY", "--reason", "r", "--key", "k-7",
        **REVIEWED,
    )  # fmt: skip
    [sent] = crewctl.requests()
    assert (sent["idempotency_key"], sent["amount"]) == ("k-7", sent_money(3, "JPY"))
    assert "Idempotency key: k-7" in text and "never paid twice" in text
    for amount, currency in (
        ("0.5", "JPY"),
        ("0", "USD"),
        ("-2", "USD"),
        ("ten", "USD"),
        ("1", "US"),
    ):
        bad = crewctl.run("submission", "bonus", SUB_ID, amount, currency, "--reason", "r")
        assert bad.exit_code == ExitCode.USAGE, (amount, currency)
        assert crewctl.requests() == []
    down = crewctl.run(
        "submission", "bonus", SUB_ID, "1", "USD", "--reason", "r", "--key", "k-8",
        GrantBonus=refused("UNAVAILABLE"),
    )  # fmt: skip
    assert down.exit_code == ExitCode.UNAVAILABLE and "--key k-8" in down.stderr


def test_export_writes_every_submission_as_json_lines(crewctl: Crewctl) -> None:
    task = {"task_id": "t-1", "idempotency_key": "row-1", "payload_json": '{"n": 1}'}
    result = crewctl.run(
        "submission", "export", "--project", "p-1",
        ListSubmissions=pages(3), ListTasks={"tasks": [task]},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["submission_id"] for x in lines] == ["s-1", "s-2", "s-3"]
    assert lines[0]["result"] == {"rating": 4} and lines[0]["paid"] is None  # pending
    assert "Exported 3 submissions" in result.stderr
    assert crewctl.requests("ListSubmissions") == [  # the largest pages
        {"project_id": "p-1", "page_size": 500},
        {"project_id": "p-1", "page_size": 500, "page_token": "1"},
        {"project_id": "p-1", "page_size": 500, "page_token": "2"},
    ]
    assert crewctl.requests("ListTasks") == [{"project_id": "p-1", "page_size": 500}]


# --- a decisions file ------------------------------------------------------------------


def decisions(*lines: dict[str, Any]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


DECISIONS = decisions(
    {"submission_id": "s-1", "decision": "accept", "feedback": "Great"},
    {"submission_id": "s-2", "decision": "reject", "feedback": "Off topic"},
    {
        "submission_id": "s-3",
        "decision": "bonus",
        "bonus": {"amount": "5.00", "currency": "USD", "reason": "Tidy"},
    },
    {"submission_id": "s-4", "decision": "accept", "override_rejection": True},
)


def test_a_decisions_file_is_applied_in_order_and_a_rerun_sends_the_same(
    crewctl: Crewctl,
) -> None:
    path = write(crewctl, "decisions.jsonl", DECISIONS + "\n")
    summary = crewctl.json("submission", "review", "--decisions", path, **REVIEWED)
    results = summary.pop("results")
    assert summary == {"decisions": 4, "accepted": 2, "rejected": 1, "bonuses": 1, "failed": []}
    assert [(r["line"], r["decision"], r["outcome"]) for r in results] == [
        (1, "accept", "applied"),
        (2, "reject", "applied"),
        (3, "bonus", "applied"),
        (4, "accept", "applied"),
    ]
    first = calls(crewctl)
    assert [method for method, _ in first] == [
        "AcceptSubmission",
        "RejectSubmission",
        "GrantBonus",
        "AcceptSubmission",
    ]
    assert first[2][1]["amount"] == sent_money(500)
    assert first[3][1] == {"submission_id": "s-4", "override_rejection": True}
    assert set(callers(crewctl)) == {("dispatcher", f"Bearer {KEY}")}
    crewctl.json("submission", "review", "--decisions", path, **REVIEWED)
    assert calls(crewctl) == first  # the same requests, the bonus with the same key
    text = human(crewctl, "submission", "review", "--decisions", "-")  # stdin, empty
    assert "decisions" in text and crewctl.requests() == []


def test_an_accept_with_a_bonus_grants_both_and_reports_the_line(crewctl: Crewctl) -> None:
    bonus = {"amount": "2.50", "currency": "usd", "reason": "Fast"}
    path = write(
        crewctl,
        "d.jsonl",
        decisions(
            {"submission_id": "s-1", "decision": "accept", "feedback": "Ok", "bonus": bonus},
            {"submission_id": "s-2", "decision": "reject", "feedback": "No"},
        ),
    )
    result = crewctl.run(
        "--json", "submission", "review", "--file", path,
        **{**REVIEWED, "RejectSubmission": refused("FAILED_PRECONDITION", "ALREADY_ACCEPTED")},
    )  # fmt: skip

    assert result.exit_code == ExitCode.REFUSED
    summary = json.loads(result.stdout)
    sent = calls(crewctl)
    assert [method for method, _ in sent] == ["AcceptSubmission", "GrantBonus", "RejectSubmission"]
    assert sent[1][1] == {
        "submission_id": "s-1",
        "idempotency_key": bonus_key("s-1", USD(250), "Fast"),
        "amount": sent_money(250),
        "reason": "Fast",
    }
    first, second = summary["results"]
    assert (first["decision"], first["outcome"], first["error"]) == (
        "accept+bonus",
        "applied",
        None,
    )
    assert (second["decision"], second["outcome"]) == ("reject", "failed")
    assert "ALREADY_ACCEPTED" in second["error"]
    assert (summary["accepted"], summary["bonuses"], summary["rejected"]) == (1, 1, 0)


def test_a_malformed_decisions_file_applies_nothing(crewctl: Crewctl) -> None:
    bad = (
        DECISIONS
        + '{"submission_id": "s-5", "decision": "bonus", "bonus": {"amount": "1"}}\nnope\n'
    )
    result = crewctl.run("submission", "review", "--decisions", write(crewctl, "d.jsonl", bad))
    assert result.exit_code == ExitCode.USAGE
    assert "line 5" in result.stderr and "line 6" in result.stderr
    assert "nothing was applied" in result.stderr and crewctl.requests() == []


def test_refused_decisions_are_listed_and_the_rest_applied(crewctl: Crewctl) -> None:
    path = write(crewctl, "d.jsonl", DECISIONS)
    result = crewctl.run(
        "--json", "submission", "review", "--decisions", path,
        **{**REVIEWED, "RejectSubmission": refused("FAILED_PRECONDITION", "ALREADY_ACCEPTED")},
    )  # fmt: skip
    assert result.exit_code == ExitCode.REFUSED
    summary = json.loads(result.stdout)
    assert (summary["accepted"], summary["rejected"], summary["bonuses"]) == (2, 0, 1)
    (failed,) = summary["failed"]
    assert (failed["line"], failed["submission_id"], failed["decision"]) == (2, "s-2", "reject")
    assert "ALREADY_ACCEPTED" in failed["error"]
    assert [request["submission_id"] for request in crewctl.requests()] == [
        "s-1",
        "s-2",
        "s-3",
        "s-4",
    ]


def test_a_decisions_run_stops_when_the_stack_is_away(crewctl: Crewctl) -> None:
    result = crewctl.run(
        "submission", "review", "--decisions", write(crewctl, "d", DECISIONS),
        **{**REVIEWED, "RejectSubmission": refused("UNAVAILABLE")},
    )  # fmt: skip
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "Stopped at line 2 after 1 decisions" in result.stderr
    sent = calls(crewctl)
    assert sent[0] == ("AcceptSubmission", {"submission_id": "s-1", "feedback": "Great"})
    # The refused line may be sent again by the SDK's retries, and no line after it.
    assert {(method, r["submission_id"]) for method, r in sent[1:]} == {("RejectSubmission", "s-2")}


# --- claim submit ----------------------------------------------------------------------


def test_claim_submit_sends_the_result_and_the_time_worked(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    result_file = crewctl.cwd / "answer.bin"
    result_file.write_bytes(b'{"rating": 4}\xff')
    submitted: dict[str, Answer] = {"SubmitWork": {"claim": CLAIM_PB}}
    out = crewctl.json(
        "claim", "submit", "c-1", "--result-file", str(result_file), "--worked", "40m",
        **submitted,
    )  # fmt: skip
    assert out == CLAIM and out["pending"] == USD(2000) and out["review"] == "pending"
    assert crewctl.requests() == [
        {"claim_id": "c-1", "result": b64(b'{"rating": 4}\xff'), "worked_seconds": "2400"}
    ]
    assert callers(crewctl) == [("matcher", f"Bearer {TOKEN}")]  # the caller's own credential

    segments = write(
        crewctl,
        "segments.json",
        json.dumps(
            [
                {"started_at": "2026-01-02T05:00:00+02:00", "ended_at": "2026-01-02T03:30:00Z"},
                {"started_at": "2026-01-02T03:40:00.25Z", "ended_at": "2026-01-02T04:00:00Z"},
            ]
        ),
    )
    result = crewctl.run(
        "--json", "claim", "submit", "c-1", "--result-file", "-", "--segments", segments,
        input="ok", **submitted,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert crewctl.requests() == [
        {
            "claim_id": "c-1",
            "result": b64(b"ok"),
            "segments": [  # in UTC; worked_seconds 0: the segments say it
                {"started_at": "2026-01-02T03:00:00Z", "ended_at": "2026-01-02T03:30:00Z"},
                {"started_at": "2026-01-02T03:40:00.250Z", "ended_at": "2026-01-02T04:00:00Z"},
            ],
        }
    ]
    text = human(crewctl, "claim", "submit", "c-1", "--result-file", "-", **submitted)
    assert "20.00 USD" in text and "pending" in text
    # Neither --worked nor --segments: the last heartbeat's report counts.
    assert crewctl.requests() == [{"claim_id": "c-1"}]


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ("not json", "not JSON"),
        ('{"started_at": "x"}', "JSON array"),
        ('[{"started_at": "2026-01-02T03:00:00Z"}]', "segments[0].ended_at is missing"),
        (
            '[{"started_at": "2026-01-02T03:00:00Z", "ended_at": "2026-01-02T03:30:00Z"},'
            ' {"started_at": "2026-01-02T03:40:00Z", "ended_at": "2026-01-02T04:00:00"}]',
            "segments[1].ended_at",
        ),
    ],
)
def test_bad_segments_are_a_usage_error_naming_the_segment(
    crewctl: Crewctl, segments: str, message: str
) -> None:
    path = write(crewctl, "s.json", segments)
    result = crewctl.run("claim", "submit", "c-1", "--result-file", "-", "--segments", path)
    assert result.exit_code == ExitCode.USAGE and message in result.output
    assert crewctl.requests() == []


def test_worked_and_segments_together_or_a_zero_duration_are_refused(crewctl: Crewctl) -> None:
    path = write(crewctl, "s.json", "[]")
    both = crewctl.run(
        "claim", "submit", "c-1", "--result-file", "-", "--worked", "1h", "--segments", path
    )
    assert both.exit_code == ExitCode.USAGE and "not both" in both.output
    zero = crewctl.run("claim", "submit", "c-1", "--result-file", "-", "--worked", "0")
    assert zero.exit_code == ExitCode.USAGE and crewctl.requests() == []


# --- the ledger ------------------------------------------------------------------------


def test_earnings_show_effective_hourly_pay(crewctl: Crewctl) -> None:
    crewctl.env = {"CREWLINE_CREDENTIAL": TOKEN}
    text = human(crewctl, "earnings", GetEarnings=EARNINGS_PB, ListMyClaims={})
    assert "45.00 USD" in text and "30.00 USD" in text and "3h00m" in text
    assert "250.00 USD" in text  # the referral, apart
    assert callers(crewctl) == [("ledger", f"Bearer {TOKEN}"), ("matcher", f"Bearer {TOKEN}")]
    assert crewctl.requests("GetEarnings") == [{}]
    found = crewctl.json("earnings", GetEarnings=EARNINGS_PB, ListMyClaims={})
    assert found == {**EARNINGS, "pending": [], "pending_submissions": 0}
    assert found["by_project"][0]["per_tracked_hour"] == USD(4500)


def test_statement_is_made_as_the_caller_else_as_the_operator(crewctl: Crewctl) -> None:
    entries = Echo(
        lambda r: {"account_id": r.get("account_id") or "contractor:dr-lee", "entries": [ENTRY_PB]}
    )
    crewctl.env = {"CREWLINE_CREDENTIAL": TOKEN, "CREWLINE_OPERATOR_CREDENTIAL": OPERATOR}
    page = crewctl.json("statement", ListStatement=entries)
    assert page["entries"][0]["kind"] == "pay"
    assert callers(crewctl) == [("ledger", f"Bearer {TOKEN}")]
    crewctl.env = {"CREWLINE_OPERATOR_CREDENTIAL": OPERATOR}
    every = crewctl.json(
        "statement", "--account", "payouts:in_flight", "--all", ListStatement=entries
    )
    assert every["account_id"] == "payouts:in_flight"
    assert callers(crewctl) == [("ledger", f"Bearer {OPERATOR}")]
    assert crewctl.requests() == [{"account_id": "payouts:in_flight"}]
    text = human(crewctl, "statement", "--account", "contractor:dr-lee", ListStatement=entries)
    assert "12.50 USD" in text
    crewctl.env = {}
    nobody = crewctl.run("statement")
    assert nobody.exit_code == ExitCode.CREDENTIAL and "no operator credential" in nobody.stderr
    assert crewctl.requests() == []


def test_payouts_use_the_operator_credential_and_an_exact_threshold(crewctl: Crewctl) -> None:
    out = crewctl.json(
        "payout", "run", "2026-w18", "--threshold", "50", "USD", RunPayoutBatch={"batch": BATCH_PB}
    )
    assert out == BATCH and out["total"] == USD(12_500)
    assert crewctl.requests() == [{"batch_id": "2026-w18", "threshold": sent_money(5000)}]
    # never the client's key in the environment
    assert callers(crewctl) == [("ledger", f"Bearer {OPERATOR}")]
    text = human(crewctl, "payout", "get", "2026-w18", GetPayoutBatch={"batch": BATCH_PB})
    assert "125.00 USD" in text and "dr-lee" in text and "in_flight" in text
    assert callers(crewctl) == [("ledger", f"Bearer {OPERATOR}")]
    bad = crewctl.run("payout", "run", "b", "--threshold", "0.001", "USD")
    assert bad.exit_code == ExitCode.USAGE and crewctl.requests() == []


def test_ledger_verify_reports_counts_and_exits_7_unless_it_reconciles(crewctl: Crewctl) -> None:
    assert crewctl.json("ledger", "verify", VerifyBooks=VERIFIED_PB) == VERIFIED
    assert callers(crewctl) == [("ledger", f"Bearer {OPERATOR}")]
    assert "paid_once_count" in human(crewctl, "ledger", "verify", VerifyBooks=VERIFIED_PB)
    twice = {**VERIFIED_PB, "paid_twice_count": 2}
    result = crewctl.run("--json", "ledger", "verify", VerifyBooks=twice)
    assert result.exit_code == ExitCode.UNRECONCILED == 7
    assert json.loads(result.stdout)["paid_twice_count"] == 2
    assert "paid_twice_count=2" in result.stderr
    unbalanced = {**VERIFIED_PB, "balanced": False}
    assert crewctl.run("ledger", "verify", VerifyBooks=unbalanced).exit_code == 7


def test_durations_in_earnings_read_as_hours_and_minutes() -> None:
    assert [duration_text(s) for s in (0, 59, 750, 3600, 7500)] == [
        "0m00s",
        "0m59s",
        "12m30s",
        "1h00m",
        "2h05m",
    ]
