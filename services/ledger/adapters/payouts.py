"""Payout batch SQL. Every function runs on the caller's connection."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from crewline.db import Where
from crewline.money import Money
from ledger.domain.payouts import (
    BatchSummary,
    ListPayoutBatches,
    Payout,
    PayoutBatch,
    RunPayoutBatch,
)

_CONTRACTOR = "contractor:"


def _chosen(currency: str, threshold: str) -> str:
    """The contractors a batch chooses, with their balances: a balance in the currency
    at or above the threshold (both given as placeholders). A run and a preview both
    choose by this statement."""
    return (
        f"SELECT substr(b.account_id, {len(_CONTRACTOR) + 1}) AS contractor_id,"
        f" b.balance_minor FROM balances b WHERE b.account_id LIKE '{_CONTRACTOR}%'"
        f" AND b.currency = {currency} AND b.balance_minor >= {threshold}"
    )


async def open_batch(conn: asyncpg.Connection, cmd: RunPayoutBatch, now: datetime) -> None:
    """Make the batch, choosing its contractors (balance at or above the threshold now),
    unless a batch of that id exists already (then nothing is written)."""
    await conn.execute(
        "WITH batch AS ("
        "  INSERT INTO payout_batches (batch_id, currency, threshold_minor, created_at)"
        "  VALUES ($1, $2, $3, $4) ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id),"
        f" chosen AS ({_chosen('$2', '$3')})"
        " INSERT INTO payouts (batch_id, contractor_id, status)"
        " SELECT batch.batch_id, chosen.contractor_id, 'pending' FROM batch, chosen",
        cmd.batch_id,
        cmd.threshold.currency,
        cmd.threshold.amount_minor,
        now,
    )


async def chosen(conn: asyncpg.Connection, threshold: Money) -> list[tuple[str, Money]]:
    """What ``open_batch`` would choose now, by contractor id: (contractor, balance)."""
    rows = await conn.fetch(
        f"SELECT * FROM ({_chosen('$1', '$2')}) c ORDER BY contractor_id",
        threshold.currency,
        threshold.amount_minor,
    )
    return [(r["contractor_id"], Money(threshold.currency, r["balance_minor"])) for r in rows]


async def pending(conn: asyncpg.Connection, batch_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT contractor_id FROM payouts WHERE batch_id = $1 AND status = 'pending'"
        " ORDER BY contractor_id",
        batch_id,
    )
    return [r["contractor_id"] for r in rows]


async def lock_pending(
    conn: asyncpg.Connection, batch_id: str, contractor_id: str, currency: str
) -> Money | None:
    """Lock a pending payout and the contractor's balance; the balance, or None when
    the payout is no longer pending (another run of the batch took it)."""
    balance = await conn.fetchval(
        "WITH p AS (SELECT 1 FROM payouts WHERE batch_id = $1 AND contractor_id = $2"
        "           AND status = 'pending' FOR UPDATE)"
        " SELECT coalesce((SELECT balance_minor FROM balances"
        "   WHERE account_id = $3 AND currency = $4 FOR UPDATE), 0)"
        " FROM p",
        batch_id,
        contractor_id,
        _CONTRACTOR + contractor_id,
        currency,
    )
    return None if balance is None else Money(currency, balance)


async def settle(
    conn: asyncpg.Connection,
    batch_id: str,
    contractor_id: str,
    *,
    amount: Money | None,
    transaction_id: uuid.UUID | None,
) -> None:
    """The payout went out (``transaction_id``), or was skipped (None)."""
    await conn.execute(
        "UPDATE payouts SET status = $3, amount_minor = $4, transaction_id = $5"
        " WHERE batch_id = $1 AND contractor_id = $2",
        batch_id,
        contractor_id,
        "skipped" if transaction_id is None else "in_flight",
        None if amount is None else amount.amount_minor,
        transaction_id,
    )


async def complete(conn: asyncpg.Connection, batch_id: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE payout_batches SET completed_at = $2 WHERE batch_id = $1 AND completed_at IS NULL",
        batch_id,
        now,
    )


async def batch(conn: asyncpg.Connection, batch_id: str) -> PayoutBatch | None:
    head = await conn.fetchrow(
        "SELECT currency, threshold_minor, created_at, completed_at FROM payout_batches"
        " WHERE batch_id = $1",
        batch_id,
    )
    if head is None:
        return None
    rows = await conn.fetch(
        "SELECT contractor_id, amount_minor, transaction_id FROM payouts"
        " WHERE batch_id = $1 AND status = 'in_flight' ORDER BY contractor_id",
        batch_id,
    )
    currency = head["currency"]
    return PayoutBatch(
        batch_id=batch_id,
        threshold=Money(currency, head["threshold_minor"]),
        created_at=head["created_at"],
        completed_at=head["completed_at"],
        payouts=tuple(
            Payout(
                batch_id=batch_id,
                contractor_id=r["contractor_id"],
                amount=Money(currency, r["amount_minor"]),
                transaction_id=r["transaction_id"],
            )
            for r in rows
        ),
    )


async def summaries(conn: asyncpg.Connection, query: ListPayoutBatches) -> list[BatchSummary]:
    """Up to ``limit`` + 1 batches, newest first, each with its payouts counted and summed."""
    where = Where("true")
    if query.before is not None:
        where.add("(pb.created_at, pb.batch_id) < ({}, {})", *query.before)
    rows = await conn.fetch(
        "SELECT pb.*, count(p.batch_id) AS payouts,"
        " coalesce(sum(p.amount_minor), 0)::bigint AS total"
        " FROM payout_batches pb"
        " LEFT JOIN payouts p ON p.batch_id = pb.batch_id AND p.status = 'in_flight'"
        f" WHERE {where.sql} GROUP BY pb.batch_id"
        f" ORDER BY pb.created_at DESC, pb.batch_id DESC LIMIT {query.limit + 1:d}",
        *where.args,
    )
    return [
        BatchSummary(
            batch_id=r["batch_id"],
            threshold=Money(r["currency"], r["threshold_minor"]),
            created_at=r["created_at"],
            completed_at=r["completed_at"],
            payout_count=r["payouts"],
            total=Money(r["currency"], r["total"]),
        )
        for r in rows
    ]
