"""What ``crewctl ledger|payout|statement|earnings`` need from the ledger, in plain Python.

``crewline.ctl.ledger_rpc.GrpcLedger`` is the real one, tests pass a fake. Records are
JSON-ready dicts, like ``crewline.ctl.api``'s; amounts are money records in minor units.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypedDict

from crewline.ctl.api import MoneyRecord
from crewline.ctl.config import Addresses


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


class EarningsRecord(TypedDict):
    contractor_id: str
    by_project: list[EarningsLineRecord]
    by_week: list[EarningsLineRecord]
    total: list[EarningsLineRecord]  # one line per currency
    other: list[MoneyRecord]  # bonuses, referrals, settlements: not in the hourly figures


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


class Ledger(Protocol):
    """The ledger's calls. Each raises ``RpcFailed`` when refused."""

    def verify_books(self) -> VerifyRecord: ...

    def list_statement(self, account_id: str, page_size: int, page_token: str) -> StatementPage: ...

    def get_earnings(self, contractor_id: str) -> EarningsRecord: ...

    def run_payout_batch(self, batch_id: str, threshold: MoneyRecord) -> PayoutBatchRecord: ...

    def get_payout_batch(self, batch_id: str) -> PayoutBatchRecord: ...


# Builds a Ledger for the resolved addresses and a credential (whoever's it is).
LedgerFactory = Callable[[Addresses, str], Ledger]
