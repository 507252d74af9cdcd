"""Ledger domain <-> protobuf (API messages and events)."""

from __future__ import annotations

from crewline.protobuf import money_to_pb, timestamp
from crewline.v1 import events_pb2
from crewline.v1 import ledger_service_pb2 as api
from ledger.domain.model import BooksReport, Entry, JournalTransaction


def books_to_pb(report: BooksReport) -> api.VerifyBooksResponse:
    return api.VerifyBooksResponse(
        balanced=report.balanced,
        transaction_count=report.transaction_count,
        entry_count=report.entry_count,
        unbalanced_transaction_count=report.unbalanced_transaction_count,
        total_paid_to_contractors=[money_to_pb(m) for m in report.total_paid_to_contractors],
    )


def pay_posted(txn: JournalTransaction, credit: Entry, submission_id: str) -> events_pb2.PayPosted:
    return events_pb2.PayPosted(
        transaction_id=str(txn.transaction_id),
        account_id=credit.account_id,
        amount=money_to_pb(credit.amount),
        submission_id=submission_id,
        posted_at=timestamp(txn.posted_at),
    )
