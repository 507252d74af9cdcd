"""A contractor's earnings and the operator's payout batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crewline.client.results.enums import PayoutStatus
from crewline.client.results.ledger import amounts
from crewline.client.results.money import Money
from crewline.client.results.wire import brief, counted, money_of, time_of, when
from crewline.v1 import ledger_service_pb2 as ledger_api


@dataclass(frozen=True, slots=True, kw_only=True)
class EarningsLine:
    """Pay for accepted work in one currency, over one project, one week, or in total.

    ``key``: the project id (``by_project``), the week's Monday as ``YYYY-MM-DD``
    (``by_week``), or "" (``total``); ``paid``; ``submissions`` paid;
    ``claimed_seconds`` (grant to submission, summed) and ``tracked_seconds``; the pay
    per hour of each: ``per_claimed_hour``, ``per_tracked_hour`` (None without hours).
    """

    key: str
    paid: Money | None
    submissions: int
    claimed_seconds: int
    tracked_seconds: int
    per_claimed_hour: Money | None
    per_tracked_hour: Money | None
    raw: ledger_api.EarningsLine = field(
        default_factory=ledger_api.EarningsLine, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: ledger_api.EarningsLine) -> EarningsLine:
        return cls(
            key=message.key,
            paid=money_of(message, "paid"),
            submissions=message.submissions,
            claimed_seconds=message.claimed_seconds,
            tracked_seconds=message.tracked_seconds,
            per_claimed_hour=money_of(message, "per_claimed_hour"),
            per_tracked_hour=money_of(message, "per_tracked_hour"),
            raw=message,
        )

    def __str__(self) -> str:
        hourly = f", {self.per_claimed_hour} per claimed hour" if self.per_claimed_hour else ""
        label = f"{self.key}: " if self.key else ""
        return f"{label}{self.paid} for {counted(self.submissions, 'submission')}{hourly}"

    def __repr__(self) -> str:
        return f"EarningsLine({str(self)!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Earnings:
    """A contractor's pay for accepted work.

    ``contractor_id``; ``total`` (one line per currency), ``by_project`` and
    ``by_week``; ``other``: bonuses, referrals and settlements per currency (not in the
    lines' per-hour figures).
    """

    contractor_id: str
    total: tuple[EarningsLine, ...]
    by_project: tuple[EarningsLine, ...]
    by_week: tuple[EarningsLine, ...]
    other: tuple[Money, ...]
    raw: ledger_api.GetEarningsResponse = field(
        default_factory=ledger_api.GetEarningsResponse, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: ledger_api.GetEarningsResponse) -> Earnings:
        return cls(
            contractor_id=message.contractor_id,
            total=tuple(map(EarningsLine.from_pb, message.total)),
            by_project=tuple(map(EarningsLine.from_pb, message.by_project)),
            by_week=tuple(map(EarningsLine.from_pb, message.by_week)),
            other=tuple(map(Money.from_pb, message.other)),
            raw=message,
        )

    def __str__(self) -> str:
        total = "; ".join(map(str, self.total)) or "nothing yet"
        other = f"; other pay {amounts(self.other)}" if self.other else ""
        return (
            f"earnings of {self.contractor_id}: {total}{other}"
            f" ({counted(len(self.by_project), 'project')}, {counted(len(self.by_week), 'week')})"
        )

    def __repr__(self) -> str:
        return f"Earnings({str(self)!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Payout:
    """One contractor's balance moved out in a batch: ``payout_id`` (the reference to send
    the money through the payment rail with), ``contractor_id``, ``amount``, ``status``
    (IN_FLIGHT: booked and owed to the contractor; the only status Crewline records),
    ``transaction_id`` (its ledger transaction)."""

    payout_id: str
    contractor_id: str
    amount: Money | None
    status: PayoutStatus | None
    transaction_id: str
    raw: ledger_api.Payout = field(default_factory=ledger_api.Payout, repr=False, compare=False)

    @classmethod
    def from_pb(cls, message: ledger_api.Payout) -> Payout:
        return cls(
            payout_id=message.payout_id,
            contractor_id=message.contractor_id,
            amount=money_of(message, "amount"),
            status=PayoutStatus.from_pb(message.status),
            transaction_id=message.transaction_id,
            raw=message,
        )

    def __str__(self) -> str:
        return f"payout {self.payout_id}: {self.amount} to {self.contractor_id}, {self.status}"

    def __repr__(self) -> str:
        return brief(self, "payout_id", "contractor_id", "amount", "status")


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutBatch:
    """A run that paid out every contractor balance at or above ``threshold``.

    ``batch_id``; ``currency``; ``threshold``; ``payouts``, one per contractor paid
    (empty in a list of batches), and ``payout_count``; ``total``; ``created_at``;
    ``completed_at`` (None while a run was cut short: running the batch again with the
    same id and threshold finishes it).
    """

    batch_id: str
    currency: str
    threshold: Money | None
    payouts: tuple[Payout, ...]
    payout_count: int
    total: Money | None
    created_at: datetime | None
    completed_at: datetime | None
    raw: ledger_api.PayoutBatch = field(
        default_factory=ledger_api.PayoutBatch, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: ledger_api.PayoutBatch) -> PayoutBatch:
        return cls(
            batch_id=message.batch_id,
            currency=message.currency_code,
            threshold=money_of(message, "threshold"),
            payouts=tuple(map(Payout.from_pb, message.payouts)),
            payout_count=message.payout_count,
            total=money_of(message, "total"),
            created_at=time_of(message, "created_at"),
            completed_at=time_of(message, "completed_at"),
            raw=message,
        )

    def __str__(self) -> str:
        unfinished = "" if self.completed_at else "; cut short: run it again to finish"
        return (
            f"payout batch {self.batch_id} at {when(self.created_at)}: {self.payout_count}"
            f" payouts, {self.total} in all (threshold {self.threshold}){unfinished}"
        )

    def __repr__(self) -> str:
        return brief(self, "batch_id", "total", "threshold", "payout_count")


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutPreview:
    """A payout a batch run now would book: ``contractor_id``, ``account_id``
    (``contractor:<id>``), ``amount`` (the account's whole balance in the currency)."""

    contractor_id: str
    account_id: str
    amount: Money | None
    raw: ledger_api.PayoutPreview = field(
        default_factory=ledger_api.PayoutPreview, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: ledger_api.PayoutPreview) -> PayoutPreview:
        return cls(
            contractor_id=message.contractor_id,
            account_id=message.account_id,
            amount=money_of(message, "amount"),
            raw=message,
        )

    def __str__(self) -> str:
        return f"{self.amount} to {self.contractor_id}"

    def __repr__(self) -> str:
        return f"PayoutPreview({str(self)!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutBatchPreview:
    """What a payout batch run with ``threshold`` would pay if it ran now: ``payouts`` (by
    contractor), ``total``, and ``previewed_at``, when the balances were read. Nothing
    is reserved: balances that change before the run change what it pays."""

    threshold: Money | None
    payouts: tuple[PayoutPreview, ...]
    total: Money | None
    previewed_at: datetime | None
    raw: ledger_api.PreviewPayoutBatchResponse = field(
        default_factory=ledger_api.PreviewPayoutBatchResponse, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: ledger_api.PreviewPayoutBatchResponse) -> PayoutBatchPreview:
        return cls(
            threshold=money_of(message, "threshold"),
            payouts=tuple(map(PayoutPreview.from_pb, message.payouts)),
            total=money_of(message, "total"),
            previewed_at=time_of(message, "previewed_at"),
            raw=message,
        )

    def __str__(self) -> str:
        return (
            f"a payout batch now would pay {len(self.payouts)} contractors {self.total}"
            f" in all (threshold {self.threshold}, balances at {when(self.previewed_at)})"
        )

    def __repr__(self) -> str:
        return brief(self, "threshold", "total", "payouts")
