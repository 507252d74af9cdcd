"""Ledger postings per second, from Kafka to committed journal rows, beside the raw rate of
the same writes issued directly with asyncpg; and Verify's time over 1,000,000 entries.

20,000 ``SubmissionAccepted`` events (enveloped by the kernel's ``wrap``, as the
dispatcher's outbox relay would) are published onto the running stack's
crewline.tasks.v1; the clock runs from the first publish until the ledger has committed
the pay of every one (polled in its database: the last event of each partition, whose
commit implies its partition's earlier ones, then all 20,000 counted).

The raw rate, in the same run, on a database of the bench's own with the ledger's
schema: the same statements the ledger issues (the consumer's inbox row, then for each
event the one posting statement: the submission, the journal transaction, three balance
rows, three entries with their balance after, the PayPosted outbox row), prepared
ahead and issued by a bare asyncpg loop on one connection, (a) one transaction per
event, and (b) 100 events per transaction, their inbox rows in one statement (the
batching the ledger's consumer does): no Kafka, no event parsing, no handler.

Verify: 1,000,002 entries (333,334 pay transactions of three entries, 1,000 contractors,
100 clients) seeded by SQL into that database, then the ledger's ``VerifyBooks`` query
set run twice (the second with the pages cached).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.common import Stack, Summary, wait_quiet
from crewline.consumer import INBOX
from crewline.db import KERNEL_MIGRATIONS, create_pool, migrate, migrate_service
from crewline.events import TASKS_TOPIC, wrap
from crewline.kafka import make_producer
from crewline.money import Money
from crewline.outbox import OutboxRow
from crewline.protobuf import money_to_pb, timestamp
from crewline.publisher import Publisher
from crewline.settings import PostgresSettings, ServiceSettings
from crewline.v1 import events_pb2
from ledger.adapters import books, journal
from ledger.adapters import protobuf as pb
from ledger.bootstrap import MIGRATIONS
from ledger.deps import PUBLISHES, SERVICE
from ledger.domain import postings
from ledger.domain.model import JournalTransaction, contractor_account
from ledger.domain.postings import AcceptedWork
from ledger.settings import DEFAULT_FEE_BPS

POSTINGS = 20_000
CONTRACTORS, CLIENTS = 500, 50
GROUP = 100  # the consumer's group size
VERIFY_TRANSACTIONS = 333_334  # x 3 entries
DATABASE = "crewline_bench_postings"
REWARD = 1500


def ledger_settings() -> ServiceSettings:
    return ServiceSettings.from_env(name="ledger", grpc_port=50053, metrics_port=9103)


def accepted_events(stack: Stack) -> list[events_pb2.SubmissionAccepted]:
    at = datetime.now(UTC)
    events = []
    for i in range(POSTINGS):
        e = events_pb2.SubmissionAccepted(
            submission_id=str(uuid.uuid4()),
            task_id=str(uuid.uuid4()),
            contractor_id=stack.name(f"c{i % CONTRACTORS}"),
            client_id=stack.name(f"k{i % CLIENTS}"),
            project_id=stack.name("postings"),
            accepted_by=events_pb2.ACCEPTED_BY_AUTO_ACCEPT,
            worked_seconds=600,
        )
        e.reward.CopyFrom(money_to_pb(Money("USD", REWARD)))
        e.accepted_at.CopyFrom(timestamp(at))
        e.granted_at.CopyFrom(timestamp(at - timedelta(minutes=15)))
        e.submitted_at.CopyFrom(timestamp(at - timedelta(minutes=1)))
        events.append(e)
    return events


async def through_kafka(stack: Stack, events: list[events_pb2.SubmissionAccepted]) -> float:
    """Seconds from the first publish until the ledger committed every posting."""
    settings = ledger_settings()
    topic = settings.kafka.topic(TASKS_TOPIC)
    records = [
        wrap(e, producer="bench", correlation_id=f"bench-postings-{i}").SerializeToString()
        for i, e in enumerate(events)
    ]
    producer = make_producer(settings.kafka, client_id="bench-postings")
    conn = await asyncpg.connect(settings.postgres.dsn)
    await producer.start()
    try:
        started = time.monotonic()
        sent = [
            await producer.send(topic, value, key=e.task_id.encode())
            for e, value in zip(events, records, strict=True)
        ]
        metas = await asyncio.gather(*sent)
        last: dict[int, str] = {}
        for e, meta in zip(events, metas, strict=True):
            last[meta.partition] = f"submission:{e.submission_id}"
        published = time.monotonic() - started
        while True:
            done = await conn.fetchval(
                "SELECT count(*) FROM journal_transactions WHERE source = ANY($1::text[])",
                list(last.values()),
            )
            if done == len(last):
                elapsed = time.monotonic() - started
                break
            if time.monotonic() - started > 600:
                raise TimeoutError("the ledger did not post every event within 10 minutes")
            await asyncio.sleep(0.05)
        posted = await conn.fetchval(
            "SELECT count(*) FROM journal_transactions WHERE source = ANY($1::text[])",
            [f"submission:{e.submission_id}" for e in events],
        )
    finally:
        await producer.stop()
        await conn.close()
    if posted != len(events):
        raise RuntimeError(f"only {posted} of {len(events)} postings are in the journal")
    print(f"  published {len(events):,} in {published:.2f}s; all posted after {elapsed:.2f}s")
    return elapsed


def bench_postgres() -> PostgresSettings:
    pg = ledger_settings().postgres
    return PostgresSettings(
        host=pg.host, port=pg.port, user=pg.user, password=pg.password, database=DATABASE
    )


async def drop_database(*, create: bool = False) -> None:
    admin = await asyncpg.connect(bench_postgres().dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        if create:
            await admin.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await admin.close()


async def fresh_database() -> asyncpg.Pool:
    await drop_database(create=True)
    pool = await create_pool(bench_postgres())
    await migrate(pool, component="kernel", directory=KERNEL_MIGRATIONS)
    await migrate_service(pool, service="ledger", directory=MIGRATIONS)
    return pool


Prepared = tuple[list[object], AcceptedWork, JournalTransaction, OutboxRow]


def prepare(events: list[events_pb2.SubmissionAccepted]) -> list[Prepared]:
    """Each event's rows, built ahead: the loop that is timed only writes."""
    publisher = Publisher(producer=SERVICE, routes=PUBLISHES)
    now = datetime.now(UTC)
    out: list[Prepared] = []
    for i, e in enumerate(events):
        inbox: list[object] = [  # the consumer's inbox row, after its consumer's name
            uuid.uuid4(),
            "crewline.v1.SubmissionAccepted",
            TASKS_TOPIC,
            i % 6,
            i,
        ]
        work = pb.accepted_work(e, now=now)
        txn = postings.pay(work, fee_bps=DEFAULT_FEE_BPS, transaction_id=uuid.uuid4(), now=now)
        credit = txn.credit_to(contractor_account(work.contractor_id))
        assert credit is not None
        out.append((inbox, work, txn, publisher.prepare(pb.pay_posted(txn, credit))))
    return out


