"""Payout batches. Pure: no I/O, no protobuf.

An operator runs a batch with an id of their choosing and a threshold: every
contractor whose balance in the threshold's currency is at least the threshold is
paid out in full, each in a transaction of its own (all or nothing per contractor).
The batch id is its idempotency key forever: running it again returns the same
batch, and running it with another threshold is refused. A preview shows what a run
would pay now, chosen by the same rule (``pays_out``), and keeps nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from crewline import validate
from crewline.errors import InvalidArgument
from crewline.money import Money
from crewline.paging import decode_token, encode_token, page_size, token_identifier, token_time
from ledger.domain.money import checked_amount
from ledger.domain.postings import payout_source

PAGE = 50
PAGE_MAX = 500


@dataclass(frozen=True, kw_only=True)
class RunPayoutBatch:
    batch_id: str
    threshold: Money

    def __post_init__(self) -> None:
        validate.identifier(self.batch_id, field="batch_id")
        checked_amount(self.threshold, field="threshold")


@dataclass(frozen=True, kw_only=True)
class Payout:
    batch_id: str
    contractor_id: str
    amount: Money
    transaction_id: uuid.UUID

    @property
    def payout_id(self) -> str:
        return payout_source(self.batch_id, self.contractor_id)


@dataclass(frozen=True, kw_only=True)
class PayoutBatch:
    batch_id: str
    threshold: Money
    created_at: datetime
    completed_at: datetime | None
    payouts: tuple[Payout, ...]

    @property
    def total(self) -> Money:
        return Money(self.threshold.currency, sum(p.amount.amount_minor for p in self.payouts))

    def answers(self, cmd: RunPayoutBatch) -> PayoutBatch:
        """This batch, when ``cmd`` repeats the request that made it."""
        if cmd.threshold != self.threshold:
            raise InvalidArgument("batch_id", f"was already run with threshold {self.threshold}")
        return self


def pays_out(balance: Money, threshold: Money) -> bool:
    """A balance is paid out in full when it reaches the threshold (in its currency)."""
    return balance.currency == threshold.currency and balance.amount_minor >= max(
        threshold.amount_minor, 1
    )


@dataclass(frozen=True, kw_only=True)
class PreviewPayoutBatch:
    threshold: Money

    def __post_init__(self) -> None:
        checked_amount(self.threshold, field="threshold")


@dataclass(frozen=True, kw_only=True)
class PayoutPreview:
    """What a batch run at ``previewed_at`` would pay: each chosen contractor's balance."""

    threshold: Money
    previewed_at: datetime
    payouts: tuple[tuple[str, Money], ...]  # (contractor id, amount), by contractor id

    @property
    def total(self) -> Money:
        return Money(self.threshold.currency, sum(m.amount_minor for _, m in self.payouts))


@dataclass(frozen=True, kw_only=True)
class BatchSummary:
    """A batch as listed: its payouts counted and summed, not shown."""

    batch_id: str
    threshold: Money
    created_at: datetime
    completed_at: datetime | None
    payout_count: int
    total: Money

    def next_token(self) -> str:
        return encode_token(self.created_at.isoformat(), self.batch_id)


@dataclass(frozen=True, kw_only=True)
class ListPayoutBatches:
    """Query: batches newest first, before (created_at, batch_id) ``before``."""

    limit: int
    before: tuple[datetime, str] | None


def list_payout_batches(*, size: int, page_token: str) -> ListPayoutBatches:
    before = None
    if page_token:
        at, batch_id = decode_token(page_token, parts=2)
        before = (token_time(at), token_identifier(batch_id))
    return ListPayoutBatches(limit=page_size(size, default=PAGE, maximum=PAGE_MAX), before=before)
