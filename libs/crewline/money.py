"""Money as integer minor units with a currency code: never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass

from crewline.errors import InvalidArgument

_CURRENCY = re.compile(r"[A-Z]{3}")
# Far above any single piece of pay; keeps sums well inside int64.
MAX_AMOUNT_MINOR = 10**12


@dataclass(frozen=True, order=True)
class Money:
    currency: str
    amount_minor: int

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise TypeError("amount_minor must be an int")

    def __neg__(self) -> Money:
        return Money(self.currency, -self.amount_minor)

    @classmethod
    def positive(cls, *, currency: str, amount_minor: int, field: str) -> Money:
        """A validated positive amount; errors name ``field``."""
        if not _CURRENCY.fullmatch(currency):
            raise InvalidArgument(f"{field}.currency_code", "must be three upper-case letters")
        if amount_minor <= 0:
            raise InvalidArgument(f"{field}.amount_minor", "must be greater than zero")
        if amount_minor > MAX_AMOUNT_MINOR:
            raise InvalidArgument(f"{field}.amount_minor", f"must be at most {MAX_AMOUNT_MINOR}")
        return cls(currency, amount_minor)
