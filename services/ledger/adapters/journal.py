"""Posting SQL. Every function runs on the caller's connection, in its transaction.

A posting is one statement, one round trip: data-modifying CTEs insert the
transaction (``ON CONFLICT (source) DO NOTHING``: a source already booked writes
nothing at all), move each account's balance row (locked in account order) and
store each entry with the balance after it, and enqueue the outbox event. The
consumer applies up to 100 events in one database transaction, so a backlog costs
two round trips per event (the inbox row, this statement) and one commit per 100.
"""

from __future__ import annotations

import uuid

import asyncpg

from crewline.money import Money
from crewline.outbox import OutboxRow
from ledger.domain.model import Entry, JournalTransaction, PostingKind
from ledger.domain.postings import AcceptedWork, Referral, RejectedWork

_POST_PARAMS = 15


def _post_ctes(n: int) -> str:
    """The posting's CTEs (txn, legs, moved, entries, sent), parameters $n..$n+14."""
    p = [f"${n + i}" for i in range(_POST_PARAMS)]
    return f"""
txn AS (
    INSERT INTO journal_transactions
        (transaction_id, source, kind, posted_at, memo, reversal_of, submission_id)
    VALUES ({p[0]}::uuid, {p[1]}, {p[2]}, {p[3]}, {p[4]}, {p[5]}::uuid, {p[6]})
    ON CONFLICT (source) DO NOTHING
    RETURNING transaction_id
),
legs AS (
    SELECT l.account_id, l.currency, l.amount_minor, l.n
    FROM txn, unnest({p[7]}::text[], {p[8]}::text[], {p[9]}::bigint[])
        WITH ORDINALITY AS l (account_id, currency, amount_minor, n)
),
moved AS (
    INSERT INTO balances AS b (account_id, currency, balance_minor)
    SELECT account_id, currency, amount_minor FROM legs ORDER BY account_id, currency
    ON CONFLICT (account_id, currency)
        DO UPDATE SET balance_minor = b.balance_minor + EXCLUDED.balance_minor
    RETURNING account_id, currency, balance_minor
),
entries AS (
    INSERT INTO journal_entries
        (transaction_id, account_id, currency, amount_minor, balance_after)
    SELECT {p[0]}::uuid, l.account_id, l.currency, l.amount_minor, m.balance_minor
    FROM legs l JOIN moved m USING (account_id, currency)
    ORDER BY l.n
    RETURNING 1
),
sent AS (
    INSERT INTO outbox (event_id, topic, key, envelope, correlation_id)
    SELECT {p[10]}::uuid, {p[11]}, {p[12]}::bytea, {p[13]}::bytea, {p[14]}
    FROM txn WHERE {p[10]}::uuid IS NOT NULL
    RETURNING 1
)"""


def _post_args(txn: JournalTransaction, event: OutboxRow | None) -> list[object]:
    return [
        txn.transaction_id,
        txn.source,
        txn.kind.value,
        txn.posted_at,
        txn.memo,
        txn.reversal_of,
        txn.submission_id,
        [e.account_id for e in txn.entries],
        [e.amount.currency for e in txn.entries],
        [e.amount.amount_minor for e in txn.entries],
        event.event_id if event else None,
        event.topic if event else None,
        event.key if event else None,
        event.envelope if event else None,
        event.correlation_id if event else None,
    ]


_POST = f"WITH {_post_ctes(1)}\nSELECT EXISTS (SELECT FROM txn)"


async def post(
    conn: asyncpg.Connection, txn: JournalTransaction, event: OutboxRow | None = None
) -> bool:
    """Book ``txn`` (and enqueue ``event`` with it); False when its source was already
    booked, by anyone, ever: then nothing is written."""
    return bool(await conn.fetchval(_POST, *_post_args(txn, event)))


_ACCEPT = f"""WITH
sub AS (
    INSERT INTO submissions AS s
        (submission_id, task_id, contractor_id, client_id, project_id, accepted_at,
         accepted_by, reward_currency, reward_minor, worked_seconds, claimed_seconds)
    VALUES ($16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)
    ON CONFLICT (submission_id) DO UPDATE SET
        task_id = EXCLUDED.task_id, project_id = EXCLUDED.project_id,
        accepted_at = EXCLUDED.accepted_at, accepted_by = EXCLUDED.accepted_by,
        reward_currency = EXCLUDED.reward_currency, reward_minor = EXCLUDED.reward_minor,
        worked_seconds = EXCLUDED.worked_seconds, claimed_seconds = EXCLUDED.claimed_seconds
    WHERE s.accepted_at IS NULL
    RETURNING 1
),
who AS (
    INSERT INTO contractors AS c (contractor_id, first_accepted_at) VALUES ($18, $21)
    ON CONFLICT (contractor_id) DO UPDATE SET first_accepted_at = EXCLUDED.first_accepted_at
    WHERE c.first_accepted_at IS NULL
    RETURNING c.referred_by
),{_post_ctes(1)}
SELECT EXISTS (SELECT FROM txn) AS posted, (SELECT referred_by FROM who) AS referred_by"""


