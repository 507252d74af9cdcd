"""The ledger's calls for crewctl, with whatever credential the command resolved.

Protobuf stops here: replies become the records of ``crewline.ctl.ledger_api``.
"""

from __future__ import annotations

from crewline.ctl.api import MoneyRecord
from crewline.ctl.config import Addresses
from crewline.ctl.ledger_api import (
    EarningsLineRecord,
    EarningsRecord,
    PayoutBatchRecord,
    PayoutRecord,
    StatementEntryRecord,
    StatementPage,
    VerifyRecord,
)
from crewline.ctl.pb import enum_word, money_field, money_record, timestamp_text
from crewline.ctl.rpc import RPC_TIMEOUT, Caller, ServiceCalls
from crewline.v1 import events_pb2, money_pb2
from crewline.v1 import ledger_service_pb2 as api
from crewline.v1 import ledger_service_pb2_grpc as api_grpc

_KIND = events_pb2.PostingKind.DESCRIPTOR
_PAYOUT_STATUS = api.PayoutStatus.DESCRIPTOR


def verify_record(pb: api.VerifyBooksResponse) -> VerifyRecord:
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


def entry_record(pb: api.StatementEntry) -> StatementEntryRecord:
    return {
        "transaction_id": pb.transaction_id,
        "kind": enum_word(_KIND, pb.kind),
        "source": pb.source,
        "amount": money_field(pb, "amount"),
        "balance_after": money_field(pb, "balance_after"),
        "posted_at": timestamp_text(pb, "posted_at"),
        "memo": pb.memo,
        "reversal_of": pb.reversal_of or None,
    }


def earnings_line(pb: api.EarningsLine) -> EarningsLineRecord:
    return {
        "key": pb.key,
        "paid": money_field(pb, "paid"),
        "submissions": pb.submissions,
        "claimed_seconds": pb.claimed_seconds,
        "tracked_seconds": pb.tracked_seconds,
        "per_claimed_hour": money_field(pb, "per_claimed_hour"),
        "per_tracked_hour": money_field(pb, "per_tracked_hour"),
    }


def earnings_record(pb: api.GetEarningsResponse) -> EarningsRecord:
    return {
        "contractor_id": pb.contractor_id,
        "by_project": [earnings_line(x) for x in pb.by_project],
        "by_week": [earnings_line(x) for x in pb.by_week],
        "total": [earnings_line(x) for x in pb.total],
        "other": [money_record(m) for m in pb.other],
    }


def payout_record(pb: api.Payout) -> PayoutRecord:
    return {
        "payout_id": pb.payout_id,
        "contractor_id": pb.contractor_id,
        "amount": money_field(pb, "amount"),
        "status": enum_word(_PAYOUT_STATUS, pb.status),
        "transaction_id": pb.transaction_id,
    }


def batch_record(pb: api.PayoutBatch) -> PayoutBatchRecord:
    return {
        "batch_id": pb.batch_id,
        "currency": pb.currency_code,
        "threshold": money_field(pb, "threshold"),
        "payouts": [payout_record(p) for p in pb.payouts],
        "total": money_field(pb, "total"),
        "created_at": timestamp_text(pb, "created_at"),
    }


class GrpcLedger:
    """Calls the ledger's LedgerService with ``authorization: Bearer <credential>``."""

    def __init__(self, calls: Caller) -> None:
        self._calls = calls

    @classmethod
    def connect(
        cls, addresses: Addresses, credential: str, *, timeout: float = RPC_TIMEOUT
    ) -> GrpcLedger:
        return cls(
            ServiceCalls(
                service="ledger",
                address=addresses.ledger,
                stub=api_grpc.LedgerServiceStub,
                credential=credential,
                timeout=timeout,
                tls=addresses.tls,
            )
        )

    def verify_books(self) -> VerifyRecord:
        return verify_record(self._calls.call("VerifyBooks", api.VerifyBooksRequest()))

    def list_statement(self, account_id: str, page_size: int, page_token: str) -> StatementPage:
        request = api.ListStatementRequest(
            account_id=account_id, page_size=page_size, page_token=page_token
        )
        reply = self._calls.call("ListStatement", request)
        return {
            "account_id": reply.account_id,
            "entries": [entry_record(e) for e in reply.entries],
            "next_page_token": reply.next_page_token,
        }

    def get_earnings(self, contractor_id: str) -> EarningsRecord:
        request = api.GetEarningsRequest(contractor_id=contractor_id)
        return earnings_record(self._calls.call("GetEarnings", request))

    def run_payout_batch(self, batch_id: str, threshold: MoneyRecord) -> PayoutBatchRecord:
        request = api.RunPayoutBatchRequest(
            batch_id=batch_id,
            threshold=money_pb2.Money(
                currency_code=threshold["currency"], amount_minor=threshold["amount_minor"]
            ),
        )
        return batch_record(self._calls.call("RunPayoutBatch", request).batch)

    def get_payout_batch(self, batch_id: str) -> PayoutBatchRecord:
        request = api.GetPayoutBatchRequest(batch_id=batch_id)
        return batch_record(self._calls.call("GetPayoutBatch", request).batch)
