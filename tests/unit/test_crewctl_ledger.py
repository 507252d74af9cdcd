"""crewctl's ledger commands against the stand-in ledger: earnings, statements,
payouts and ledger verify; what each sends, with which credential, and prints."""

from __future__ import annotations

import json

import pytest
from crewctl_golden.harness import Crewctl
from crewctl_review_data import (
    AT,
    OPERATOR,
    SUB_ID,
    TOKEN,
    USD,
    callers,
    client_and_operator,
    human,
    money,
    sent_money,
)
from grpc_standin import Echo

from crewline.ctl.errors import ExitCode
from crewline.ctl.ledger import duration_text, reconciled
from crewline.ctl.records.ledger import EarningsRecord, PayoutBatchRecord, VerifyRecord

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
            "title": None,
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

# The same, as the ledger sends them (protobuf's JSON form).
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

crewctl = pytest.fixture(client_and_operator, name="crewctl")


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
