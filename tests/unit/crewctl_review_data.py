"""What crewctl's review and pay tests share: the records crewctl should make, the
same values as the services send them (protobuf's JSON form), and helpers that run
crewctl against the stand-in servers and read what they received."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from crewctl_golden.harness import Crewctl
from crewctl_task_data import TERMS
from google.protobuf import timestamp_pb2
from grpc_standin import Answer, Echo, Refusal, StandIns

from crewline.ctl.pb import MoneyRecord
from crewline.ctl.records.claims import ClaimRecord
from crewline.ctl.records.ledger import (
    EarningsRecord,
    PayoutBatchRecord,
    VerifyRecord,
)
from crewline.ctl.records.submissions import SubmissionRecord
from crewline.v1 import money_pb2

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
    "project_title": "",
    "contractor_id": "dr-lee",
    "status": "submitted",
    "granted_at": AT,
    "deadline_at": AT,
    "max_deadline_at": AT,
    "worked_seconds": 2400,
    "cut": None,
    "end_reason": "submitted",
    "ended_at": AT,
    "pay_terms": TERMS,
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


# --- running crewctl ------------------------------------------------------------------


def client_and_operator(servers: StandIns, tmp_path: Path) -> Crewctl:
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
