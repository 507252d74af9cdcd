"""Payout previews through the ledger's handlers: a preview shows exactly what the run
then pays and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from test_ledger_books import USD, accepted, balance, deliver, deps

from crewline.errors import InvalidArgument
from crewline.money import Money
from crewline.timekeeping import FakeClock
from ledger.deps import Deps
from ledger.domain.payouts import PreviewPayoutBatch, RunPayoutBatch
from ledger.handlers import payouts

__all__ = ["deps"]  # the fixture, shared with the books' tests

_TABLES = ("balances", "journal_transactions", "journal_entries", "payout_batches", "payouts")


async def tables(deps: Deps) -> dict[str, list[Any]]:
    """Every row a payout could write, and the outbox."""
    found = {t: await deps.pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2") for t in _TABLES}
    found["outbox"] = await deps.pool.fetch("SELECT * FROM outbox ORDER BY id")
    return found


async def test_a_preview_is_what_the_run_then_pays_and_writes_nothing(
    deps: Deps, clock: FakeClock
) -> None:
    await deliver(
        deps,
        accepted("s1", reward=2000, contractor="ann"),
        accepted("s2", reward=1000, contractor="bob"),
        accepted("s3", reward=999, contractor="cy"),
        accepted("s4", reward=5000, contractor="dee", currency="EUR"),
    )
    threshold = Money(USD, 1000)
    before = await tables(deps)
    preview = await payouts.preview_payout_batch(PreviewPayoutBatch(threshold=threshold), deps)
    assert await tables(deps) == before
    assert preview.payouts == (("ann", Money(USD, 2000)), ("bob", Money(USD, 1000)))
    assert preview.total == Money(USD, 3000) and preview.previewed_at == clock.now()
    assert await payouts.preview_payout_batch(PreviewPayoutBatch(threshold=threshold), deps) == (
        preview
    )

    batch = await payouts.run_payout_batch(RunPayoutBatch(batch_id="w1", threshold=threshold), deps)
    assert [(p.contractor_id, p.amount) for p in batch.payouts] == list(preview.payouts)
    assert batch.total == preview.total
    assert await balance(deps, "payouts:in_flight") == preview.total.amount_minor

    after = await payouts.preview_payout_batch(PreviewPayoutBatch(threshold=threshold), deps)
    assert after.payouts == () and after.total == Money(USD, 0)


async def test_a_preview_of_nothing_to_pay_is_empty(deps: Deps) -> None:
    preview = await payouts.preview_payout_batch(
        PreviewPayoutBatch(threshold=Money("EUR", 1)), deps
    )
    assert preview.payouts == () and preview.total == Money("EUR", 0)


@pytest.mark.parametrize(
    ("threshold", "field"),
    [
        (Money(USD, 0), "threshold.amount_minor"),
        (Money("XYZ", 1000), "threshold.currency_code"),
        (Money("", 0), "threshold.currency_code"),
    ],
)
def test_preview_mistakes_name_the_field(threshold: Money, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        PreviewPayoutBatch(threshold=threshold)
    assert err.value.field == field
