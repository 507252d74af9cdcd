"""Money as people read it: ``$12.50 USD``, a ``Decimal`` amount and integer minor units.

The wire carries integer minor units (cents for USD), never a float. ``DECIMALS`` is the
one table of ISO 4217 currencies whose minor unit is not a hundredth.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Self

from crewline.v1 import money_pb2

# ISO 4217 minor units where they are not 2: currencies without one, and those in thousandths.
DECIMALS: dict[str, int] = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
# Shown before the amount; the code always follows, so a shared sign ($, ¥) is never ambiguous.
SYMBOLS: dict[str, str] = {
    **dict.fromkeys(("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"), "$"),
    **dict.fromkeys(("JPY", "CNY"), "¥"),
    "EUR": "€",
    "GBP": "£",
    "INR": "₹",
    "KRW": "₩",
    "ILS": "₪",
    "BRL": "R$",
}


def decimals(currency: str) -> int:
    """How many decimals the currency's minor unit has (2 unless ``DECIMALS`` says not)."""
    return DECIMALS.get(currency.upper(), 2)


def minor_units(amount: Decimal | str | int, currency: str) -> int:
    """``"12.50"``, ``"USD"`` -> 1250. ValueError for text that is not a number or has
    more decimals than the currency's minor unit."""
    places = decimals(currency)
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"{amount!r} is not an amount, e.g. 12.50") from None
    if not value.is_finite():
        raise ValueError(f"{amount!r} is not an amount, e.g. 12.50")
    minor = value.scaleb(places)
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} {currency.upper()} has more than {places} decimals")
    return int(minor)


@dataclass(frozen=True, slots=True, kw_only=True)
class Money:
    """An amount of one currency.

    ``amount``: a ``Decimal`` in the currency's unit (``Decimal("12.50")``);
    ``minor``: the same as an integer of minor units (1250); ``currency``: the ISO 4217
    code (``"USD"``). Build one with ``Money.of("12.50", "USD")`` or
    ``Money.from_minor(1250, "USD")``; ``str()`` reads ``$12.50 USD``.
    """

    amount: Decimal
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError(f"minor must be an int of minor units, not {self.minor!r}")
        if self.amount != _amount(self.minor, self.currency):
            raise ValueError(f"{self.amount} is not {self.minor} minor units of {self.currency}")

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Self:
        """``minor`` units of the currency's minor unit: ``from_minor(1250, "USD")``."""
        code = currency.upper()
        return cls(amount=_amount(minor, code), minor=minor, currency=code)

    @classmethod
    def of(cls, amount: Decimal | str | int, currency: str) -> Self:
        """From a decimal amount: ``of("12.50", "USD")``; ValueError for an amount finer
        than the currency's minor unit."""
        return cls.from_minor(minor_units(amount, currency), currency)

    @classmethod
    def from_pb(cls, message: money_pb2.Money) -> Self:
        return cls.from_minor(message.amount_minor, message.currency_code)

    def to_pb(self) -> money_pb2.Money:
        return money_pb2.Money(currency_code=self.currency, amount_minor=self.minor)

    def __str__(self) -> str:
        sign = "-" if self.minor < 0 else ""
        return f"{sign}{SYMBOLS.get(self.currency, '')}{abs(self.amount):f} {self.currency}"


def _amount(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-decimals(currency))