async def accept(
    conn: asyncpg.Connection, work: AcceptedWork, txn: JournalTransaction, event: OutboxRow
) -> tuple[bool, str | None]:
    """Record the acceptance and book its pay; whether the pay was booked now, and who
    referred the contractor when this is the contractor's first accepted work."""
    row = await conn.fetchrow(
        _ACCEPT,
        *_post_args(txn, event),
        work.submission_id,
        work.task_id,
        work.contractor_id,
        work.client_id,
        work.project_id,
        work.accepted_at,
        work.accepted_by,
        work.reward.currency,
        work.reward.amount_minor,
        work.worked_seconds,
        work.claimed_seconds,
    )
    assert row is not None
    return bool(row["posted"]), row["referred_by"]


async def accept_unpaid(conn: asyncpg.Connection, work: AcceptedWork) -> bool:
    """Record an unpaid exam's accepted question, with a zero reward and no posting at
    all; whether it was recorded now (False: accepted already; a rejection known before
    is kept, as ``accept`` keeps it). It is not the contractor's first accepted work for
    a referral: a free exam earns no one a referral bonus."""
    recorded = await conn.fetchval(
        "INSERT INTO submissions AS s"
        " (submission_id, task_id, contractor_id, client_id, project_id, accepted_at,"
        " accepted_by, reward_currency, reward_minor, worked_seconds, claimed_seconds, unpaid)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, true)"
        " ON CONFLICT (submission_id) DO UPDATE SET"
        " task_id = EXCLUDED.task_id, project_id = EXCLUDED.project_id,"
        " accepted_at = EXCLUDED.accepted_at, accepted_by = EXCLUDED.accepted_by,"
        " reward_currency = EXCLUDED.reward_currency, reward_minor = 0,"
        " worked_seconds = EXCLUDED.worked_seconds,"
        " claimed_seconds = EXCLUDED.claimed_seconds, unpaid = true"
        " WHERE s.accepted_at IS NULL RETURNING true",
        work.submission_id,
        work.task_id,
        work.contractor_id,
        work.client_id,
        work.project_id,
        work.accepted_at,
        work.accepted_by,
        work.reward.currency,
        work.worked_seconds,
        work.claimed_seconds,
    )
    return bool(recorded)


async def reject(conn: asyncpg.Connection, work: RejectedWork) -> None:
    """Record a rejection; an acceptance (an override) already known stays."""
    await conn.execute(
        "INSERT INTO submissions AS s"
        " (submission_id, task_id, contractor_id, client_id, project_id, rejected_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (submission_id) DO UPDATE SET rejected_at = EXCLUDED.rejected_at"
        " WHERE s.rejected_at IS NULL",
        work.submission_id,
        work.task_id,
        work.contractor_id,
        work.client_id,
        work.project_id,
        work.rejected_at,
    )


async def learn_referral(conn: asyncpg.Connection, referral: Referral) -> bool:
    """Record who referred a contractor, the first time it is told; True when that is
    now and the contractor already has accepted work (so the referral is due now)."""
    due = await conn.fetchval(
        "INSERT INTO contractors AS c (contractor_id, referred_by) VALUES ($1, $2)"
        " ON CONFLICT (contractor_id) DO UPDATE SET referred_by = EXCLUDED.referred_by"
        " WHERE c.referred_by IS NULL"
        " RETURNING c.first_accepted_at IS NOT NULL",
        referral.contractor_id,
        referral.referred_by,
    )
    return bool(due)


async def transaction(
    conn: asyncpg.Connection, transaction_id: uuid.UUID
) -> JournalTransaction | None:
    """A booked transaction with its entries."""
    rows = await conn.fetch(
        "SELECT t.source, t.kind, t.posted_at, t.memo, t.reversal_of, t.submission_id,"
        " e.account_id, e.currency, e.amount_minor"
        " FROM journal_transactions t JOIN journal_entries e USING (transaction_id)"
        " WHERE t.transaction_id = $1 ORDER BY e.entry_id",
        transaction_id,
    )
    if not rows:
        return None
    head = rows[0]
    return JournalTransaction(
        transaction_id=transaction_id,
        kind=PostingKind(head["kind"]),
        source=head["source"],
        entries=tuple(
            Entry(r["account_id"], Money(r["currency"], r["amount_minor"])) for r in rows
        ),
        posted_at=head["posted_at"],
        memo=head["memo"],
        reversal_of=head["reversal_of"],
        submission_id=head["submission_id"],
    )


async def transaction_by_source(conn: asyncpg.Connection, source: str) -> JournalTransaction | None:
    found = await conn.fetchval(
        "SELECT transaction_id FROM journal_transactions WHERE source = $1", source
    )
    return None if found is None else await transaction(conn, found)