async def raw_inserts(pool: asyncpg.Pool, prepared: list[Prepared], *, group: int) -> float:
    """Seconds for a bare loop to write every event's rows, ``group`` events a
    transaction: their inbox rows in one statement (the consumer's own), then each
    posting."""
    async with pool.acquire() as conn:
        started = time.monotonic()
        for at in range(0, len(prepared), group):
            events = prepared[at : at + group]
            rows = [inbox for inbox, _, _, _ in events]
            async with conn.transaction():
                await conn.fetch(INBOX, "ledger", *map(list, zip(*rows, strict=True)), "applied")
                for _, work, txn, row in events:
                    await journal.accept(conn, work, txn, row)
        return time.monotonic() - started


SEED = f"""
INSERT INTO journal_transactions (transaction_id, source, kind, posted_at, submission_id)
SELECT md5('t' || i)::uuid, 'submission:v' || i, 'pay', now(), 'v' || i
FROM generate_series(1, {VERIFY_TRANSACTIONS}) i;

INSERT INTO journal_entries (transaction_id, account_id, currency, amount_minor, balance_after)
SELECT t, account_id, 'USD', amount,
       sum(amount) OVER (PARTITION BY account_id ORDER BY i, n)
FROM (SELECT i, md5('t' || i)::uuid AS t, leg.*
      FROM generate_series(1, {VERIFY_TRANSACTIONS}) i,
      LATERAL (VALUES (1, 'client:k' || (i % 100), -1800),
                      (2, 'contractor:c' || (i % 1000), 1500),
                      (3, 'platform:fees', 300)) AS leg (n, account_id, amount)) s
ORDER BY i, n;

INSERT INTO balances (account_id, currency, balance_minor)
SELECT account_id, currency, sum(amount_minor) FROM journal_entries GROUP BY 1, 2;

INSERT INTO submissions (submission_id, task_id, contractor_id, client_id, project_id,
                         accepted_at, accepted_by, reward_currency, reward_minor,
                         worked_seconds, claimed_seconds)
SELECT 'v' || i, 't', 'c' || (i % 1000), 'k' || (i % 100), 'p', now(), 'client', 'USD',
       1500, 600, 840
FROM generate_series(1, {VERIFY_TRANSACTIONS}) i;
"""


