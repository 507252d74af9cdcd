"""SQL for the ledger's journal. Every function runs on the caller's connection."""

from __future__ import annotations

import asyncpg

from crewline.money import Money
from ledger.domain.model import BooksReport, JournalTransaction


async def post(conn: asyncpg.Connection, txn: JournalTransaction) -> bool:
    """Book a transaction; False when its source was already booked (nothing written)."""
    inserted = await conn.fetchval(
        "INSERT INTO journal_transactions (transaction_id, source, posted_at)"
        " VALUES ($1, $2, $3) ON CONFLICT (source) DO NOTHING RETURNING true",
        txn.transaction_id,
        txn.source,
        txn.posted_at,
    )
    if not inserted:
        return False
    await conn.executemany(
        "INSERT INTO journal_entries (transaction_id, account_id, currency, amount_minor)"
        " VALUES ($1, $2, $3, $4)",
        [
            (txn.transaction_id, e.account_id, e.amount.currency, e.amount.amount_minor)
            for e in txn.entries
        ],
    )
    return True


async def balances(conn: asyncpg.Connection, account_id: str) -> list[Money]:
    rows = await conn.fetch(
        "SELECT currency, sum(amount_minor)::bigint AS total FROM journal_entries"
        " WHERE account_id = $1 GROUP BY currency ORDER BY currency",
        account_id,
    )
    return [Money(r["currency"], r["total"]) for r in rows]


async def books_report(conn: asyncpg.Connection) -> BooksReport:
    counts = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM journal_transactions) AS transactions,"
        " (SELECT count(*) FROM journal_entries) AS entries,"
        " (SELECT count(DISTINCT transaction_id) FROM ("
        "    SELECT transaction_id FROM journal_entries GROUP BY transaction_id, currency"
        "    HAVING sum(amount_minor) <> 0) AS u) AS unbalanced"
    )
    paid = await conn.fetch(
        "SELECT currency, sum(amount_minor)::bigint AS total FROM journal_entries"
        " WHERE account_id LIKE 'contractor:%' GROUP BY currency ORDER BY currency"
    )
    return BooksReport(
        transaction_count=counts["transactions"],
        entry_count=counts["entries"],
        unbalanced_transaction_count=counts["unbalanced"],
        total_paid_to_contractors=tuple(Money(r["currency"], r["total"]) for r in paid),
    )
