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
    "flags": [],
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
    "unpaid": False,
    "answer_spec": None,
    "instructions": "",
    "payload_json": None,
    "payload_base64": None,
    "review": "pending",
    "feedback": "",
    "earned": None,
    "pending": {"currency": "USD", "amount_minor": 2000},
    "segments": [],
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
