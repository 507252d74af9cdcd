"""Payout batches (operators): each contractor at or above the threshold paid out in
full, in a transaction of their own; the batch id is the batch's idempotency key. A
preview chooses as a run does and writes nothing; batches are listed newest first."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from crewline import validate
from crewline.errors import NotFound
from crewline.log import get_logger
from crewline.paging import split_page
from ledger.adapters import journal, payouts
from ledger.deps import Deps
from ledger.domain import postings
from ledger.domain.model import PostingKind
from ledger.domain.payouts import (
    BatchSummary,
    ListPayoutBatches,
    PayoutBatch,
    PayoutPreview,
    PreviewPayoutBatch,
    RunPayoutBatch,
    pays_out,
)

log = get_logger(__name__)


async def run_payout_batch(cmd: RunPayoutBatch, deps: Deps) -> PayoutBatch:
    """Run the batch, or return it as it was run. A run cut short (a crash) is finished
    by the next call with the same id and threshold; another threshold is refused."""
    async with deps.pool.acquire() as conn:
        await payouts.open_batch(conn, cmd, deps.clock.now())
        batch = await payouts.batch(conn, cmd.batch_id)
        assert batch is not None
        if batch.answers(cmd).completed_at is not None:
            return batch
        for contractor_id in await payouts.pending(conn, cmd.batch_id):
            async with conn.transaction():
                paid = await _pay_out(conn, cmd, contractor_id, deps.clock.now())
            if paid:
                deps.metrics.posted(PostingKind.PAYOUT)  # committed
        await payouts.complete(conn, cmd.batch_id, deps.clock.now())
        done = await payouts.batch(conn, cmd.batch_id)
    assert done is not None
    log.info(
        "payout_batch_run", batch_id=cmd.batch_id, payouts=len(done.payouts), total=str(done.total)
    )
    return done


async def _pay_out(
    conn: asyncpg.Connection, cmd: RunPayoutBatch, contractor_id: str, now: datetime
) -> bool:
    """All or nothing for one contractor: the whole balance moves, and the payout is
    recorded, in this one transaction; or, when the balance fell below the threshold
    meanwhile (another batch paid it), the payout is skipped. Whether it was booked."""
    balance = await payouts.lock_pending(conn, cmd.batch_id, contractor_id, cmd.threshold.currency)
    if balance is None:
        return False  # another run of this batch paid it
    if not pays_out(balance, cmd.threshold):
        await payouts.settle(conn, cmd.batch_id, contractor_id, amount=None, transaction_id=None)
        return False
    txn = postings.payout(
        batch_id=cmd.batch_id,
        contractor_id=contractor_id,
        balance=balance,
        transaction_id=uuid.uuid4(),
        now=now,
    )
    if not await journal.post(conn, txn):
        raise RuntimeError(f"{txn.source} is booked but its payout is pending")
    await payouts.settle(
        conn, cmd.batch_id, contractor_id, amount=balance, transaction_id=txn.transaction_id
    )
    return True


async def get_payout_batch(batch_id: str, deps: Deps) -> PayoutBatch:
    validate.identifier(batch_id, field="batch_id")
    async with deps.pool.acquire() as conn:
        batch = await payouts.batch(conn, batch_id)
    if batch is None:
        raise NotFound(f"payout batch {batch_id} not found")
    return batch


async def preview_payout_batch(cmd: PreviewPayoutBatch, deps: Deps) -> PayoutPreview:
    """What a batch with this threshold would pay if it ran now: the contractors its run
    would choose (the same statement) and pay (the same rule), each balance read in one
    snapshot. Nothing is written."""
    async with (
        deps.pool.acquire() as conn,
        conn.transaction(readonly=True, isolation="repeatable_read"),
    ):
        chosen = await payouts.chosen(conn, cmd.threshold)
    return PayoutPreview(
        threshold=cmd.threshold,
        previewed_at=deps.clock.now(),
        payouts=tuple((c, balance) for c, balance in chosen if pays_out(balance, cmd.threshold)),
    )


async def list_payout_batches(
    query: ListPayoutBatches, deps: Deps
) -> tuple[list[BatchSummary], str]:
    """A page of batches, newest first, and the next page's token ("" after the last)."""
    async with deps.pool.acquire() as conn:
        found = await payouts.summaries(conn, query)
    page, last = split_page(found, query.limit)
    return page, last.next_token() if last else ""
