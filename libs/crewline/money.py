"""Money as integer minor units with a currency code: never a float."""

from __future__ import annotations

from dataclasses import dataclass

from crewline.errors import InvalidArgument

# ISO 4217 currencies in circulation (no funds, metals or test codes).
CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL
    BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD
    EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS
    INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD
    LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK
    NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
    """.split()
)
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
        if currency not in CURRENCIES:
            shown = repr(currency) if currency else "missing"
            raise InvalidArgument(
                f"{field}.currency_code", f"{shown} is not a known ISO 4217 currency"
            )
        if amount_minor <= 0:
            raise InvalidArgument(f"{field}.amount_minor", "must be greater than zero")
        if amount_minor > MAX_AMOUNT_MINOR:
            raise InvalidArgument(f"{field}.amount_minor", f"must be at most {MAX_AMOUNT_MINOR}")
        return cls(currency, amount_minor)
