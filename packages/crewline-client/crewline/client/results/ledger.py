"""An account's books: balances, statement entries, and the operator's check of the books."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crewline.client.results.enums import PostingKind
from crewline.client.results.money import Money
from crewline.client.results.wire import brief, money_of, time_of, when
from crewline.v1 import ledger_service_pb2 as ledger_api


def amounts(moneys: tuple[Money, ...]) -> str:
    """``$12.50 USD, €3.00 EUR``, or ``nothing``."""
    return ", ".join(map(str, moneys)) or "nothing"


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance:
    """What ``balance`` answers: ``account_id`` (e.g. ``contractor:alice``) and its
    ``balances``, one per currency."""

    account_id: str
    balances: tuple[Money, ...]
    raw: ledger_api.GetBalanceResponse = field(
        default_factory=ledger_api.GetBalanceResponse, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: ledger_api.GetBalanceResponse) -> Balance:
        return cls(
            account_id=message.account_id,
            balances=tuple(map(Money.from_pb, message.balances)),
            raw=message,
        )

    def __str__(self) -> str:
        return f"{self.account_id}: {amounts(self.balances)}"

    def __repr__(self) -> str:
        return f"Balance({str(self)!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementEntry:
    """One line of an account's statement.

    ``transaction_id``; ``kind`` (PAY, BONUS, REFERRAL, SETTLEMENT, PAYOUT, REVERSAL);
    ``source``: its cause (``submission:<id>``, ``bonus:<id>``,
    ``payout:<batch>:<contractor>``); ``amount`` (negative for a debit) and
    ``balance_after``; ``posted_at``; ``memo``; ``reversal_of``: the transaction a
    reversal reverses.
    """

    transaction_id: str
    kind: PostingKind | None
    source: str
    amount: Money | None
    balance_after: Money | None
    posted_at: datetime | None
    memo: str
    reversal_of: str
    raw: ledger_api.StatementEntry = field(
        default_factory=ledger_api.StatementEntry, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: ledger_api.StatementEntry) -> StatementEntry:
        return cls(
            transaction_id=message.transaction_id,
            kind=PostingKind.from_pb(message.kind),
            source=message.source,
            amount=money_of(message, "amount"),
            balance_after=money_of(message, "balance_after"),
            posted_at=time_of(message, "posted_at"),
            memo=message.memo,
            reversal_of=message.reversal_of,
            raw=message,
        )

    def __str__(self) -> str:
        return (
            f"{when(self.posted_at)} {self.kind or 'UNKNOWN'} {self.amount}"
            f" ({self.source}), balance {self.balance_after}"
        )

    def __repr__(self) -> str:
        return brief(self, "transaction_id", "kind", "amount", "source")


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementPage:
    """One page of a statement: ``account_id``, ``entries`` (newest first) and
    ``next_page_token`` ("" on the last page)."""

    account_id: str
    entries: tuple[StatementEntry, ...]
    next_page_token: str
    raw: ledger_api.ListStatementResponse = field(
        default_factory=ledger_api.ListStatementResponse, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: ledger_api.ListStatementResponse) -> StatementPage:
        return cls(
            account_id=message.account_id,
            entries=tuple(map(StatementEntry.from_pb, message.entries)),
            next_page_token=message.next_page_token,
            raw=message,
        )

    def __repr__(self) -> str:
        return f"StatementPage({self.account_id!r}, entries=<{len(self.entries)}>)"


@dataclass(frozen=True, slots=True, kw_only=True)
class BooksCheck:
    """What ``verify_books`` answers.

    ``balanced``: every transaction sums to zero (``unbalanced_transaction_count``) and
    every stored balance is the sum of its entries (``mismatched_balance_count``);
    ``transaction_count``, ``entry_count``, ``account_count``; of the
    ``accepted_submission_count`` accepted submissions: ``paid_once_count``,
    ``unpaid_count``, ``paid_twice_count``; ``rejected_with_pay_count`` (must be 0);
    ``total_paid_to_contractors`` per currency; ``verified_at``.
    """

    balanced: bool
    transaction_count: int
    entry_count: int
    account_count: int
    unbalanced_transaction_count: int
    mismatched_balance_count: int
    accepted_submission_count: int
    paid_once_count: int
    unpaid_count: int
    paid_twice_count: int
    rejected_with_pay_count: int
    total_paid_to_contractors: tuple[Money, ...]
    verified_at: datetime | None
    raw: ledger_api.VerifyBooksResponse = field(
        default_factory=ledger_api.VerifyBooksResponse, repr=False, compare=False
    )

    @property
    def every_submission_paid_once(self) -> bool:
        """Accepted work paid exactly once each, and no rejected work paid."""
        return (
            self.paid_once_count == self.accepted_submission_count
            and self.unpaid_count == self.paid_twice_count == self.rejected_with_pay_count == 0
        )

    @classmethod
    def from_pb(cls, message: ledger_api.VerifyBooksResponse) -> BooksCheck:
        return cls(
            balanced=message.balanced,
            transaction_count=message.transaction_count,
            entry_count=message.entry_count,
            account_count=message.account_count,
            unbalanced_transaction_count=message.unbalanced_transaction_count,
            mismatched_balance_count=message.mismatched_balance_count,
            accepted_submission_count=message.accepted_submission_count,
            paid_once_count=message.paid_once_count,
            unpaid_count=message.unpaid_count,
            paid_twice_count=message.paid_twice_count,
            rejected_with_pay_count=message.rejected_with_pay_count,
            total_paid_to_contractors=tuple(map(Money.from_pb, message.total_paid_to_contractors)),
            verified_at=time_of(message, "verified_at"),
            raw=message,
        )

    def __str__(self) -> str:
        verdict = "balanced" if self.balanced else "NOT balanced"
        return (
            f"books {verdict} at {when(self.verified_at)}: {self.transaction_count}"
            f" transactions, {self.paid_once_count} of {self.accepted_submission_count}"
            f" accepted submissions paid once, {amounts(self.total_paid_to_contractors)}"
            " paid to contractors"
        )

    def __repr__(self) -> str:
        return brief(self, "balanced", "transaction_count", "paid_once_count", "unpaid_count")
