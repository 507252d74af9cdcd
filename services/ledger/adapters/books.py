"""Reading the books: balances, statements, earnings, and Verify's recomputation."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from crewline.money import Money
from ledger.domain.earnings import Earnings, EarningsLine
from ledger.domain.model import BooksReport, PostingKind, StatementEntry

_NO_CURSOR = 2**63 - 1
# Verify reads the whole journal: far beyond the pool's 30 s per statement on big books
# (about 2 s per million entries on the 2-core bench machine).
VERIFY_TIMEOUT = 1800.0


async def balances(conn: asyncpg.Connection, account_id: str) -> list[Money]:
    rows = await conn.fetch(
        "SELECT currency, balance_minor FROM balances WHERE account_id = $1 ORDER BY currency",
        account_id,
    )
    return [Money(r["currency"], r["balance_minor"]) for r in rows]


async def statement(
    conn: asyncpg.Connection, account_id: str, *, before: int | None, limit: int
) -> list[StatementEntry]:
    """An account's entries, newest first, those numbered below ``before``."""
    rows = await conn.fetch(
        "SELECT e.entry_id, e.transaction_id, t.kind, t.source, e.currency, e.amount_minor,"
        " e.balance_after, t.posted_at, t.memo, t.reversal_of"
        " FROM journal_entries e JOIN journal_transactions t USING (transaction_id)"
        " WHERE e.account_id = $1 AND e.entry_id < $2"
        " ORDER BY e.entry_id DESC LIMIT $3",
        account_id,
        _NO_CURSOR if before is None else before,
        limit,
    )
    return [
        StatementEntry(
            entry_id=r["entry_id"],
            transaction_id=r["transaction_id"],
            kind=PostingKind(r["kind"]),
            source=r["source"],
            amount=Money(r["currency"], r["amount_minor"]),
            balance_after=Money(r["currency"], r["balance_after"]),
            posted_at=r["posted_at"],
            memo=r["memo"],
            reversal_of=r["reversal_of"],
        )
        for r in rows
    ]


# One pass over the contractor's accepted submissions, three groupings. GROUPING() is
# 1 for the per-project rows, 2 for the per-week rows, 3 for the totals. Weeks are ISO
# weeks (Monday first) of the acceptance, in UTC.
_EARNINGS = """
SELECT GROUPING(project_id, week) AS level, project_id, week, reward_currency AS currency,
       sum(reward_minor)::bigint AS paid, count(*) AS submissions,
       sum(claimed_seconds)::bigint AS claimed, sum(worked_seconds)::bigint AS tracked
FROM (SELECT *, to_char(date_trunc('week', accepted_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS week
      FROM submissions WHERE contractor_id = $1 AND accepted_at IS NOT NULL AND NOT unpaid) s
GROUP BY GROUPING SETS ((project_id, reward_currency), (week, reward_currency), (reward_currency))
ORDER BY level, project_id, week, currency
"""


async def earnings(conn: asyncpg.Connection, contractor_id: str) -> Earnings:
    lines: dict[int, list[EarningsLine]] = {1: [], 2: [], 3: []}
    for r in await conn.fetch(_EARNINGS, contractor_id):
        key = {1: r["project_id"], 2: r["week"], 3: ""}[r["level"]]
        lines[r["level"]].append(
            EarningsLine(
                key=key,
                paid=Money(r["currency"], r["paid"]),
                submissions=r["submissions"],
                claimed_seconds=r["claimed"],
                tracked_seconds=r["tracked"],
            )
        )
    other = await conn.fetch(
        "SELECT e.currency, sum(e.amount_minor)::bigint AS total"
        " FROM journal_entries e JOIN journal_transactions t USING (transaction_id)"
        " WHERE e.account_id = $1 AND e.amount_minor > 0 AND t.kind = ANY($2::text[])"
        " GROUP BY e.currency ORDER BY e.currency",
        f"contractor:{contractor_id}",
        [PostingKind.BONUS.value, PostingKind.REFERRAL.value, PostingKind.SETTLEMENT.value],
    )
    return Earnings(
        contractor_id=contractor_id,
        by_project=tuple(lines[1]),
        by_week=tuple(lines[2]),
        total=tuple(lines[3]),
        other=tuple(Money(r["currency"], r["total"]) for r in other),
    )


