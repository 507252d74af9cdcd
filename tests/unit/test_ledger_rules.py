"""The ledger's pure rules: the platform fee, each posting kind's entries, money taken
from events, earnings arithmetic, who may read what, payout thresholds, settings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

from crewline.auth.principal import OPERATOR, Kind, Principal
from crewline.errors import InvalidArgument, NotFound
from crewline.money import MAX_AMOUNT_MINOR, Money
from crewline.settings import SettingsError
from ledger.domain import model, postings
from ledger.domain.earnings import EarningsLine, per_hour, readable_contractor
from ledger.domain.model import Entry, JournalTransaction, PostingKind, UnbalancedTransaction
from ledger.domain.money import checked_amount, platform_fee
from ledger.domain.payouts import pays_out
from ledger.settings import LedgerSettings

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
TXN = uuid.UUID(int=1)
USD = "USD"


def legs(txn: JournalTransaction) -> list[tuple[str, int]]:
    return [(e.account_id, e.amount.amount_minor) for e in txn.entries]


def work(reward: int | Money = 1500, **overrides: Any) -> postings.AcceptedWork:
    fields: dict[str, object] = {
        "submission_id": "s-1",
        "task_id": "t-1",
        "contractor_id": "ann",
        "client_id": "acme",
        "project_id": "p-1",
        "reward": Money(USD, reward) if isinstance(reward, int) else reward,
        "accepted_by": "client",
        "accepted_at": NOW,
        "worked_seconds": 600,
        "granted_at": NOW - timedelta(hours=1),
        "submitted_at": NOW - timedelta(minutes=5),
    }
    fields.update(overrides)
    return postings.AcceptedWork(**fields)  # type: ignore[arg-type]


# --- the fee -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "bps", "fee"),
    [
        (1500, 2000, 300),
        (1, 2000, 1),
        (4, 2000, 1),
        (5, 2000, 1),
        (6, 2000, 2),
        (1, 0, 0),
        (10**12, 10_000, 10**12),
        (9999, 1, 1),
        (10_000, 1, 1),
        (10_001, 1, 2),
    ],
)
def test_fee_is_the_ceiling_of_its_basis_points(amount: int, bps: int, fee: int) -> None:
    assert platform_fee(Money(USD, amount), bps) == Money(USD, fee)


def test_fee_never_rounds_down_nor_up_by_a_whole_unit() -> None:
    for bps in (1, 250, 1999, 2000, 3333):
        for amount in range(1, 2000):
            exact = Fraction(amount * bps, 10_000)
            fee = platform_fee(Money(USD, amount), bps).amount_minor
            assert exact <= fee < exact + 1


@pytest.mark.parametrize("bps", [-1, 10_001])
def test_fee_out_of_range_is_a_bug(bps: int) -> None:
    with pytest.raises(ValueError):
        platform_fee(Money(USD, 100), bps)


# --- posting kinds -------------------------------------------------------------------------


def test_pay_charges_the_client_pay_and_fee_and_credits_contractor_and_platform() -> None:
    txn = postings.pay(work(1500), fee_bps=2000, transaction_id=TXN, now=NOW)
    assert legs(txn) == [("client:acme", -1800), ("contractor:ann", 1500), ("platform:fees", 300)]
    assert (txn.kind, txn.source, txn.submission_id) == (PostingKind.PAY, "submission:s-1", "s-1")


def test_no_fee_entry_when_the_fee_is_zero() -> None:
    txn = postings.pay(work(1500), fee_bps=0, transaction_id=TXN, now=NOW)
    assert legs(txn) == [("client:acme", -1500), ("contractor:ann", 1500)]


def test_bonus_and_settlement_have_pays_shape_with_their_own_sources() -> None:
    granted = postings.GrantedBonus(
        bonus_id="b-1",
        submission_id="s-1",
        contractor_id="ann",
        client_id="acme",
        amount=Money("EUR", 1001),
        reason="great",
    )
    txn = postings.bonus(granted, fee_bps=2000, transaction_id=TXN, now=NOW)
    assert legs(txn) == [("client:acme", -1202), ("contractor:ann", 1001), ("platform:fees", 201)]
    assert (txn.kind, txn.source, txn.memo) == (PostingKind.BONUS, "bonus:b-1", "great")
    assert {e.amount.currency for e in txn.entries} == {"EUR"}

    settled = postings.Settlement(
        claim_id="c-1", contractor_id="ann", client_id="acme", amount=Money(USD, 10)
    )
    txn = postings.settlement(settled, fee_bps=2000, transaction_id=TXN, now=NOW)
    assert legs(txn) == [("client:acme", -12), ("contractor:ann", 10), ("platform:fees", 2)]
    assert (txn.kind, txn.source) == (PostingKind.SETTLEMENT, "settlement:c-1")


def test_referral_is_paid_by_the_platform_to_the_referrer() -> None:
    ref = postings.Referral(contractor_id="bob", referred_by="ann")
    txn = postings.referral(ref, bonus=Money(USD, 25000), transaction_id=TXN, now=NOW)
    assert txn is not None
    assert legs(txn) == [("platform:referrals", -25000), ("contractor:ann", 25000)]
    assert (txn.kind, txn.source) == (PostingKind.REFERRAL, "referral:bob")


def test_no_referral_when_the_bonus_is_zero_or_a_contractor_names_themself() -> None:
    ref = postings.Referral(contractor_id="bob", referred_by="ann")
    assert postings.referral(ref, bonus=Money(USD, 0), transaction_id=TXN, now=NOW) is None
    myself = postings.Referral(contractor_id="ann", referred_by="ann")
    assert postings.referral(myself, bonus=Money(USD, 1), transaction_id=TXN, now=NOW) is None


def test_payout_moves_the_whole_balance_to_payouts_in_flight() -> None:
    txn = postings.payout(
        batch_id="w1", contractor_id="ann", balance=Money(USD, 4200), transaction_id=TXN, now=NOW
    )
    assert legs(txn) == [("contractor:ann", -4200), ("payouts:in_flight", 4200)]
    assert (txn.kind, txn.source) == (PostingKind.PAYOUT, "payout:w1:ann")


def test_a_reversal_negates_every_entry_and_names_the_original() -> None:
    original = postings.pay(work(1500), fee_bps=2000, transaction_id=TXN, now=NOW)
    undo = postings.reversal(original, transaction_id=uuid.UUID(int=2), now=NOW, memo="oops")
    assert legs(undo) == [("client:acme", 1800), ("contractor:ann", -1500), ("platform:fees", -300)]
    assert (undo.kind, undo.source, undo.reversal_of) == (
        PostingKind.REVERSAL,
        f"reversal:{TXN}",
        TXN,
    )
    with pytest.raises(InvalidArgument):
        postings.reversal(undo, transaction_id=uuid.UUID(int=3), now=NOW, memo="")


@pytest.mark.parametrize(
    "amounts",
    [
        pytest.param(((USD, -100), (USD, 99)), id="off-by-one-cent"),
        pytest.param(((USD, -100), ("EUR", 100)), id="each-currency-separately"),
        pytest.param(((USD, 100),), id="a-single-entry"),
        pytest.param(((USD, 0), (USD, 0)), id="zero-entries"),
    ],
)
def test_unbalanced_entries_are_refused(amounts: tuple[tuple[str, int], ...]) -> None:
    accounts = ("client:a", "contractor:b")
    with pytest.raises(UnbalancedTransaction):
        JournalTransaction(
            transaction_id=TXN,
            kind=PostingKind.PAY,
            source="x",
            entries=tuple(
                Entry(a, Money(c, m)) for a, (c, m) in zip(accounts, amounts, strict=False)
            ),
            posted_at=NOW,
        )


def test_an_account_appears_once_per_currency_in_a_transaction() -> None:
    with pytest.raises(UnbalancedTransaction):
        JournalTransaction(
            transaction_id=TXN,
            kind=PostingKind.PAY,
            source="x",
            entries=(
                Entry("client:a", Money(USD, -2)),
                Entry("contractor:b", Money(USD, 1)),
                Entry("contractor:b", Money(USD, 1)),
            ),
            posted_at=NOW,
        )


# --- money and keys from events ------------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "field"),
    [
        (Money("XYZ", 100), "reward.currency_code"),
        (Money("usd", 100), "reward.currency_code"),
        (Money("", 0), "reward.currency_code"),
        (Money(USD, 0), "reward.amount_minor"),
        (Money(USD, -1), "reward.amount_minor"),
        (Money(USD, MAX_AMOUNT_MINOR + 1), "reward.amount_minor"),
        (Money(USD, 2**63 - 1), "reward.amount_minor"),
    ],
)
def test_bad_money_names_the_events_field(money: Money, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        checked_amount(money, field="reward")
    assert err.value.field == field
    with pytest.raises(InvalidArgument) as err:
        work(money)
    assert err.value.field == field


def test_good_money_passes() -> None:
    assert checked_amount(Money("JPY", MAX_AMOUNT_MINOR), field="x") == Money("JPY", 10**12)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"submission_id": ""}, "submission_id"),
        ({"contractor_id": ""}, "contractor_id"),
        ({"client_id": "a b"}, "client_id"),
        ({"worked_seconds": -1}, "worked_seconds"),
    ],
)
def test_accepted_work_without_its_keys_is_refused(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        work(**overrides)
    assert err.value.field == field


def test_claimed_seconds_are_grant_to_submission_or_nothing() -> None:
    assert work().claimed_seconds == 3300
    assert work(granted_at=None).claimed_seconds == 0
    assert work(submitted_at=NOW - timedelta(hours=2)).claimed_seconds == 0


# --- earnings arithmetic ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid", "seconds", "hourly"),
    [(1000, 3600, 1000), (1000, 7, 514285), (1, 7200, 0), (3000, 5400, 2000), (999, 0, None)],
)
def test_per_hour_is_floored_and_absent_without_time(
    paid: int, seconds: int, hourly: int | None
) -> None:
    found = per_hour(Money(USD, paid), seconds)
    assert (found and found.amount_minor) == hourly


def test_an_earnings_line_has_both_hourly_figures() -> None:
    line = EarningsLine(
        key="p", paid=Money(USD, 3000), submissions=2, claimed_seconds=7200, tracked_seconds=5400
    )
    assert (line.per_claimed_hour, line.per_tracked_hour) == (Money(USD, 1500), Money(USD, 2000))


# --- who reads what --------------------------------------------------------------------------


ANN = Principal(Kind.CONTRACTOR, "ann")
ACME = Principal(Kind.CLIENT, "acme")


def test_clients_and_contractors_read_only_their_own_account() -> None:
    assert model.readable_account(None, ANN) == "contractor:ann"
    assert model.readable_account("client:acme", ACME) == "client:acme"
    for caller, other in ((ANN, "contractor:bob"), (ACME, "client:zed"), (ANN, "platform:fees")):
        with pytest.raises(NotFound):
            model.readable_account(other, caller)
    assert model.readable_account("payouts:in_flight", OPERATOR) == "payouts:in_flight"
    with pytest.raises(InvalidArgument):
        model.readable_account(None, OPERATOR)


def test_earnings_are_a_contractors_own_or_any_for_operators() -> None:
    assert readable_contractor(None, ANN) == "ann"
    assert readable_contractor("ann", ANN) == "ann"
    with pytest.raises(NotFound):
        readable_contractor("bob", ANN)
    assert readable_contractor("bob", OPERATOR) == "bob"
    for bad in (None, "has space"):
        with pytest.raises(InvalidArgument):
            readable_contractor(bad, OPERATOR)
    # A malformed id is refused as such before the access check, whoever asks.
    for caller in (ANN, OPERATOR):
        with pytest.raises(InvalidArgument) as err:
            readable_contractor("c" * 5000, caller)
        assert err.value.field == "contractor_id"


@pytest.mark.parametrize(
    "bad", ["", "ann", "vendor:ann", "contractor:", "contractor:has space", "platform:other"]
)
def test_bad_account_id_names_the_field(bad: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        model.account_id(bad)
    assert err.value.field == "account_id"


@pytest.mark.parametrize(
    "good",
    ["client:acme", "contractor:ann", "platform:fees", "platform:referrals", "payouts:in_flight"],
)
def test_good_account_ids_pass(good: str) -> None:
    assert model.account_id(good) == good


# --- payouts and settings --------------------------------------------------------------------


def test_a_balance_is_paid_out_at_or_above_the_threshold_in_its_currency() -> None:
    threshold = Money(USD, 1000)
    assert pays_out(Money(USD, 1000), threshold)
    assert not pays_out(Money(USD, 999), threshold)
    assert not pays_out(Money("EUR", 5000), threshold)


def test_settings_defaults_and_bounds() -> None:
    settings = LedgerSettings.from_env({})
    assert (settings.fee_bps, settings.referral_bonus) == (2000, Money(USD, 25000))
    custom = LedgerSettings.from_env(
        {
            "CREWLINE_LEDGER_FEE_BPS": "0",
            "CREWLINE_LEDGER_REFERRAL_BONUS_MINOR": "0",
            "CREWLINE_LEDGER_REFERRAL_CURRENCY": "EUR",
        }
    )
    assert (custom.fee_bps, custom.referral_bonus) == (0, Money("EUR", 0))
    for env in (
        {"CREWLINE_LEDGER_FEE_BPS": "10001"},
        {"CREWLINE_LEDGER_FEE_BPS": "-1"},
        {"CREWLINE_LEDGER_REFERRAL_CURRENCY": "XYZ"},
        {"CREWLINE_LEDGER_REFERRAL_BONUS_MINOR": "-5"},
    ):
        with pytest.raises(SettingsError):
            LedgerSettings.from_env(env)


def test_money_is_integer_only() -> None:
    with pytest.raises(TypeError):
        Money(USD, 12.5)  # type: ignore[arg-type]
