"""Double-entry books. Pure: no I/O, no protobuf.

A transaction is two or more entries whose amounts sum to zero in each currency.
Positive credits an account, negative debits it: a contractor's balance is what
they earned and was not yet paid out, a client's (negative) what it owes, and the
platform's accounts hold its fees, what its referrals cost it, and payouts in
flight to the payment rail.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from crewline import validate
from crewline.auth.principal import Kind, Principal
from crewline.errors import InvalidArgument, NotFound
from crewline.money import Money

PLATFORM_FEES = "platform:fees"
PLATFORM_REFERRALS = "platform:referrals"  # the platform's referral expense
PAYOUTS_IN_FLIGHT = "payouts:in_flight"
PLATFORM_ACCOUNTS = frozenset({PLATFORM_FEES, PLATFORM_REFERRALS, PAYOUTS_IN_FLIGHT})

_OWNED = re.compile(r"(client|contractor):(.+)")


class PostingKind(enum.StrEnum):
    PAY = "pay"
    BONUS = "bonus"
    REFERRAL = "referral"
    SETTLEMENT = "settlement"
    PAYOUT = "payout"
    REVERSAL = "reversal"


def client_account(client_id: str) -> str:
    return f"client:{client_id}"


def contractor_account(contractor_id: str) -> str:
    return f"contractor:{contractor_id}"


def account_of(principal: Principal) -> str | None:
    """The principal's own account; operators have none."""
    if principal.kind is Kind.CLIENT:
        return client_account(principal.id)
    if principal.kind is Kind.CONTRACTOR:
        return contractor_account(principal.id)
    return None


def account_id(value: str) -> str:
    """Validate ``client:<id>``, ``contractor:<id>`` or one of the platform's accounts."""
    if value in PLATFORM_ACCOUNTS:
        return value
    match = _OWNED.fullmatch(value)
    if not match:
        raise InvalidArgument(
            "account_id",
            f"must be client:<id>, contractor:<id> or one of {sorted(PLATFORM_ACCOUNTS)}",
        )
    validate.identifier(match.group(2), field="account_id")
    return value


def readable_account(requested: str | None, caller: Principal) -> str:
    """The account ``caller`` asks to read: clients and contractors their own (another's
    answers NOT_FOUND, so existence never leaks); operators must name one."""
    own = account_of(caller)
    if requested is None:
        if own is None:
            raise InvalidArgument("account_id", "is required for an operator")
        return own
    if caller.kind is not Kind.OPERATOR and requested != own:
        raise NotFound(f"account {requested} not found")
    return requested


class UnbalancedTransaction(ValueError):
    """Entries that do not sum to zero: a bug, never a caller's mistake."""


@dataclass(frozen=True)
class Entry:
    account_id: str
    amount: Money  # positive credits the account, negative debits it


@dataclass(frozen=True, kw_only=True)
class JournalTransaction:
    transaction_id: uuid.UUID
    kind: PostingKind
    source: str  # the cause, and the idempotency key: unique, so a cause is booked once
    entries: tuple[Entry, ...]
    posted_at: datetime
    memo: str = ""
    reversal_of: uuid.UUID | None = None
    submission_id: str | None = None  # the work paid, for pay (Verify counts these)

    def __post_init__(self) -> None:
        if len(self.entries) < 2:
            raise UnbalancedTransaction("a transaction needs at least two entries")
        totals: dict[str, int] = defaultdict(int)
        legs = set()
        for entry in self.entries:
            if entry.amount.amount_minor == 0:
                raise UnbalancedTransaction("an entry of zero moves nothing")
            legs.add((entry.account_id, entry.amount.currency))
            totals[entry.amount.currency] += entry.amount.amount_minor
        if len(legs) != len(self.entries):
            # One entry per account and currency: each stores the balance after it.
            raise UnbalancedTransaction("an account appears twice in one currency")
        unbalanced = {c: t for c, t in totals.items() if t != 0}
        if unbalanced:
            raise UnbalancedTransaction(f"entries do not sum to zero: {unbalanced}")

    def credit_to(self, account: str) -> Entry | None:
        return next((e for e in self.entries if e.account_id == account), None)


@dataclass(frozen=True, kw_only=True)
class StatementEntry:
    """One entry of an account, as its statement shows it."""

    entry_id: int  # the statement's order (and cursor): later entries have higher ids
    transaction_id: uuid.UUID
    kind: PostingKind
    source: str
    amount: Money
    balance_after: Money
    posted_at: datetime
    memo: str
    reversal_of: uuid.UUID | None


@dataclass(frozen=True, kw_only=True)
class BooksReport:
    transaction_count: int
    entry_count: int
    unbalanced_transaction_count: int
    total_paid_to_contractors: tuple[Money, ...]
    account_count: int = 0
    mismatched_balance_count: int = 0
    accepted_submission_count: int = 0
    paid_once_count: int = 0
    unpaid_count: int = 0
    paid_twice_count: int = 0
    rejected_with_pay_count: int = 0
    verified_at: datetime | None = None

    @property
    def balanced(self) -> bool:
        """Every transaction sums to zero and every stored balance is its entries' sum."""
        return self.unbalanced_transaction_count == 0 and self.mismatched_balance_count == 0

    @property
    def every_submission_paid_once(self) -> bool:
        return (
            self.unpaid_count == 0
            and self.paid_twice_count == 0
            and self.rejected_with_pay_count == 0
            and self.paid_once_count == self.accepted_submission_count
        )
