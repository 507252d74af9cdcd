"""A contractor's earnings: per project, per ISO week, in total, and per hour. Pure.

Only pay for accepted work counts in the lines and their hourly figures; bonuses,
referrals and settlements are summed apart, in ``other``. Effective hourly pay is
``paid x 3600 / seconds`` in whole minor units, rounded down: once over the time
between claim and submission, once over the time tracked.
"""

from __future__ import annotations

from dataclasses import dataclass

from crewline import validate
from crewline.auth.principal import Kind, Principal
from crewline.errors import InvalidArgument, NotFound
from crewline.money import Money


def per_hour(paid: Money, seconds: int) -> Money | None:
    """Pay per hour over ``seconds``, floored; None when no time was counted."""
    if seconds <= 0:
        return None
    return Money(paid.currency, paid.amount_minor * 3600 // seconds)


@dataclass(frozen=True, kw_only=True)
class EarningsLine:
    """Sums over paid submissions grouped by ``key`` (a project id, a week's Monday as
    YYYY-MM-DD, or empty in totals), in one currency."""

    key: str  # weeks are ISO weeks of the acceptance, in UTC
    paid: Money
    submissions: int
    claimed_seconds: int
    tracked_seconds: int

    @property
    def per_claimed_hour(self) -> Money | None:
        return per_hour(self.paid, self.claimed_seconds)

    @property
    def per_tracked_hour(self) -> Money | None:
        return per_hour(self.paid, self.tracked_seconds)


@dataclass(frozen=True, kw_only=True)
class Earnings:
    contractor_id: str
    by_project: tuple[EarningsLine, ...]
    by_week: tuple[EarningsLine, ...]
    total: tuple[EarningsLine, ...]  # one per currency
    other: tuple[Money, ...]  # bonuses, referrals and settlements, per currency


def readable_contractor(requested: str | None, caller: Principal) -> str:
    """Whose earnings ``caller`` may read: a contractor their own (another's answers
    NOT_FOUND), an operator anyone's, named. The id is checked first, so a malformed one
    is INVALID_ARGUMENT whoever asks."""
    if requested is not None:
        validate.identifier(requested, field="contractor_id")
    if caller.kind is Kind.CONTRACTOR:
        if requested is not None and requested != caller.id:
            raise NotFound(f"contractor {requested} not found")
        return caller.id
    if requested is None:
        raise InvalidArgument("contractor_id", "is required for an operator")
    return requested