async def verify_time(pool: asyncpg.Pool) -> tuple[int, list[float], bool]:
    """Seed a million entries; the entries, each Verify's seconds, and whether it passed."""
    async with pool.acquire() as conn:
        started = time.monotonic()
        await conn.execute(SEED, timeout=1800)
        await conn.execute("VACUUM ANALYZE", timeout=600)
        print(f"  seeded in {time.monotonic() - started:.1f}s")
    times = []
    report = None
    for _ in range(2):
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            started = time.monotonic()
            report = await books.books_report(conn, now=datetime.now(UTC))
            times.append(time.monotonic() - started)
    assert report is not None
    ok = report.balanced and report.every_submission_paid_once
    return report.entry_count, times, ok


async def run(stack: Stack, summary: Summary) -> None:
    events = accepted_events(stack)
    await wait_quiet()
    elapsed = await through_kafka(stack, events)
    ledger_rate = len(events) / elapsed

    pool = await fresh_database()
    try:
        await wait_quiet()
        single = len(events) / await raw_inserts(pool, prepare(events), group=1)
        print(f"  raw, one event per transaction: {single:,.0f}/s")
        more = accepted_events(stack)  # new submissions: the first loop's are booked
        grouped = len(more) / await raw_inserts(pool, prepare(more), group=GROUP)
        print(f"  raw, {GROUP} events per transaction: {grouped:,.0f}/s")
    finally:
        await pool.close()
    pool = await fresh_database()
    try:
        entries, times, ok = await verify_time(pool)
    finally:
        await pool.close()
        await drop_database()

    summary.add(
        f"ledger postings/s, Kafka to committed journal ({len(events):,} SubmissionAccepted)",
        f"{ledger_rate:,.0f}/s ({elapsed:.1f} s)",
        f"bare asyncpg loop, the same INSERTs: {single:,.0f}/s one event per transaction"
        f" (ratio {ledger_rate / single:.2f}x), {grouped:,.0f}/s {GROUP} per transaction"
        f" (ratio {ledger_rate / grouped:.2f}x)",
    )
    summary.add(
        f"VerifyBooks over {entries:,} entries",
        f"{times[0]:.2f} s cold, {times[1]:.2f} s warm",
        "passes" if ok else "FAILED",
    )
