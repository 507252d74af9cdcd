"""Money the ledger takes from events, and the platform fee. Pure: no I/O, no protobuf.

An event's amount is checked as strictly as a request's: the books must never hold
an amount in a currency nobody can pay, a negative "credit", or a sum near int64's
edge. A refusal is ``InvalidArgument`` naming the event's field: a permanent error,
so the consumer dead-letters the event instead of retrying it or skipping it.
"""

from __future__ import annotations

from crewline.money import Money

MAX_FEE_BPS = 10_000


def checked_amount(money: Money, *, field: str) -> Money:
    """An amount to move (from an event or a request): a known currency, more than zero,
    at most ``MAX_AMOUNT_MINOR``; else ``InvalidArgument`` naming ``field``."""
    return Money.positive(currency=money.currency, amount_minor=money.amount_minor, field=field)


def platform_fee(amount: Money, fee_bps: int) -> Money:
    """``fee_bps`` basis points of ``amount``, rounded up to a whole minor unit: the
    platform never rounds its fee in its own disfavour by a fraction, nor charges one
    more unit than the exact fee's ceiling."""
    if not 0 <= fee_bps <= MAX_FEE_BPS:
        raise ValueError(f"fee_bps must be 0-{MAX_FEE_BPS}, got {fee_bps}")
    return Money(amount.currency, -(-amount.amount_minor * fee_bps // MAX_FEE_BPS))
