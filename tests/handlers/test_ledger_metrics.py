"""The ledger's own metrics, read from its registry after real handler calls on a real
database: postings by kind, and what VerifyBooks found."""

from __future__ import annotations

import math

from test_ledger_books import USD, accepted, bonus, changed, deliver, deps, settled

from crewline.money import Money
from ledger.deps import Deps
from ledger.domain.model import PostingKind
from ledger.domain.payouts import RunPayoutBatch
from ledger.handlers import books, payouts

__all__ = ["deps"]  # the fixture, shared with the books' tests


def sample(deps: Deps, name: str, labels: dict[str, str] | None = None) -> float | None:
    return deps.metrics.registry.get_sample_value(f"crewline_ledger_{name}", labels or {})


def postings(deps: Deps) -> dict[str, float | None]:
    return {k.value: sample(deps, "postings_total", {"kind": k.value}) for k in PostingKind}


async def booked(deps: Deps) -> dict[str, int]:
    """What the journal holds, by kind: the truth the counter must match."""
    rows = await deps.pool.fetch(
        "SELECT kind, count(*) AS n FROM journal_transactions GROUP BY kind"
    )
    return {r["kind"]: r["n"] for r in rows}


async def test_each_posting_counts_once_under_its_kind_and_a_repeat_counts_nothing(
    deps: Deps,
) -> None:
    assert postings(deps) == {k.value: 0.0 for k in PostingKind}  # all exist at 0
    events = [
        accepted("s1"),
        accepted("s2", contractor="bob"),
        bonus("b1", 100),
        settled("c1", 700),
        changed("bob", referred_by="ann"),
    ]
    await deliver(deps, *events)
    await deliver(deps, *reversed(events))  # redelivered: their sources are booked
    batch = RunPayoutBatch(batch_id="w1", threshold=Money(USD, 1))
    await payouts.run_payout_batch(batch, deps)
    await payouts.run_payout_batch(batch, deps)  # the same batch, as it was run
    bonus_txn = await deps.pool.fetchval(
        "SELECT transaction_id FROM journal_transactions WHERE source = 'bonus:b1'"
    )
    await books.reverse(str(bonus_txn), "granted in error", deps)
    await books.reverse(str(bonus_txn), "again", deps)  # the first reversal, returned

    assert postings(deps) == {
        "pay": 2,
        "bonus": 1,
        "settlement": 1,
        "referral": 1,
        "payout": 2,  # ann and bob
        "reversal": 1,
    }
    counted = {kind: int(n or 0) for kind, n in postings(deps).items() if n}
    assert counted == await booked(deps)


async def test_verify_counts_each_result_and_the_gauge_holds_the_last(deps: Deps) -> None:
    balanced = sample(deps, "books_balanced")
    assert balanced is not None and math.isnan(balanced)  # not verified yet: neither 0 nor 1
    await deliver(deps, accepted("s1"), accepted("s2", contractor="bob"))

    assert (await books.verify_books(deps)).balanced
    assert sample(deps, "books_balanced") == 1
    await deps.pool.execute(
        "UPDATE balances SET balance_minor = balance_minor + 1 WHERE account_id = 'contractor:bob'"
    )
    assert not (await books.verify_books(deps)).balanced
    assert sample(deps, "books_balanced") == 0
    await deps.pool.execute(
        "UPDATE balances SET balance_minor = balance_minor - 1 WHERE account_id = 'contractor:bob'"
    )
    assert (await books.verify_books(deps)).balanced
    assert sample(deps, "books_balanced") == 1

    verified = {
        r: sample(deps, "books_verified_total", {"result": r}) for r in ("balanced", "unbalanced")
    }
    assert verified == {"balanced": 2, "unbalanced": 1}
