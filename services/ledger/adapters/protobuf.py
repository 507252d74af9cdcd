"""Ledger domain <-> protobuf: events in, API messages and PayPosted out.

Events are mapped as they are, unvalidated: the domain records check them (a bad
id or amount is ``InvalidArgument`` naming the event's field).
"""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from crewline.protobuf import from_timestamp, money_from_pb, money_to_pb, timestamp
from crewline.v1 import events_pb2
from crewline.v1 import ledger_service_pb2 as api
from ledger.domain.earnings import Earnings, EarningsLine
from ledger.domain.model import (
    BooksReport,
    Entry,
    JournalTransaction,
    PostingKind,
    StatementEntry,
    contractor_account,
)
from ledger.domain.payouts import BatchSummary, PayoutBatch, PayoutPreview
from ledger.domain.postings import (
    AcceptedWork,
    GrantedBonus,
    Referral,
    RejectedWork,
    Settlement,
)

_ACCEPTED_BY = {
    events_pb2.ACCEPTED_BY_CLIENT: "client",
    events_pb2.ACCEPTED_BY_AUTO_ACCEPT: "auto_accept",
    events_pb2.ACCEPTED_BY_OVERRIDE: "override",
    events_pb2.ACCEPTED_BY_APPEAL: "appeal",
    events_pb2.ACCEPTED_BY_KEY_CORRECTION: "key_correction",
    events_pb2.ACCEPTED_BY_EXAM: "exam",
}
_KIND_PB = {
    PostingKind.PAY: events_pb2.POSTING_KIND_PAY,
    PostingKind.BONUS: events_pb2.POSTING_KIND_BONUS,
    PostingKind.REFERRAL: events_pb2.POSTING_KIND_REFERRAL,
    PostingKind.SETTLEMENT: events_pb2.POSTING_KIND_SETTLEMENT,
    PostingKind.PAYOUT: events_pb2.POSTING_KIND_PAYOUT,
    PostingKind.REVERSAL: events_pb2.POSTING_KIND_REVERSAL,
}


def _at(ts: Timestamp, has: bool) -> datetime | None:
    return from_timestamp(ts) if has else None


def accepted_work(e: events_pb2.SubmissionAccepted, *, now: datetime) -> AcceptedWork:
    """``now`` stands in for an acceptance time the event lacks."""
    return AcceptedWork(
        submission_id=e.submission_id,
        task_id=e.task_id,
        contractor_id=e.contractor_id,
        client_id=e.client_id,
        project_id=e.project_id,
        reward=money_from_pb(e.reward),
        accepted_by=_ACCEPTED_BY.get(e.accepted_by, "unspecified"),
        accepted_at=_at(e.accepted_at, e.HasField("accepted_at")) or now,
        worked_seconds=e.worked_seconds,
        granted_at=_at(e.granted_at, e.HasField("granted_at")),
        submitted_at=_at(e.submitted_at, e.HasField("submitted_at")),
        unpaid=e.unpaid,
    )


def rejected_work(e: events_pb2.SubmissionRejected, *, now: datetime) -> RejectedWork:
    return RejectedWork(
        submission_id=e.submission_id,
        task_id=e.task_id,
        contractor_id=e.contractor_id,
        client_id=e.client_id,
        project_id=e.project_id,
        rejected_at=_at(e.rejected_at, e.HasField("rejected_at")) or now,
    )


def granted_bonus(e: events_pb2.BonusGranted) -> GrantedBonus:
    return GrantedBonus(
        bonus_id=e.bonus_id,
        submission_id=e.submission_id,
        contractor_id=e.contractor_id,
        client_id=e.client_id,
        amount=money_from_pb(e.amount),
        reason=e.reason,
    )


def settlement(e: events_pb2.ClaimSettled) -> Settlement:
    return Settlement(
        claim_id=e.claim_id,
        contractor_id=e.contractor_id,
        client_id=e.client_id,
        amount=money_from_pb(e.amount),
    )


def referral(e: events_pb2.ContractorChanged) -> Referral | None:
    """Who referred the contractor; None when nobody did."""
    if not e.contractor.referred_by:
        return None
    return Referral(contractor_id=e.contractor.contractor_id, referred_by=e.contractor.referred_by)


