"""Payout previews and the list of payout batches, through the ledger's handlers: a
preview shows exactly what the run then pays and writes nothing; batches are listed
newest first, page by page, counted and summed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from test_ledger_books import USD, accepted, balance, balances_around_a_threshold, deliver, deps

from crewline.errors import InvalidArgument
from crewline.money import Money
from crewline.paging import encode_token
from crewline.timekeeping import FakeClock
from ledger.deps import Deps
from ledger.domain.payouts import PreviewPayoutBatch, RunPayoutBatch, list_payout_batches
from ledger.handlers import payouts

__all__ = ["deps"]  # the fixture, shared with the books' tests

_TABLES = ("balances", "journal_transactions", "journal_entries", "payout_batches", "payouts")


async def tables(deps: Deps) -> dict[str, list[Any]]:
    """Every row a payout could write, and the outbox."""
    found = {t: await deps.pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2") for t in _TABLES}
    found["outbox"] = await deps.pool.fetch("SELECT * FROM outbox ORDER BY id")
    return found


async def every_batch(deps: Deps, *, size: int = 0) -> list[tuple[str, int, int, bool]]:
    """(batch id, payouts, total, completed) of every page's batches, in order."""
    seen: list[tuple[str, int, int, bool]] = []
    token = ""
    while True:
        query = list_payout_batches(size=size, page_token=token)
        page, token = await payouts.list_payout_batches(query, deps)
        assert len(page) <= query.limit
        seen += [
            (b.batch_id, b.payout_count, b.total.amount_minor, b.completed_at is not None)
            for b in page
        ]
        if not token:
            return seen


async def test_a_preview_is_what_the_run_then_pays_and_writes_nothing(
    deps: Deps, clock: FakeClock
) -> None:
    await deliver(deps, *balances_around_a_threshold())
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


async def test_batches_are_listed_newest_first_counted_and_summed(
    deps: Deps, clock: FakeClock
) -> None:
    assert await every_batch(deps) == []
    await deliver(deps, accepted("s1", reward=2000), accepted("s2", reward=3000, contractor="bob"))
    await payouts.run_payout_batch(RunPayoutBatch(batch_id="w1", threshold=Money(USD, 1)), deps)
    clock.advance(timedelta(days=7))
    await payouts.run_payout_batch(RunPayoutBatch(batch_id="w2", threshold=Money(USD, 1)), deps)
    await deliver(deps, accepted("s3", reward=700))
    clock.advance(timedelta(days=7))
    for batch_id in ("w3-b", "w3-a", "w3-c"):  # at one instant: by batch id, descending
        await payouts.run_payout_batch(
            RunPayoutBatch(batch_id=batch_id, threshold=Money(USD, 1)), deps
        )
    expected = [
        ("w3-c", 0, 0, True),
        ("w3-b", 1, 700, True),
        ("w3-a", 0, 0, True),
        ("w2", 0, 0, True),
        ("w1", 2, 5000, True),
    ]
    assert await every_batch(deps) == expected
    assert await every_batch(deps, size=2) == expected
    assert await every_batch(deps, size=1) == expected

    [top], token = await payouts.list_payout_batches(
        list_payout_batches(size=1, page_token=""), deps
    )
    assert (top.threshold, top.created_at) == (Money(USD, 1), clock.now()) and token


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"size": 501}, "page_size"),
        ({"size": -1}, "page_size"),
        ({"page_token": "***"}, "page_token"),
        ({"page_token": encode_token("w1")}, "page_token"),
        ({"page_token": encode_token("yesterday", "w1")}, "page_token"),
        ({"page_token": encode_token("2026-01-01T00:00:00+00:00", "no spaces")}, "page_token"),
        ({"page_token": encode_token("2026-01-01T00:00:00", "w1")}, "page_token"),
    ],
)
def test_batch_list_mistakes_name_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        list_payout_batches(**{"size": 0, "page_token": "", **fields})
    assert err.value.field == field
