"""The ledger's books, statements, earnings and payouts, as records; amounts are money
records in minor units."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from crewline.ctl.pb import MoneyRecord, field_word, money_field, money_record, timestamp_text

if TYPE_CHECKING:
    from collections.abc import Mapping

    from crewline.v1 import ledger_service_pb2 as ledger_api


class VerifyRecord(TypedDict):
    """What ``VerifyBooks`` checked, with counts; every count of trouble should be 0."""

    balanced: bool
    verified_at: str | None
    account_count: int
    transaction_count: int
    entry_count: int
    unbalanced_transaction_count: int  # transactions whose entries do not sum to zero
    mismatched_balance_count: int  # stored balances that differ from their entries' sum
    accepted_submission_count: int
    paid_once_count: int
    unpaid_count: int
    paid_twice_count: int
    rejected_with_pay_count: int
    total_paid_to_contractors: list[MoneyRecord]


class StatementEntryRecord(TypedDict):
    transaction_id: str
    kind: str | None  # pay, bonus, referral, settlement, payout or reversal
    source: str  # the cause: submission:<id>, bonus:<id>, payout:<batch>:<contractor>, ...
    amount: MoneyRecord | None  # signed: a credit is positive
    balance_after: MoneyRecord | None
    posted_at: str | None
    memo: str
    reversal_of: str | None


class StatementPage(TypedDict):
    account_id: str
    entries: list[StatementEntryRecord]  # newest first
    next_page_token: str  # empty on the last page


class EarningsLineRecord(TypedDict):
    key: str  # a project id, a week's Monday (YYYY-MM-DD), or empty in totals
    paid: MoneyRecord | None
    submissions: int
    claimed_seconds: int  # grant to submission, summed
    tracked_seconds: int
    per_claimed_hour: MoneyRecord | None
    per_tracked_hour: MoneyRecord | None


class ProjectEarningsLineRecord(EarningsLineRecord):
    # The project's title, read from the contractor's own claims; None when crewctl
    # could not read them (an operator's view) or found none in the project.
    title: str | None


class EarningsRecord(TypedDict):
    contractor_id: str
    by_project: list[ProjectEarningsLineRecord]
    by_week: list[EarningsLineRecord]
    total: list[EarningsLineRecord]  # one line per currency
    other: list[MoneyRecord]  # bonuses, referrals, settlements: not in the hourly figures
    # Work awaiting review: what it will earn if accepted, per currency, and how many
    # submissions. The ledger books pay only once work is accepted, so this comes from
    # the contractor's own claims; None when the caller cannot read them (an operator).
    pending: list[MoneyRecord] | None
    pending_submissions: int | None


class PayoutRecord(TypedDict):
    payout_id: str
    contractor_id: str
    amount: MoneyRecord | None
    status: str | None  # in_flight
    transaction_id: str


class PayoutBatchRecord(TypedDict):
    batch_id: str
    currency: str
    threshold: MoneyRecord | None
    payouts: list[PayoutRecord]
    total: MoneyRecord | None
    created_at: str | None


def verify_record(pb: ledger_api.VerifyBooksResponse) -> VerifyRecord:
    return {
        "balanced": pb.balanced,
        "verified_at": timestamp_text(pb, "verified_at"),
        "account_count": pb.account_count,
        "transaction_count": pb.transaction_count,
        "entry_count": pb.entry_count,
        "unbalanced_transaction_count": pb.unbalanced_transaction_count,
        "mismatched_balance_count": pb.mismatched_balance_count,
        "accepted_submission_count": pb.accepted_submission_count,
        "paid_once_count": pb.paid_once_count,
        "unpaid_count": pb.unpaid_count,
        "paid_twice_count": pb.paid_twice_count,
        "rejected_with_pay_count": pb.rejected_with_pay_count,
        "total_paid_to_contractors": [money_record(m) for m in pb.total_paid_to_contractors],
    }


def entry_record(pb: ledger_api.StatementEntry) -> StatementEntryRecord:
    return {
        "transaction_id": pb.transaction_id,
        "kind": field_word(pb, "kind"),
        "source": pb.source,
        "amount": money_field(pb, "amount"),
        "balance_after": money_field(pb, "balance_after"),
        "posted_at": timestamp_text(pb, "posted_at"),
        "memo": pb.memo,
        "reversal_of": pb.reversal_of or None,
    }


def earnings_line(pb: ledger_api.EarningsLine) -> EarningsLineRecord:
    return {
        "key": pb.key,
        "paid": money_field(pb, "paid"),
        "submissions": pb.submissions,
        "claimed_seconds": pb.claimed_seconds,
        "tracked_seconds": pb.tracked_seconds,
        "per_claimed_hour": money_field(pb, "per_claimed_hour"),
        "per_tracked_hour": money_field(pb, "per_tracked_hour"),
    }


def project_earnings_line(
    pb: ledger_api.EarningsLine, titles: Mapping[str, str]
) -> ProjectEarningsLineRecord:
    """A by-project line, with its project's title from ``titles`` (project id: title)."""
    return {"key": pb.key, "title": titles.get(pb.key) or None, **earnings_line(pb)}


def earnings_record(
    pb: ledger_api.GetEarningsResponse, titles: Mapping[str, str] | None = None
) -> EarningsRecord:
    """The ledger's earnings; ``titles`` (project id: title) names the projects."""
    return {
        "contractor_id": pb.contractor_id,
        "by_project": [project_earnings_line(x, titles or {}) for x in pb.by_project],
        "by_week": [earnings_line(x) for x in pb.by_week],
        "total": [earnings_line(x) for x in pb.total],
        "other": [money_record(m) for m in pb.other],
        "pending": None,
        "pending_submissions": None,
    }


def payout_record(pb: ledger_api.Payout) -> PayoutRecord:
    return {
        "payout_id": pb.payout_id,
        "contractor_id": pb.contractor_id,
        "amount": money_field(pb, "amount"),
        "status": field_word(pb, "status"),
        "transaction_id": pb.transaction_id,
    }


def batch_record(pb: ledger_api.PayoutBatch) -> PayoutBatchRecord:
    return {
        "batch_id": pb.batch_id,
        "currency": pb.currency_code,
        "threshold": money_field(pb, "threshold"),
        "payouts": [payout_record(p) for p in pb.payouts],
        "total": money_field(pb, "total"),
        "created_at": timestamp_text(pb, "created_at"),
    }


def statement_record(reply: ledger_api.ListStatementResponse) -> StatementPage:
    return {
        "account_id": reply.account_id,
        "entries": [entry_record(e) for e in reply.entries],
        "next_page_token": reply.next_page_token,
    }