def pay_posted(txn: JournalTransaction, credit: Entry) -> events_pb2.PayPosted:
    return events_pb2.PayPosted(
        transaction_id=str(txn.transaction_id),
        account_id=credit.account_id,
        amount=money_to_pb(credit.amount),
        submission_id=txn.submission_id or "",
        posted_at=timestamp(txn.posted_at),
        source=txn.source,
        kind=_KIND_PB[txn.kind],
    )


def books_to_pb(report: BooksReport) -> api.VerifyBooksResponse:
    reply = api.VerifyBooksResponse(
        balanced=report.balanced,
        transaction_count=report.transaction_count,
        entry_count=report.entry_count,
        unbalanced_transaction_count=report.unbalanced_transaction_count,
        total_paid_to_contractors=[money_to_pb(m) for m in report.total_paid_to_contractors],
        account_count=report.account_count,
        mismatched_balance_count=report.mismatched_balance_count,
        accepted_submission_count=report.accepted_submission_count,
        paid_once_count=report.paid_once_count,
        unpaid_count=report.unpaid_count,
        paid_twice_count=report.paid_twice_count,
        rejected_with_pay_count=report.rejected_with_pay_count,
    )
    if report.verified_at is not None:
        reply.verified_at.CopyFrom(timestamp(report.verified_at))
    return reply


def statement_entry_to_pb(entry: StatementEntry) -> api.StatementEntry:
    return api.StatementEntry(
        transaction_id=str(entry.transaction_id),
        kind=_KIND_PB[entry.kind],
        source=entry.source,
        amount=money_to_pb(entry.amount),
        balance_after=money_to_pb(entry.balance_after),
        posted_at=timestamp(entry.posted_at),
        memo=entry.memo,
        reversal_of=str(entry.reversal_of) if entry.reversal_of else "",
    )


def _line(line: EarningsLine) -> api.EarningsLine:
    pb = api.EarningsLine(
        key=line.key,
        paid=money_to_pb(line.paid),
        submissions=line.submissions,
        claimed_seconds=line.claimed_seconds,
        tracked_seconds=line.tracked_seconds,
    )
    if line.per_claimed_hour is not None:
        pb.per_claimed_hour.CopyFrom(money_to_pb(line.per_claimed_hour))
    if line.per_tracked_hour is not None:
        pb.per_tracked_hour.CopyFrom(money_to_pb(line.per_tracked_hour))
    return pb


def earnings_to_pb(earnings: Earnings) -> api.GetEarningsResponse:
    return api.GetEarningsResponse(
        contractor_id=earnings.contractor_id,
        by_project=[_line(x) for x in earnings.by_project],
        by_week=[_line(x) for x in earnings.by_week],
        total=[_line(x) for x in earnings.total],
        other=[money_to_pb(m) for m in earnings.other],
    )


def batch_to_pb(batch: PayoutBatch) -> api.PayoutBatch:
    return api.PayoutBatch(
        batch_id=batch.batch_id,
        currency_code=batch.threshold.currency,
        threshold=money_to_pb(batch.threshold),
        payouts=[
            api.Payout(
                payout_id=p.payout_id,
                contractor_id=p.contractor_id,
                amount=money_to_pb(p.amount),
                status=api.PAYOUT_STATUS_IN_FLIGHT,
                transaction_id=str(p.transaction_id),
            )
            for p in batch.payouts
        ],
        total=money_to_pb(batch.total),
        created_at=timestamp(batch.created_at),
        payout_count=len(batch.payouts),
        completed_at=timestamp(batch.completed_at) if batch.completed_at else None,
    )


def batch_summary_to_pb(batch: BatchSummary) -> api.PayoutBatch:
    return api.PayoutBatch(
        batch_id=batch.batch_id,
        currency_code=batch.threshold.currency,
        threshold=money_to_pb(batch.threshold),
        total=money_to_pb(batch.total),
        created_at=timestamp(batch.created_at),
        payout_count=batch.payout_count,
        completed_at=timestamp(batch.completed_at) if batch.completed_at else None,
    )


def preview_to_pb(preview: PayoutPreview) -> api.PreviewPayoutBatchResponse:
    return api.PreviewPayoutBatchResponse(
        threshold=money_to_pb(preview.threshold),
        payouts=[
            api.PayoutPreview(
                contractor_id=contractor_id,
                account_id=contractor_account(contractor_id),
                amount=money_to_pb(amount),
            )
            for contractor_id, amount in preview.payouts
        ],
        total=money_to_pb(preview.total),
        previewed_at=timestamp(preview.previewed_at),
    )
