"""What gets posted, and from what. Pure: no I/O, no protobuf.

Each fact the ledger learns from an event is a frozen record, checked as it is made
(ids present and well formed, money valid: ``InvalidArgument`` names the event's
field, a permanent error). Each posting rule turns a fact into one journal
transaction whose source, its idempotency key, is taken from the cause:

- pay ``submission:<id>``, bonus ``bonus:<id>``, settlement ``settlement:<claim id>``:
  the client is debited the amount plus the platform fee, the contractor credited the
  amount, ``platform:fees`` the fee (no fee entry when it is zero);
- referral ``referral:<referred contractor>``: ``platform:referrals`` pays the referrer;
- payout ``payout:<batch>:<contractor>``: a contractor's whole balance moves to
  ``payouts:in_flight``;
- reversal ``reversal:<transaction id>``: the same entries, negated.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from crewline import validate
from crewline.errors import InvalidArgument
from crewline.money import Money
from ledger.domain.model import (
    PAYOUTS_IN_FLIGHT,
    PLATFORM_FEES,
    PLATFORM_REFERRALS,
    Entry,
    JournalTransaction,
    PostingKind,
    client_account,
    contractor_account,
)
from ledger.domain.money import checked_amount, platform_fee


def _ids(**values: str) -> None:
    for field, value in values.items():
        validate.identifier(value, field=field)


@dataclass(frozen=True, kw_only=True)
class AcceptedWork:
    """SubmissionAccepted: work to pay once, with what earnings are figured from."""

    submission_id: str
    task_id: str
    contractor_id: str
    client_id: str
    project_id: str
    reward: Money
    accepted_by: str
    accepted_at: datetime
    worked_seconds: int
    granted_at: datetime | None
    submitted_at: datetime | None
    # An unpaid exam's question: owed nothing, whatever the reward says (its reward is
    # not checked, and it is recorded as zero: ``journal.accept_unpaid``).
    unpaid: bool = False

    def __post_init__(self) -> None:
        _ids(
            submission_id=self.submission_id,
            contractor_id=self.contractor_id,
            client_id=self.client_id,
        )
        if not self.unpaid:
            checked_amount(self.reward, field="reward")
        if self.worked_seconds < 0:
            raise InvalidArgument("worked_seconds", "must not be negative")

    @property
    def claimed_seconds(self) -> int:
        """Grant to submission: the span "per claimed hour" divides by."""
        if self.granted_at is None or self.submitted_at is None:
            return 0
        return max(int((self.submitted_at - self.granted_at).total_seconds()), 0)


@dataclass(frozen=True, kw_only=True)
class RejectedWork:
    """SubmissionRejected: not paid, unless an override acceptance follows."""

    submission_id: str
    task_id: str
    contractor_id: str
    client_id: str
    project_id: str
    rejected_at: datetime

    def __post_init__(self) -> None:
        _ids(
            submission_id=self.submission_id,
            contractor_id=self.contractor_id,
            client_id=self.client_id,
        )


@dataclass(frozen=True, kw_only=True)
class GrantedBonus:
    """BonusGranted: paid once, with the platform fee on top."""

    bonus_id: str
    submission_id: str
    contractor_id: str
    client_id: str
    amount: Money
    reason: str

    def __post_init__(self) -> None:
        _ids(bonus_id=self.bonus_id, contractor_id=self.contractor_id, client_id=self.client_id)
        checked_amount(self.amount, field="amount")


@dataclass(frozen=True, kw_only=True)
class Settlement:
    """ClaimSettled: what a contractor is owed for work a client cut short."""

    claim_id: str
    contractor_id: str
    client_id: str
    amount: Money

    def __post_init__(self) -> None:
        _ids(claim_id=self.claim_id, contractor_id=self.contractor_id, client_id=self.client_id)
        checked_amount(self.amount, field="amount")


@dataclass(frozen=True, kw_only=True)
class Referral:
    """From ContractorChanged: ``contractor_id`` was referred by ``referred_by``."""

    contractor_id: str
    referred_by: str

    def __post_init__(self) -> None:
        _ids(contractor_id=self.contractor_id)
        _ids(**{"contractor.referred_by": self.referred_by})


def charge_for_work(
    *,
    kind: PostingKind,
    source: str,
    client_id: str,
    contractor_id: str,
    amount: Money,
    fee_bps: int,
    transaction_id: uuid.UUID,
    now: datetime,
    submission_id: str | None = None,
    memo: str = "",
) -> JournalTransaction:
    """Debit the client the amount and the fee on it; credit the contractor the amount
    and the platform its fee."""
    fee = platform_fee(amount, fee_bps)
    entries = [
        Entry(
            client_account(client_id),
            Money(amount.currency, -(amount.amount_minor + fee.amount_minor)),
        ),
        Entry(contractor_account(contractor_id), amount),
    ]
    if fee.amount_minor:
        entries.append(Entry(PLATFORM_FEES, fee))
    return JournalTransaction(
        transaction_id=transaction_id,
        kind=kind,
        source=source,
        entries=tuple(entries),
        posted_at=now,
        memo=memo,
        submission_id=submission_id,
    )


def pay(
    work: AcceptedWork, *, fee_bps: int, transaction_id: uuid.UUID, now: datetime
) -> JournalTransaction:
    """Pay for accepted work (per submission or hourly: the reward is already figured
    under the claim's frozen terms), once per submission however it was accepted."""
    return charge_for_work(
        kind=PostingKind.PAY,
        source=f"submission:{work.submission_id}",
        client_id=work.client_id,
        contractor_id=work.contractor_id,
        amount=work.reward,
        fee_bps=fee_bps,
        transaction_id=transaction_id,
        now=now,
        submission_id=work.submission_id,
    )


def bonus(
    granted: GrantedBonus, *, fee_bps: int, transaction_id: uuid.UUID, now: datetime
) -> JournalTransaction:
    return charge_for_work(
        kind=PostingKind.BONUS,
        source=f"bonus:{granted.bonus_id}",
        client_id=granted.client_id,
        contractor_id=granted.contractor_id,
        amount=granted.amount,
        fee_bps=fee_bps,
        transaction_id=transaction_id,
        now=now,
        memo=granted.reason,
    )


def settlement(
    settled: Settlement, *, fee_bps: int, transaction_id: uuid.UUID, now: datetime
) -> JournalTransaction:
    return charge_for_work(
        kind=PostingKind.SETTLEMENT,
        source=f"settlement:{settled.claim_id}",
        client_id=settled.client_id,
        contractor_id=settled.contractor_id,
        amount=settled.amount,
        fee_bps=fee_bps,
        transaction_id=transaction_id,
        now=now,
    )


def referral(
    referral: Referral, *, bonus: Money, transaction_id: uuid.UUID, now: datetime
) -> JournalTransaction | None:
    """The platform pays the referrer once; nothing when the bonus is set to zero or a
    contractor names themself."""
    if bonus.amount_minor == 0 or referral.referred_by == referral.contractor_id:
        return None
    return JournalTransaction(
        transaction_id=transaction_id,
        kind=PostingKind.REFERRAL,
        source=f"referral:{referral.contractor_id}",
        entries=(
            Entry(PLATFORM_REFERRALS, -bonus),
            Entry(contractor_account(referral.referred_by), bonus),
        ),
        posted_at=now,
        memo=f"referred {referral.contractor_id}",
    )


def payout(
    *, batch_id: str, contractor_id: str, balance: Money, transaction_id: uuid.UUID, now: datetime
) -> JournalTransaction:
    """A contractor's whole balance, out to the payment rail."""
    return JournalTransaction(
        transaction_id=transaction_id,
        kind=PostingKind.PAYOUT,
        source=payout_source(batch_id, contractor_id),
        entries=(
            Entry(contractor_account(contractor_id), -balance),
            Entry(PAYOUTS_IN_FLIGHT, balance),
        ),
        posted_at=now,
        memo=f"payout batch {batch_id}",
    )


def payout_source(batch_id: str, contractor_id: str) -> str:
    return f"payout:{batch_id}:{contractor_id}"


def reversal(
    original: JournalTransaction, *, transaction_id: uuid.UUID, now: datetime, memo: str
) -> JournalTransaction:
    """A correction: the original's entries negated, referring to it. A transaction is
    reversed at most once (the source is the original's id)."""
    if original.kind is PostingKind.REVERSAL:
        raise InvalidArgument("transaction_id", "is a reversal; post the correction anew")
    return JournalTransaction(
        transaction_id=transaction_id,
        kind=PostingKind.REVERSAL,
        source=f"reversal:{original.transaction_id}",
        entries=tuple(Entry(e.account_id, -e.amount) for e in original.entries),
        posted_at=now,
        memo=memo,
        reversal_of=original.transaction_id,
    )
