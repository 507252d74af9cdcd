"""Double-entry books. Pure: no I/O, no protobuf.

A transaction is two or more entries whose amounts sum to zero in each
currency. Crediting a contractor for accepted work debits the client who owes
it: the contractor's balance is what they earned, the client's (negative) what
they owe.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from crewline import validate
from crewline.auth.principal import Kind, Principal
from crewline.errors import InvalidArgument
from crewline.money import Money

_ACCOUNT = re.compile(r"(client|contractor):(.+)")


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
    """Validate ``client:<id>`` or ``contractor:<id>``."""
    match = _ACCOUNT.fullmatch(value)
    if not match:
        raise InvalidArgument("account_id", "must be client:<id> or contractor:<id>")
    validate.identifier(match.group(2), field="account_id")
    return value


class UnbalancedTransaction(ValueError):
    """Entries that do not sum to zero: a bug, never a caller's mistake."""


@dataclass(frozen=True)
class Entry:
    account_id: str
    amount: Money  # positive credits the account, negative debits it


@dataclass(frozen=True, kw_only=True)
class JournalTransaction:
    transaction_id: uuid.UUID
    source: str  # what caused it; unique, so a cause is booked once
    entries: tuple[Entry, ...]
    posted_at: datetime

    def __post_init__(self) -> None:
        if len(self.entries) < 2:
            raise UnbalancedTransaction("a transaction needs at least two entries")
        totals: dict[str, int] = defaultdict(int)
        for entry in self.entries:
            if entry.amount.amount_minor == 0:
                raise UnbalancedTransaction("an entry of zero moves nothing")
            totals[entry.amount.currency] += entry.amount.amount_minor
        unbalanced = {c: t for c, t in totals.items() if t != 0}
        if unbalanced:
            raise UnbalancedTransaction(f"entries do not sum to zero: {unbalanced}")


def pay_for_accepted_work(
    *,
    submission_id: str,
    client_id: str,
    contractor_id: str,
    reward: Money,
    transaction_id: uuid.UUID,
    now: datetime,
) -> JournalTransaction:
    """Credit the contractor the claim's frozen reward, debit the client."""
    if reward.amount_minor <= 0:
        raise UnbalancedTransaction(f"pay must be positive, got {reward}")
    return JournalTransaction(
        transaction_id=transaction_id,
        source=f"submission:{submission_id}",
        entries=(
            Entry(client_account(client_id), -reward),
            Entry(contractor_account(contractor_id), reward),
        ),
        posted_at=now,
    )


@dataclass(frozen=True, kw_only=True)
class BooksReport:
    transaction_count: int
    entry_count: int
    unbalanced_transaction_count: int
    total_paid_to_contractors: tuple[Money, ...]

    @property
    def balanced(self) -> bool:
        return self.unbalanced_transaction_count == 0
