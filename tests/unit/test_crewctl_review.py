"""crewctl's review and pay commands without servers: submissions (list, get, accept,
reject, bonus, export, a decisions file), claim submit with the time worked, earnings,
statements, payouts and ledger verify; the records of the gRPC layer and the requests
it sends."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from crewline.ctl import config
from crewline.ctl.api import MoneyRecord, RpcFailed
from crewline.ctl.app import Wiring
from crewline.ctl.claim_api import ClaimRecord, SegmentRecord
from crewline.ctl.claim_rpc import GrpcClaims, claim_record
from crewline.ctl.errors import ExitCode
from crewline.ctl.ledger import duration_text, reconciled
from crewline.ctl.ledger_api import (
    EarningsRecord,
    PayoutBatchRecord,
    StatementPage,
    VerifyRecord,
)
from crewline.ctl.ledger_rpc import GrpcLedger, batch_record, earnings_record, entry_record
from crewline.ctl.main import cli
from crewline.ctl.pb import enum_words
from crewline.ctl.review_file import bonus_key, parse_decision
from crewline.ctl.submission_api import NewBonus, SubmissionPage, SubmissionRecord
from crewline.ctl.submission_rpc import GrpcSubmissions, submission_record
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
USD = lambda minor: {"currency": "USD", "amount_minor": minor}  # noqa: E731
SUBMISSION: SubmissionRecord = {
    "submission_id": SUB_ID,
    "task_id": "t-1",
    "project_id": "p-1",
    "contractor_id": "dr-lee",
    "status": "pending_review",
    "submitted_at": AT,
    "earned": {"currency": "USD", "amount_minor": 1250},
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
    "earned": {"currency": "USD", "amount_minor": 2000},
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
}


def refusal(code: str, reason: str | None = None) -> RpcFailed:
    return RpcFailed(service="dispatcher", address="h:1", code=code, details="no", reason=reason)


def ts(text: str) -> timestamp_pb2.Timestamp:
    at = timestamp_pb2.Timestamp()
    at.FromJsonString(text)
    return at


def usd(minor: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="USD", amount_minor=minor)


# --- protobuf to records, and the requests sent ----------------------------------------


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
    assert (record["review"], record["feedback"], record["earned"]) == (
        "rejected",
        "missing units",
        USD(2000),
    )
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


@dataclass
class Recording:
    """A Caller that records each request and answers from a script."""

    replies: dict[str, Any]
    sent: dict[str, Message] = field(default_factory=dict)

    def call(self, method: str, request: Message) -> Any:
        self.sent[method] = request
        return self.replies[method]

    def stream(self, method: str, request: Message) -> Iterator[Any]:
        raise AssertionError("no streams here")


def test_review_requests_carry_the_filters_feedback_override_and_money() -> None:
    sub = task_api.Submission(submission_id=SUB_ID)
    calls = Recording(
        {
            "ListSubmissions": task_api.ListSubmissionsResponse(submissions=[sub]),
            "AcceptSubmission": task_api.AcceptSubmissionResponse(submission=sub),
            "RejectSubmission": task_api.RejectSubmissionResponse(submission=sub),
            "GrantBonus": task_api.GrantBonusResponse(
                bonus=task_api.Bonus(bonus_id="b-1"), submission=sub
            ),
        }
    )
    grpc = GrpcSubmissions(calls)
    grpc.list_submissions("p-1", "", "rejected", 10, "t")
    assert calls.sent["ListSubmissions"] == task_api.ListSubmissionsRequest(
        project_id="p-1", status=task_api.SUBMISSION_STATUS_REJECTED, page_size=10, page_token="t"
    )
    grpc.accept(SUB_ID, "fine after all", True)
    assert calls.sent["AcceptSubmission"] == task_api.AcceptSubmissionRequest(
        submission_id=SUB_ID, feedback="fine after all", override_rejection=True
    )
    grpc.reject(SUB_ID, "why")
    assert calls.sent["RejectSubmission"] == task_api.RejectSubmissionRequest(
        submission_id=SUB_ID, feedback="why"
    )
    assert grpc.grant_bonus(SUB_ID, "k-1", USD(550), "great")["bonus"]["bonus_id"] == "b-1"
    assert calls.sent["GrantBonus"] == task_api.GrantBonusRequest(
        submission_id=SUB_ID, idempotency_key="k-1", amount=usd(550), reason="great"
    )


def test_submit_work_carries_the_result_and_the_time_worked() -> None:
    calls = Recording({"SubmitWork": work_api.SubmitWorkResponse(claim=work_api.Claim())})
    claims = GrpcClaims(calls)
    claims.submit("c-1", b"answer", 2400, [])
    assert calls.sent["SubmitWork"] == work_api.SubmitWorkRequest(
        claim_id="c-1", result=b"answer", worked_seconds=2400
    )
    segment: SegmentRecord = {"started_at": AT, "ended_at": "2026-01-02T03:44:05.500Z"}
    claims.submit("c-1", b"answer", 0, [segment])
    sent = calls.sent["SubmitWork"]
    assert isinstance(sent, work_api.SubmitWorkRequest) and sent.worked_seconds == 0
    assert sent.segments[0].ended_at == ts("2026-01-02T03:44:05.500Z")


def test_ledger_requests_name_the_account_contractor_and_threshold() -> None:
    calls = Recording(
        {
            "ListStatement": ledger_api.ListStatementResponse(account_id="contractor:dr-lee"),
            "GetEarnings": ledger_api.GetEarningsResponse(),
            "RunPayoutBatch": ledger_api.RunPayoutBatchResponse(),
            "GetPayoutBatch": ledger_api.GetPayoutBatchResponse(),
            "VerifyBooks": ledger_api.VerifyBooksResponse(balanced=True, paid_once_count=3),
        }
    )
    grpc = GrpcLedger(calls)
    page = grpc.list_statement("contractor:dr-lee", 20, "t")
    assert page == {"account_id": "contractor:dr-lee", "entries": [], "next_page_token": ""}
    assert calls.sent["ListStatement"] == ledger_api.ListStatementRequest(
        account_id="contractor:dr-lee", page_size=20, page_token="t"
    )
    grpc.get_earnings("")
    assert calls.sent["GetEarnings"] == ledger_api.GetEarningsRequest()
    grpc.run_payout_batch("2026-w18", USD(5000))
    assert calls.sent["RunPayoutBatch"] == ledger_api.RunPayoutBatchRequest(
        batch_id="2026-w18", threshold=usd(5000)
    )
    grpc.get_payout_batch("2026-w18")
    assert calls.sent["GetPayoutBatch"] == ledger_api.GetPayoutBatchRequest(batch_id="2026-w18")
    report = grpc.verify_books()
    assert report["balanced"] and report["paid_once_count"] == 3 and reconciled(report)


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
            f'{{"submission_id": "{SUB_ID}", "decision": "bonus", "currency": "USD",'
            ' "reason": "r"}',
            '"amount" is required',
        ),
        (
            f'{{"submission_id": "{SUB_ID}", "decision": "bonus", "amount": "0.005",'
            ' "currency": "USD", "reason": "r"}',
            "more than 2 decimals",
        ),
        (
            f'{{"submission_id": "{SUB_ID}", "decision": "bonus", "amount": "-1",'
            ' "currency": "USD", "reason": "r"}',
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
        f'{{"submission_id": "{SUB_ID}", "decision": "bonus", "amount": 0.1,'
        ' "currency": "usd", "reason": "tidy"}',
    )
    assert float_amount.amount == USD(10)  # 0.1, not 0.1000000000000000055...
    assert float_amount.key == bonus_key(SUB_ID, USD(10), "tidy")
    assert float_amount.key != bonus_key(SUB_ID, USD(11), "tidy")
    assert float_amount.key.startswith("review-") and len(float_amount.key) <= 128
    given = parse_decision(
        2,
        f'{{"submission_id": "{SUB_ID}", "decision": "bonus", "amount": "3",'
        ' "currency": "JPY", "reason": "r", "key": "mine"}',
    )
    assert (given.amount, given.key) == ({"currency": "JPY", "amount_minor": 3}, "mine")


# --- the command line, over fake calls -------------------------------------------------


@dataclass
class Fake:
    """Stands in for Submissions, Claims and Ledger; records every call."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    pages: int = 1
    refusals: dict[str, RpcFailed] = field(default_factory=dict)  # submission id -> refusal
    verified: VerifyRecord = field(default_factory=lambda: dict(VERIFIED))  # type: ignore[arg-type]

    def _called(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        failure = self.refusals.get(str(args[0]) if args else "")
        if failure is not None:
            raise failure

    # submissions
    def list_submissions(
        self, project_id: str, task_id: str, status: str | None, page_size: int, page_token: str
    ) -> SubmissionPage:
        self._called("list_submissions", project_id, task_id, status, page_size, page_token)
        n = int(page_token or 0) + 1
        sub: SubmissionRecord = {**SUBMISSION, "submission_id": f"s-{n}"}
        return {"submissions": [sub], "next_page_token": str(n) if n < self.pages else ""}

    def get_submission(self, submission_id: str) -> SubmissionRecord:
        self._called("get_submission", submission_id)
        return SUBMISSION

    def accept(self, submission_id: str, feedback: str, override: bool) -> SubmissionRecord:
        self._called("accept", submission_id, feedback, override)
        return {**SUBMISSION, "status": "accepted", "accepted_by": "client"}

    def reject(self, submission_id: str, feedback: str) -> SubmissionRecord:
        self._called("reject", submission_id, feedback)
        return {**SUBMISSION, "status": "rejected", "feedback": feedback}

    def grant_bonus(
        self, submission_id: str, key: str, amount: MoneyRecord, reason: str
    ) -> NewBonus:
        self._called("grant_bonus", submission_id, key, amount, reason)
        bonus = {
            "bonus_id": "b-1",
            "idempotency_key": key,
            "amount": amount,
            "reason": reason,
            "granted_at": AT,
        }
        return {"bonus": bonus, "submission": SUBMISSION}  # type: ignore[typeddict-item]

    # claims
    def submit(
        self, claim_id: str, result: bytes, worked_seconds: int, segments: list[SegmentRecord]
    ) -> ClaimRecord:
        self._called("submit", claim_id, result, worked_seconds, segments)
        return CLAIM

    # ledger
    def verify_books(self) -> VerifyRecord:
        self._called("verify_books")
        return self.verified

    def list_statement(self, account_id: str, page_size: int, page_token: str) -> StatementPage:
        self._called("list_statement", account_id, page_size, page_token)
        entry = {
            "transaction_id": "tx-1",
            "kind": "pay",
            "source": f"submission:{SUB_ID}",
            "amount": USD(1250),
            "balance_after": USD(1250),
            "posted_at": AT,
            "memo": "",
            "reversal_of": None,
        }
        return {
            "account_id": account_id or "contractor:dr-lee",
            "entries": [entry],
            "next_page_token": "",
        }  # type: ignore[list-item]

    def get_earnings(self, contractor_id: str) -> EarningsRecord:
        self._called("get_earnings", contractor_id)
        return EARNINGS

    def run_payout_batch(self, batch_id: str, threshold: MoneyRecord) -> PayoutBatchRecord:
        self._called("run_payout_batch", batch_id, threshold)
        return BATCH

    def get_payout_batch(self, batch_id: str) -> PayoutBatchRecord:
        self._called("get_payout_batch", batch_id)
        return BATCH


@dataclass
class Crewctl:
    tmp_path: Path
    fake: Fake = field(default_factory=Fake)
    env: dict[str, str] = field(
        default_factory=lambda: {
            "CREWLINE_CREDENTIAL": KEY,
            "CREWLINE_OPERATOR_CREDENTIAL": OPERATOR,
        }
    )
    connected: list[tuple[str, str]] = field(default_factory=list)  # (which service, credential)

    def _connect(self, kind: str) -> Any:
        def connect(addresses: config.Addresses, credential: str) -> Fake:
            self.connected.append((kind, credential))
            return self.fake

        return connect

    def run(self, *args: str, input: str | bytes | None = None) -> Result:
        wiring = Wiring(
            env=self.env,
            cwd=self.tmp_path,
            home=self.tmp_path,
            connect=lambda *_: pytest.fail("these commands never use the operator Admin"),
            connect_submissions=self._connect("submissions"),
            connect_claims=self._connect("claims"),
            connect_ledger=self._connect("ledger"),
        )
        return CliRunner().invoke(cli, list(args), obj=wiring, prog_name="crewctl", input=input)

    def json(self, *args: str, input: str | None = None) -> Any:
        result = self.run("--json", *args, input=input)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def human(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result.stdout

    @property
    def calls(self) -> list[tuple[str, tuple[Any, ...]]]:
        return self.fake.calls

    def write(self, name: str, text: str) -> str:
        path = self.tmp_path / name
        path.write_text(text)
        return str(path)


@pytest.fixture
def crewctl(tmp_path: Path) -> Crewctl:
    return Crewctl(tmp_path)


def test_submission_list_needs_a_project_or_a_task_and_reads_every_page(crewctl: Crewctl) -> None:
    for args in ((), ("--project", "p-1", "--task", "t-1")):
        result = crewctl.run("submission", "list", *args)
        assert result.exit_code == ExitCode.USAGE and "--project or --task" in result.output
    assert crewctl.calls == []
    crewctl.fake.pages = 3
    every = crewctl.json("submission", "list", "--project", "p-1", "--status", "REJECTED", "--all")
    assert [s["submission_id"] for s in every["submissions"]] == ["s-1", "s-2", "s-3"]
    assert crewctl.calls[0] == ("list_submissions", ("p-1", "", "rejected", 0, ""))
    assert crewctl.connected[0] == ("submissions", KEY)  # the client's API key
    table = crewctl.human("submission", "list", "--task", "t-1")
    flat = "".join(table.replace("│", " ").split())  # the table folds long values
    assert "12.50" in flat and "More: --page-token 1" in table


def test_accept_reject_and_get_pass_what_was_given(crewctl: Crewctl) -> None:
    accepted = crewctl.json("submission", "accept", SUB_ID, "--override-rejection")
    assert accepted["status"] == "accepted"
    crewctl.json("submission", "accept", SUB_ID, "--feedback", "Nice")
    rejected = crewctl.json("submission", "reject", SUB_ID, "--feedback", "Off topic")
    assert rejected["feedback"] == "Off topic"
    assert crewctl.calls == [
        ("accept", (SUB_ID, "", True)),
        ("accept", (SUB_ID, "Nice", False)),
        ("reject", (SUB_ID, "Off topic")),
    ]
    missing = crewctl.run("submission", "reject", SUB_ID)
    assert missing.exit_code == ExitCode.USAGE and "--feedback" in missing.output
    human = crewctl.human("submission", "get", SUB_ID)
    assert "12.50 USD" in human and "auto_accept_at" in human


def test_a_refused_review_says_what_to_do_next(crewctl: Crewctl) -> None:
    crewctl.fake.refusals[SUB_ID] = refusal("FAILED_PRECONDITION", "REJECTED")
    result = crewctl.run("submission", "accept", SUB_ID)
    assert result.exit_code == ExitCode.REFUSED
    assert "--override-rejection" in result.stderr and "REJECTED" in result.stderr
    crewctl.fake.refusals[SUB_ID] = refusal("FAILED_PRECONDITION", "REVERT_WINDOW_OVER")
    late = crewctl.run("submission", "accept", SUB_ID, "--override-rejection")
    assert "stands for good" in late.stderr


def test_a_bonus_is_exact_in_minor_units_and_keyed(crewctl: Crewctl) -> None:
    out = crewctl.json("submission", "bonus", SUB_ID, "12.50", "usd", "--reason", "Thorough")
    name, (submission_id, key, amount, reason) = crewctl.calls[-1]
    assert (name, submission_id, amount, reason) == ("grant_bonus", SUB_ID, USD(1250), "Thorough")
    assert key.startswith("crewctl-") and out["bonus"]["idempotency_key"] == key
    human = crewctl.human(
        "submission", "bonus", SUB_ID, "3", "JPY", "--reason", "r", "--key", "k-7"
    )
    assert crewctl.calls[-1][1][1:3] == ("k-7", {"currency": "JPY", "amount_minor": 3})
    assert "Idempotency key: k-7" in human and "never paid twice" in human
    for amount, currency in (
        ("0.5", "JPY"),
        ("0", "USD"),
        ("-2", "USD"),
        ("ten", "USD"),
        ("1", "US"),
    ):
        bad = crewctl.run("submission", "bonus", SUB_ID, amount, currency, "--reason", "r")
        assert bad.exit_code == ExitCode.USAGE, (amount, currency)
    crewctl.fake.refusals[SUB_ID] = refusal("UNAVAILABLE")
    down = crewctl.run("submission", "bonus", SUB_ID, "1", "USD", "--reason", "r", "--key", "k-8")
    assert down.exit_code == ExitCode.UNAVAILABLE and "--key k-8" in down.stderr


def test_export_writes_every_submission_as_json_lines(crewctl: Crewctl) -> None:
    crewctl.fake.pages = 3
    result = crewctl.run("submission", "export", "--project", "p-1")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["submission_id"] for x in lines] == ["s-1", "s-2", "s-3"]
    assert lines[0]["result_text"] == '{"rating": 4}' and lines[0]["earned"] == USD(1250)
    assert "Exported 3 submissions" in result.stderr
    assert [c[1][3] for c in crewctl.calls] == [500, 500, 500]  # the largest pages


def decisions(*lines: dict[str, Any]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


DECISIONS = decisions(
    {"submission_id": "s-1", "decision": "accept", "feedback": "Great"},
    {"submission_id": "s-2", "decision": "reject", "feedback": "Off topic"},
    {
        "submission_id": "s-3",
        "decision": "bonus",
        "amount": "5.00",
        "currency": "USD",
        "reason": "Tidy",
    },
    {"submission_id": "s-4", "decision": "accept", "override_rejection": True},
)


def test_a_decisions_file_is_applied_in_order_and_a_rerun_sends_the_same(
    crewctl: Crewctl,
) -> None:
    path = crewctl.write("decisions.jsonl", DECISIONS + "\n")
    summary = crewctl.json("submission", "review", "--decisions", path)
    results = summary.pop("results")
    assert summary == {"decisions": 4, "accepted": 2, "rejected": 1, "bonuses": 1, "failed": []}
    assert [(r["line"], r["decision"], r["outcome"]) for r in results] == [
        (1, "accept", "applied"),
        (2, "reject", "applied"),
        (3, "bonus", "applied"),
        (4, "accept", "applied"),
    ]
    first = list(crewctl.calls)
    assert [c[0] for c in first] == ["accept", "reject", "grant_bonus", "accept"]
    assert first[2][1][2] == USD(500) and first[3][1] == ("s-4", "", True)
    crewctl.fake.calls.clear()
    crewctl.json("submission", "review", "--decisions", path)
    assert crewctl.calls == first  # the same requests, the bonus with the same key
    human = crewctl.human("submission", "review", "--decisions", "-")  # stdin, empty
    assert "decisions" in human


def test_an_accept_with_a_bonus_grants_both_and_reports_the_line(crewctl: Crewctl) -> None:
    bonus = {"amount": "2.50", "currency": "usd", "reason": "Fast"}
    path = crewctl.write(
        "d.jsonl",
        decisions(
            {"submission_id": "s-1", "decision": "accept", "feedback": "Ok", "bonus": bonus},
            {"submission_id": "s-2", "decision": "reject", "feedback": "No"},
        ),
    )
    crewctl.fake.refusals["s-2"] = refusal("FAILED_PRECONDITION", "ALREADY_ACCEPTED")

    result = crewctl.run("--json", "submission", "review", "--file", path)

    assert result.exit_code == ExitCode.REFUSED
    summary = json.loads(result.stdout)
    assert [c[0] for c in crewctl.calls] == ["accept", "grant_bonus", "reject"]
    granted = crewctl.calls[1][1]
    assert granted[2] == USD(250) and granted[1] == bonus_key("s-1", USD(250), "Fast")
    first, second = summary["results"]
    assert (first["decision"], first["outcome"], first["error"]) == (
        "accept+bonus",
        "applied",
        None,
    )
    assert (second["decision"], second["outcome"]) == ("reject", "failed")
    assert "ALREADY_ACCEPTED" in second["error"]
    assert (summary["accepted"], summary["bonuses"], summary["rejected"]) == (1, 1, 0)


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


def test_a_malformed_decisions_file_applies_nothing(crewctl: Crewctl) -> None:
    bad = DECISIONS + '{"submission_id": "s-5", "decision": "bonus", "amount": "1"}\nnope\n'
    result = crewctl.run("submission", "review", "--decisions", crewctl.write("d.jsonl", bad))
    assert result.exit_code == ExitCode.USAGE
    assert "line 5" in result.stderr and "line 6" in result.stderr
    assert "nothing was applied" in result.stderr and crewctl.calls == []


def test_refused_decisions_are_listed_and_the_rest_applied(crewctl: Crewctl) -> None:
    crewctl.fake.refusals["s-2"] = refusal("FAILED_PRECONDITION", "ALREADY_ACCEPTED")
    path = crewctl.write("d.jsonl", DECISIONS)
    result = crewctl.run("--json", "submission", "review", "--decisions", path)
    assert result.exit_code == ExitCode.REFUSED
    summary = json.loads(result.stdout)
    assert (summary["accepted"], summary["rejected"], summary["bonuses"]) == (2, 0, 1)
    (failed,) = summary["failed"]
    assert (failed["line"], failed["submission_id"], failed["decision"]) == (2, "s-2", "reject")
    assert "ALREADY_ACCEPTED" in failed["error"]
    assert len(crewctl.calls) == 4


def test_a_decisions_run_stops_when_the_stack_is_away(crewctl: Crewctl) -> None:
    crewctl.fake.refusals["s-2"] = refusal("UNAVAILABLE")
    result = crewctl.run("submission", "review", "--decisions", crewctl.write("d", DECISIONS))
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "Stopped at line 2 after 1 decisions" in result.stderr
    assert [c[0] for c in crewctl.calls] == ["accept", "reject"]


def test_claim_submit_sends_the_result_and_the_time_worked(crewctl: Crewctl) -> None:
    result_file = crewctl.tmp_path / "answer.bin"
    result_file.write_bytes(b'{"rating": 4}\xff')
    out = crewctl.json(
        "claim", "submit", "c-1", "--result-file", str(result_file), "--worked", "40m"
    )
    assert out["earned"] == USD(2000) and out["review"] == "pending"
    assert crewctl.calls[-1] == ("submit", ("c-1", b'{"rating": 4}\xff', 2400, []))
    assert crewctl.connected[-1] == ("claims", KEY)  # the caller's own credential

    segments = crewctl.write(
        "segments.json",
        json.dumps(
            [
                {"started_at": "2026-01-02T05:00:00+02:00", "ended_at": "2026-01-02T03:30:00Z"},
                {"started_at": "2026-01-02T03:40:00.25Z", "ended_at": "2026-01-02T04:00:00Z"},
            ]
        ),
    )
    crewctl.json("claim", "submit", "c-1", "--result-file", "-", "--segments", segments, input="ok")
    assert crewctl.calls[-1][1][1:] == (
        b"ok",
        0,
        [
            {
                "started_at": "2026-01-02T03:00:00.000000Z",
                "ended_at": "2026-01-02T03:30:00.000000Z",
            },
            {
                "started_at": "2026-01-02T03:40:00.250000Z",
                "ended_at": "2026-01-02T04:00:00.000000Z",
            },
        ],
    )
    human = crewctl.human("claim", "submit", "c-1", "--result-file", "-")
    assert "20.00 USD" in human and "pending" in human
    assert crewctl.calls[-1][1][2:] == (0, [])  # neither: the last heartbeat's report


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
    path = crewctl.write("s.json", segments)
    result = crewctl.run("claim", "submit", "c-1", "--result-file", "-", "--segments", path)
    assert result.exit_code == ExitCode.USAGE and message in result.output
    assert crewctl.calls == []


def test_worked_and_segments_together_or_a_zero_duration_are_refused(crewctl: Crewctl) -> None:
    path = crewctl.write("s.json", "[]")
    both = crewctl.run(
        "claim", "submit", "c-1", "--result-file", "-", "--worked", "1h", "--segments", path
    )
    assert both.exit_code == ExitCode.USAGE and "not both" in both.output
    zero = crewctl.run("claim", "submit", "c-1", "--result-file", "-", "--worked", "0")
    assert zero.exit_code == ExitCode.USAGE and crewctl.calls == []


def test_earnings_show_effective_hourly_pay(crewctl: Crewctl) -> None:
    crewctl.env = {"CREWLINE_CREDENTIAL": TOKEN}
    human = crewctl.human("earnings")
    assert "45.00 USD" in human and "30.00 USD" in human and "3h00m" in human
    assert "250.00 USD" in human  # the referral, apart
    assert crewctl.connected == [("ledger", TOKEN)] and crewctl.calls == [("get_earnings", ("",))]
    assert crewctl.json("earnings")["by_project"][0]["per_tracked_hour"] == USD(4500)


def test_statement_is_made_as_the_caller_else_as_the_operator(crewctl: Crewctl) -> None:
    crewctl.env = {"CREWLINE_CREDENTIAL": TOKEN, "CREWLINE_OPERATOR_CREDENTIAL": OPERATOR}
    page = crewctl.json("statement")
    assert page["entries"][0]["kind"] == "pay" and crewctl.connected[-1] == ("ledger", TOKEN)
    crewctl.env = {"CREWLINE_OPERATOR_CREDENTIAL": OPERATOR}
    crewctl.json("statement", "--account", "payouts:in_flight", "--all")
    assert crewctl.connected[-1] == ("ledger", OPERATOR)
    assert crewctl.calls[-1] == ("list_statement", ("payouts:in_flight", 0, ""))
    assert "12.50 USD" in crewctl.human("statement", "--account", "contractor:dr-lee")
    crewctl.env = {}
    nobody = crewctl.run("statement")
    assert nobody.exit_code == ExitCode.CREDENTIAL and "no operator credential" in nobody.stderr


def test_payouts_use_the_operator_credential_and_an_exact_threshold(crewctl: Crewctl) -> None:
    out = crewctl.json("payout", "run", "2026-w18", "--threshold", "50", "USD")
    assert out["total"] == USD(12_500)
    assert crewctl.calls == [("run_payout_batch", ("2026-w18", USD(5000)))]
    assert crewctl.connected == [("ledger", OPERATOR)]  # never the client's key in the env
    human = crewctl.human("payout", "get", "2026-w18")
    assert "125.00 USD" in human and "dr-lee" in human and "in_flight" in human
    bad = crewctl.run("payout", "run", "b", "--threshold", "0.001", "USD")
    assert bad.exit_code == ExitCode.USAGE


def test_ledger_verify_reports_counts_and_exits_7_unless_it_reconciles(crewctl: Crewctl) -> None:
    assert crewctl.json("ledger", "verify") == VERIFIED
    assert crewctl.connected == [("ledger", OPERATOR)]
    assert "paid_once_count" in crewctl.human("ledger", "verify")
    crewctl.fake.verified = {**VERIFIED, "paid_twice_count": 2}
    result = crewctl.run("--json", "ledger", "verify")
    assert result.exit_code == ExitCode.UNRECONCILED == 7
    assert json.loads(result.stdout)["paid_twice_count"] == 2
    assert "paid_twice_count=2" in result.stderr
    crewctl.fake.verified = {**VERIFIED, "balanced": False}
    assert crewctl.run("ledger", "verify").exit_code == 7


def test_durations_in_earnings_read_as_hours_and_minutes() -> None:
    assert [duration_text(s) for s in (0, 59, 750, 3600, 7500)] == [
        "0m00s",
        "0m59s",
        "12m30s",
        "1h00m",
        "2h05m",
    ]
