from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from crewline.errors import InvalidArgument
from crewline.money import Money
from ledger.domain import model
from ledger.domain.model import Entry, JournalTransaction, UnbalancedTransaction


def pay(amount: int = 1500) -> JournalTransaction:
    return model.pay_for_accepted_work(
        submission_id="s-1",
        client_id="acme",
        contractor_id="ann",
        reward=Money("USD", amount),
        transaction_id=uuid.uuid4(),
        now=datetime.now(UTC),
    )


def test_pay_credits_contractor_debits_client_and_sums_to_zero() -> None:
    txn = pay(1500)
    assert [(e.account_id, e.amount.amount_minor) for e in txn.entries] == [
        ("client:acme", -1500),
        ("contractor:ann", 1500),
    ]
    assert sum(e.amount.amount_minor for e in txn.entries) == 0
    assert txn.source == "submission:s-1"


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param((Money("USD", -100), Money("USD", 99)), id="off-by-one-cent"),
        pytest.param((Money("USD", -100), Money("EUR", 100)), id="each-currency-separately"),
        pytest.param((Money("USD", 100),), id="a-single-entry"),
        pytest.param((Money("USD", 0), Money("USD", 0)), id="zero-entries"),
    ],
)
def test_unbalanced_entries_are_refused(entries: tuple[Money, ...]) -> None:
    accounts = ("client:a", "contractor:b")
    with pytest.raises(UnbalancedTransaction):
        JournalTransaction(
            transaction_id=uuid.uuid4(),
            source="x",
            entries=tuple(Entry(a, m) for a, m in zip(accounts, entries, strict=False)),
            posted_at=datetime.now(UTC),
        )


def test_non_positive_pay_is_refused() -> None:
    with pytest.raises(UnbalancedTransaction):
        pay(0)


@pytest.mark.parametrize(
    "bad", ["", "ann", "vendor:ann", "contractor:", "contractor:has space", "contractor:ann\n"]
)
def test_bad_account_id_names_the_field(bad: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        model.account_id(bad)
    assert err.value.field == "account_id"


def test_money_is_integer_only() -> None:
    with pytest.raises(TypeError):
        Money("USD", 12.5)  # type: ignore[arg-type]
