"""The ledger's settings, read from the environment in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from crewline.money import CURRENCIES, MAX_AMOUNT_MINOR, Money
from crewline.settings import ServiceSettings, SettingsError, env_int, env_str

DEFAULT_FEE_BPS = 2000  # 20 %, charged to the client on top of the work's pay
DEFAULT_REFERRAL_BONUS = Money("USD", 25000)  # $250


@dataclass(frozen=True, kw_only=True)
class LedgerSettings:
    service: ServiceSettings
    # The platform fee in basis points of the pay (0-10000), rounded up to a minor unit.
    fee_bps: int = DEFAULT_FEE_BPS
    # Paid once to a referrer when the contractor they referred has work accepted;
    # an amount of 0 pays none.
    referral_bonus: Money = DEFAULT_REFERRAL_BONUS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LedgerSettings:
        env = os.environ if env is None else env
        settings = cls(
            service=ServiceSettings.from_env(
                name="ledger", grpc_port=50053, metrics_port=9103, env=env
            ),
            fee_bps=env_int(env, "CREWLINE_LEDGER_FEE_BPS", DEFAULT_FEE_BPS),
            referral_bonus=Money(
                env_str(env, "CREWLINE_LEDGER_REFERRAL_CURRENCY", DEFAULT_REFERRAL_BONUS.currency),
                env_int(
                    env,
                    "CREWLINE_LEDGER_REFERRAL_BONUS_MINOR",
                    DEFAULT_REFERRAL_BONUS.amount_minor,
                ),
            ),
        )
        if not 0 <= settings.fee_bps <= 10_000:
            raise SettingsError("CREWLINE_LEDGER_FEE_BPS must be 0-10000")
        if settings.referral_bonus.currency not in CURRENCIES:
            raise SettingsError("CREWLINE_LEDGER_REFERRAL_CURRENCY is not an ISO 4217 currency")
        if not 0 <= settings.referral_bonus.amount_minor <= MAX_AMOUNT_MINOR:
            raise SettingsError(
                f"CREWLINE_LEDGER_REFERRAL_BONUS_MINOR must be 0-{MAX_AMOUNT_MINOR}"
            )
        return settings
