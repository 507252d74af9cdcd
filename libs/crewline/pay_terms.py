"""Pay terms: per accepted submission, or by the hour up to a cap. Versioned per project.

Pure: no I/O, no protobuf. A claim freezes the version it was granted under, and
the amount it earns is computed from those frozen terms, never today's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from crewline.errors import InvalidArgument
from crewline.money import MAX_AMOUNT_MINOR, Money

MIN_PAID_SECONDS = 60
MAX_PAID_SECONDS = 30 * 24 * 3600


class Basis(enum.StrEnum):
    PER_SUBMISSION = "per_submission"
    HOURLY = "hourly"


@dataclass(frozen=True, kw_only=True)
class PayTerms:
    """``rate`` is the reward per submission, or the pay per hour."""

    basis: Basis
    rate: Money
    max_paid_seconds: int = 0  # HOURLY only
    version: int = 0  # 0 until the owner numbers it
    effective_at: datetime | None = None

    def same_terms(self, other: PayTerms) -> bool:
        """Equal money terms, whatever their version numbers."""
        return (self.basis, self.rate, self.max_paid_seconds) == (
            other.basis,
            other.rate,
            other.max_paid_seconds,
        )

    def earned(self, worked_seconds: float) -> Money:
        """What an accepted submission earns under these terms.

        Hourly pay is rate x min(worked, cap), rounded up to a whole minor unit and
        at least one second's worth: no accepted work is paid nothing.
        """
        if self.basis is Basis.PER_SUBMISSION:
            return self.rate
        paid = min(max(int(worked_seconds), 1), self.max_paid_seconds)
        amount = -(-self.rate.amount_minor * paid // 3600)  # ceiling division
        return Money(self.rate.currency, amount)


def pay_terms(
    *, basis: Basis | None, rate: Money | None, max_paid_seconds: int, field: str
) -> PayTerms:
    """Validate request fields (``rate`` already checked positive); errors name the field."""
    if basis is None or rate is None:
        raise InvalidArgument(field, "must set per_submission or hourly")
    if basis is Basis.PER_SUBMISSION:
        return PayTerms(basis=basis, rate=rate)
    if not MIN_PAID_SECONDS <= max_paid_seconds <= MAX_PAID_SECONDS:
        raise InvalidArgument(
            f"{field}.hourly.max_paid_seconds",
            f"must be between {MIN_PAID_SECONDS} and {MAX_PAID_SECONDS}",
        )
    terms = PayTerms(basis=basis, rate=rate, max_paid_seconds=max_paid_seconds)
    # A claim's pay is one amount: the most it can earn must be one the books take.
    if terms.earned(max_paid_seconds).amount_minor > MAX_AMOUNT_MINOR:
        most = MAX_AMOUNT_MINOR * 3600 // rate.amount_minor
        raise InvalidArgument(
            f"{field}.hourly.max_paid_seconds",
            f"at this rate would pay more than {MAX_AMOUNT_MINOR} minor units for one claim;"
            f" must be at most {most}",
        )
    return terms
