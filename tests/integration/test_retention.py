"""Retention on real PostgreSQL (and Kafka for the long run): the outbox, the inbox and
the deadlines stay bounded, and pruning never takes a row that is still needed.

Time passes for the tables PostgreSQL stamps (``sent_at``, ``processed_at``) by moving
their stamps back (``age``), since the pruner measures them against PostgreSQL's own
``now()``; deadlines run on a fake clock, as their clock does. No test sleeps.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from crewline import clock, dead_letters, outbox
from crewline.clock import Deadline, DeadlineClock
from crewline.consumer import EventConsumer, EventContext
from crewline.events import TASKS_TOPIC
from crewline.metrics import Metrics
from crewline.outbox import OutboxRelay
from crewline.retention import KafkaRecordGuard, Pruner, kernel_jobs, record_lifetime
from crewline.settings import KafkaSettings, RetentionSettings, SettingsError
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2

from stack import eventually

HOUR = 3600.0
KIND = "retention_test"
# An hour and a half for everything: rows one "hour" old stay, two hours old go.
SETTINGS = RetentionSettings.from_env(
    {
        "CREWLINE_RETENTION_OUTBOX_SECONDS": "5400",
        "CREWLINE_RETENTION_INBOX_SECONDS": "5400",
        "CREWLINE_RETENTION_KAFKA_RECORD_SECONDS": "3600",
        "CREWLINE_RETENTION_DEADLINES_SECONDS": "5400",
    }
)


async def age(pool: asyncpg.Pool, table: str, column: str, seconds: float) -> None:
    """Let ``seconds`` pass for ``table``'s rows, as PostgreSQL's clock sees them."""
    await pool.execute(
        f"UPDATE {table} SET {column} = {column} - make_interval(secs => $1)"
        f" WHERE {column} IS NOT NULL",
        seconds,
    )


async def count(pool: asyncpg.Pool, table: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table}"))


def pruner(pool: asyncpg.Pool, metrics: Metrics, batch_size: int = 1000) -> Pruner:
    return Pruner(pool=pool, jobs=kernel_jobs(SETTINGS), metrics=metrics, batch_size=batch_size)


async def prune_all(p: Pruner) -> dict[str, int]:
    """Run passes until nothing more is due; the rows deleted, by table."""
    total: dict[str, int] = {}
    while True:
        pruned = await p.prune_once()
        if not any(pruned.values()):
            return total
        for table, n in pruned.items():
            total[table] = total.get(table, 0) + n


def pruned_total(metrics: Metrics, table: str) -> float:
    value = metrics.registry.get_sample_value(
        "crewline_test_retention_pruned_rows_total", {"table": table}
    )
    return value or 0.0


async def noop(conn: asyncpg.Connection, deadline: Deadline) -> None:
    pass


def deadline_clock(pool: asyncpg.Pool, metrics: Metrics, fake: FakeClock) -> DeadlineClock:
    return DeadlineClock(
        pool=pool,
        handlers={KIND: noop},
        metrics=metrics,
        clock=fake,
        retention=timedelta(seconds=SETTINGS.deadlines_seconds),
        prune_batch=SETTINGS.batch_size,
    )


async def count_effect(conn: asyncpg.Connection, event: Any, ctx: EventContext) -> None:
    await conn.execute("UPDATE effects SET n = n + 1")


@asynccontextmanager
async def relaying_and_consuming(
    pool: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> AsyncIterator[None]:
    """The outbox relay and an idempotent consumer of what it publishes, running."""
    relay = OutboxRelay(pool=pool, kafka=kafka, metrics=metrics, client_id="test-relay")
    consumer = EventConsumer(
        group_id="test",
        topics=[TASKS_TOPIC],
        routes={events_pb2.TaskPublished: count_effect},
        pool=pool,
        kafka=kafka,
        metrics=metrics,
        client_id="test-consumer",
    )
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    try:
        yield
    finally:
        consumer.stop()
        relay.stop()
        await asyncio.gather(*tasks)


async def test_tables_stay_bounded_over_a_long_run(
    pool: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    """Each cycle publishes and consumes a batch of events and fires a batch of
    deadlines, then an hour passes and retention runs: the tables hold one cycle's
    rows, never more, while the totals keep growing."""
    cycles, per_cycle = 6, 40
    await pool.execute("CREATE TABLE effects (n integer NOT NULL); INSERT INTO effects VALUES (0)")
    fake = FakeClock(datetime.now(UTC))
    ticker = deadline_clock(pool, metrics, fake)
    p = pruner(pool, metrics, batch_size=15)  # several batches per table per cycle
    async with relaying_and_consuming(pool, kafka, metrics):
        for cycle in range(1, cycles + 1):
            events = [
                (TASKS_TOPIC, f"t{cycle}-{i}", events_pb2.TaskPublished(task_id=f"t{cycle}-{i}"))
                for i in range(per_cycle)
            ]
            async with pool.acquire() as conn, conn.transaction():
                ids = await outbox.enqueue_many(conn, events, producer="test")
                for i in range(per_cycle):
                    await clock.schedule(conn, kind=KIND, ref=f"d{cycle}-{i}", due_at=fake.now())

            async def consumed(ids: list[uuid.UUID] = ids) -> bool:
                n = await pool.fetchval(
                    "SELECT count(*) FROM inbox WHERE event_id = ANY($1::uuid[])", ids
                )
                return bool(n == len(ids))

            await eventually(consumed)
            while await ticker.fire_due():
                pass

            # An hour passes: this cycle's rows are an hour old, the last one's two.
            await age(pool, "outbox", "sent_at", HOUR)
            await age(pool, "inbox", "processed_at", HOUR)
            fake.advance(timedelta(hours=1))
            pruned = await prune_all(p)
            while await ticker.maintain():
                pass

            previous = per_cycle * (cycle - 1)
            assert pruned == ({"outbox": per_cycle, "inbox": per_cycle} if cycle > 1 else {})
            assert await count(pool, "outbox") == per_cycle
            assert await count(pool, "inbox") == per_cycle
            assert await count(pool, "deadlines") == per_cycle
            assert await pool.fetchval("SELECT n FROM effects") == per_cycle * cycle
            assert pruned_total(metrics, "outbox") == previous
            assert pruned_total(metrics, "inbox") == previous
            assert pruned_total(metrics, "deadlines") == previous


async def test_pruning_keeps_every_row_still_needed(pool: asyncpg.Pool, metrics: Metrics) -> None:
    """Unsent and set-aside outbox rows, inbox rows inside the window or of an open dead
    letter, and pending or dead-lettered deadlines all stay, however old."""
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue_many(
            conn,
            [(TASKS_TOPIC, n, events_pb2.TaskPublished(task_id=n)) for n in ("unsent", "failed")],
            producer="test",
        )
    await pool.execute(
        "UPDATE outbox SET failed_at = now(), error = 'too large' WHERE key = 'failed'"
    )
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue_many(
            conn,
            [(TASKS_TOPIC, n, events_pb2.TaskPublished(task_id=n)) for n in ("old", "recent")],
            producer="test",
        )
    await pool.execute("UPDATE outbox SET sent_at = now() WHERE key IN ('old', 'recent')")
    await age(pool, "outbox", "created_at", 100 * HOUR)
    await age(pool, "outbox", "failed_at", 100 * HOUR)
    await pool.execute("UPDATE outbox SET sent_at = sent_at - interval '2 hours' WHERE key = 'old'")

    inbox = {name: uuid.uuid4() for name in ("old", "recent", "open_dead", "replayed_dead")}
    for name, event_id in inbox.items():
        await pool.execute(
            'INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset",'
            " outcome) VALUES ('test', $1, 't', 'x', 0, 0, 'applied')",
            event_id,
        )
        if name.endswith("_dead"):  # dead-lettered, then applied by a redelivery
            async with pool.acquire() as conn:
                await dead_letters.insert(
                    conn,
                    event_id=event_id,
                    consumer="test",
                    topic="x",
                    partition=0,
                    offset=0,
                    key=None,
                    value=b"v",
                    event_type="t",
                    correlation_id="c",
                    error="boom",
                )
    await pool.execute(
        "UPDATE dead_letters SET applied_at = now() WHERE event_id = $1", inbox["replayed_dead"]
    )
    await pool.execute(
        "UPDATE inbox SET processed_at = processed_at - interval '2 hours' WHERE event_id <> $1",
        inbox["recent"],
    )

    fake = FakeClock(datetime.now(UTC))
    async with pool.acquire() as conn, conn.transaction():
        for ref in ("fired", "pending", "dead"):
            await clock.schedule(conn, kind=KIND, ref=ref, due_at=fake.now())
        await clock.schedule(conn, kind=KIND, ref="later", due_at=fake.now() + timedelta(days=9))
    await pool.execute(
        "UPDATE deadlines SET run_at = run_at + interval '30 days' WHERE ref = 'pending'"
    )
    ticker = deadline_clock(pool, metrics, fake)
    assert await ticker.fire_due() == 2  # "fired" and "dead"
    await pool.execute(
        "UPDATE deadlines SET fired_at = NULL, dead_at = $1 WHERE ref = 'dead'", fake.now()
    )
    fake.advance(timedelta(days=8))

    assert await prune_all(pruner(pool, metrics)) == {"outbox": 1, "inbox": 2}
    assert await ticker.maintain() == 1
    outbox_keys = await pool.fetch("SELECT convert_from(key, 'UTF8') AS k FROM outbox ORDER BY k")
    assert [r["k"] for r in outbox_keys] == ["failed", "recent", "unsent"]
    kept = {r["event_id"] for r in await pool.fetch("SELECT event_id FROM inbox")}
    assert kept == {inbox["recent"], inbox["open_dead"]}
    refs = await pool.fetch("SELECT ref FROM deadlines ORDER BY ref")
    assert [r["ref"] for r in refs] == ["dead", "later", "pending"]


async def test_each_batch_is_bounded_and_skips_rows_others_hold(
    pool: asyncpg.Pool, metrics: Metrics
) -> None:
    """Batches delete at most batch_size rows each; a row another transaction has
    locked is skipped, never waited for, and a table another replica is pruning is
    left to it."""
    ids = [uuid.uuid4() for _ in range(10)]
    await pool.execute(
        'INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset", outcome)'
        " SELECT 'test', e, 't', 'x', 0, 0, 'applied' FROM unnest($1::uuid[]) AS e",
        ids,
    )
    await age(pool, "inbox", "processed_at", 2 * HOUR)
    p = pruner(pool, metrics, batch_size=3)
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM inbox WHERE event_id = $1 FOR UPDATE", ids[0])
        passes = [(await asyncio.wait_for(p.prune_once(), 30))["inbox"] for _ in range(5)]
        assert passes == [3, 3, 3, 0, 0]
        assert await count(pool, "inbox") == 1
    assert (await p.prune_once())["inbox"] == 1

    await pool.execute(
        'INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset", outcome)'
        " VALUES ('test', $1, 't', 'x', 0, 0, 'applied')",
        uuid.uuid4(),
    )
    await age(pool, "inbox", "processed_at", 2 * HOUR)
    async with pool.acquire() as other, other.transaction():  # another replica, mid-batch
        await other.execute("SELECT pg_advisory_xact_lock($1, hashtext('inbox'))", 0x7265_7465)
        assert (await p.prune_once())["inbox"] == 0
    assert (await p.prune_once())["inbox"] == 1
    assert pruned_total(metrics, "inbox") == 11


async def test_run_prunes_until_stopped(pool: asyncpg.Pool, metrics: Metrics) -> None:
    await pool.execute(
        'INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset", outcome)'
        " SELECT 'test', gen_random_uuid(), 't', 'x', 0, 0, 'applied' FROM generate_series(1, 25)"
    )
    await age(pool, "inbox", "processed_at", 2 * HOUR)
    p = Pruner(pool=pool, jobs=kernel_jobs(SETTINGS), metrics=metrics, batch_size=10, interval=3600)
    task = asyncio.create_task(p.run())
    try:
        # Full batches are followed at once: all 25 go without waiting out the interval.
        async def emptied() -> bool:
            return await count(pool, "inbox") == 0

        await eventually(emptied)
    finally:
        p.stop()
        await asyncio.wait_for(task, 30)
    assert pruned_total(metrics, "inbox") == 25


async def set_topic_config(kafka: KafkaSettings, topic: str, config: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, kafka.topic(topic), config)]
        )
    finally:
        await admin.close()


async def test_the_inbox_is_kept_while_kafka_may_still_deliver_its_events(
    pool: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    """The guard reads the consumed topics' configuration: with Kafka's defaults a
    record may stay 14 days, longer than this inbox's hour and a half, so no inbox
    row goes; once the topic keeps records an hour at most, they do."""
    await pool.execute(
        'INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset", outcome)'
        " SELECT 'test', gen_random_uuid(), 't', 'x', 0, 0, 'applied' FROM generate_series(1, 5)"
    )
    await age(pool, "inbox", "processed_at", 2 * HOUR)
    guard = KafkaRecordGuard(
        kafka=kafka, topics=[TASKS_TOPIC], inbox_seconds=SETTINGS.inbox_seconds, recheck=0
    )
    p = Pruner(pool=pool, jobs=kernel_jobs(SETTINGS, inbox_guard=guard), metrics=metrics)
    assert await record_lifetime(kafka, [TASKS_TOPIC]) == 14 * 24 * HOUR
    assert (await p.prune_once())["inbox"] == 0

    await set_topic_config(kafka, TASKS_TOPIC, {"retention.ms": "-1"})  # kept for good

    async def lifetime_is(expected: float | None) -> bool:
        return await record_lifetime(kafka, [TASKS_TOPIC]) == expected

    await eventually(lambda: lifetime_is(None))
    assert (await p.prune_once())["inbox"] == 0
    assert await count(pool, "inbox") == 5

    half_hour = "1800000"
    await set_topic_config(kafka, TASKS_TOPIC, {"retention.ms": half_hour, "segment.ms": half_hour})
    await eventually(lambda: lifetime_is(HOUR))
    assert (await p.prune_once())["inbox"] == 5


def test_inbox_retention_must_outlast_the_records_in_kafka() -> None:
    defaults = RetentionSettings.from_env({})
    assert defaults.inbox_seconds > defaults.kafka_record_seconds
    with pytest.raises(SettingsError, match="CREWLINE_RETENTION_INBOX_SECONDS=864000 must exceed"):
        RetentionSettings.from_env({"CREWLINE_RETENTION_INBOX_SECONDS": "864000"})
    with pytest.raises(SettingsError, match="CREWLINE_RETENTION_OUTBOX_SECONDS"):
        RetentionSettings.from_env({"CREWLINE_RETENTION_OUTBOX_SECONDS": "0"})
    with pytest.raises(SettingsError, match="CREWLINE_RETENTION_WATCH_SECONDS"):
        RetentionSettings.from_env({"CREWLINE_RETENTION_WATCH_SECONDS": "a week"})
    with pytest.raises(SettingsError, match="CREWLINE_RETENTION_BATCH_SIZE"):
        RetentionSettings.from_env({"CREWLINE_RETENTION_BATCH_SIZE": "0"})