# Verify runs these in one REPEATABLE READ transaction: one consistent snapshot.
_JOURNAL = """
WITH per_account AS MATERIALIZED (
    SELECT account_id, currency, sum(amount_minor) AS total, count(*) AS entries,
           sum(amount_minor) FILTER (WHERE amount_minor > 0) AS credited
    FROM journal_entries GROUP BY account_id, currency
), paid AS (
    SELECT currency, sum(credited)::bigint AS total FROM per_account
    WHERE account_id LIKE 'contractor:%' AND credited IS NOT NULL GROUP BY currency
)
SELECT (SELECT count(*) FROM journal_transactions) AS transactions,
       (SELECT coalesce(sum(entries), 0)::bigint FROM per_account) AS entries,
       (SELECT array_agg(currency ORDER BY currency) FROM paid) AS paid_currencies,
       (SELECT array_agg(total ORDER BY currency) FROM paid) AS paid_totals,
       count(DISTINCT account_id) AS accounts,
       count(*) FILTER (WHERE p.total IS DISTINCT FROM b.balance_minor) AS mismatched
FROM per_account p FULL JOIN balances b USING (account_id, currency)
"""

_UNBALANCED = """
SELECT count(DISTINCT transaction_id) FROM (
    SELECT transaction_id FROM journal_entries
    GROUP BY transaction_id, currency HAVING sum(amount_minor) <> 0) u
"""

_SUBMISSIONS = """
WITH pay AS (
    SELECT submission_id, count(*) AS n FROM journal_transactions
    WHERE kind = 'pay' GROUP BY submission_id
)
SELECT count(*) FILTER (WHERE owed) AS accepted,
       count(*) FILTER (WHERE owed AND p.n = 1) AS paid_once,
       count(*) FILTER (WHERE owed AND p.n IS NULL) AS unpaid,
       count(*) FILTER (WHERE owed AND p.n > 1) AS paid_twice,
       count(*) FILTER (WHERE NOT owed AND p.n IS NOT NULL) AS rejected_with_pay
FROM (SELECT submission_id, accepted_at IS NOT NULL AND NOT unpaid AS owed FROM submissions) s
LEFT JOIN pay p USING (submission_id)
"""


async def books_report(conn: asyncpg.Connection, *, now: datetime) -> BooksReport:
    """Recompute every balance from the journal, check every transaction sums to zero
    in each currency, and every accepted submission is paid exactly once (rejected and
    not overridden: never). An unpaid exam's accepted question is owed nothing: it is
    not among the accepted work owed pay, and pay on it counts with the rejections'
    (work owed no pay that has some). Run it in a REPEATABLE READ transaction."""
    journal = await conn.fetchrow(_JOURNAL, timeout=VERIFY_TIMEOUT)
    unbalanced = await conn.fetchval(_UNBALANCED, timeout=VERIFY_TIMEOUT)
    subs = await conn.fetchrow(_SUBMISSIONS, timeout=VERIFY_TIMEOUT)
    assert journal is not None and subs is not None
    paid = zip(journal["paid_currencies"] or [], journal["paid_totals"] or [], strict=True)
    return BooksReport(
        transaction_count=journal["transactions"],
        entry_count=journal["entries"],
        unbalanced_transaction_count=unbalanced,
        total_paid_to_contractors=tuple(Money(c, t) for c, t in paid),
        account_count=journal["accounts"],
        mismatched_balance_count=journal["mismatched"],
        accepted_submission_count=subs["accepted"],
        paid_once_count=subs["paid_once"],
        unpaid_count=subs["unpaid"],
        paid_twice_count=subs["paid_twice"],
        rejected_with_pay_count=subs["rejected_with_pay"],
        verified_at=now,
    )
