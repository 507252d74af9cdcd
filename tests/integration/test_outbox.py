"""The transactional outbox against real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from asyncio.subprocess import PIPE

import asyncpg
import pytest

from crewline import outbox
from crewline.events import TASKS_TOPIC, parse_envelope
from crewline.metrics import Metrics
from crewline.outbox import OutboxRelay
from crewline.publisher import Publisher, Route
from crewline.settings import KafkaSettings, PostgresSettings
from crewline.v1 import events_pb2

from stack import ROOT, eventually, read_topic


async def backlog(pool: asyncpg.Pool) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
        )
    )


async def run_relays(relays: list[OutboxRelay], pool: asyncpg.Pool) -> None:
    """Run the relays until the outbox is empty, then stop them."""
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        await eventually(lambda: _empty(pool))
    finally:
        for r in relays:
            r.stop()
        await asyncio.gather(*tasks)


async def _empty(pool: asyncpg.Pool) -> bool:
    return await backlog(pool) == 0


def relay(pool: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics, n: int = 0) -> OutboxRelay:
    return OutboxRelay(pool=pool, kafka=kafka, metrics=metrics, client_id=f"test-relay-{n}")


async def test_event_committed_by_a_process_that_then_died_is_published(
    pool: asyncpg.Pool, pg: PostgresSettings, kafka: KafkaSettings, metrics: Metrics
) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, os, asyncpg
        from crewline import outbox
        from crewline.v1 import events_pb2

        async def main():
            conn = await asyncpg.connect({pg.dsn!r})
            async with conn.transaction():
                event_id = await outbox.enqueue(
                    conn, topic="{TASKS_TOPIC}", key="task-1",
                    payload=events_pb2.TaskPublished(task_id="task-1"), producer="test")
            print(event_id, flush=True)
            os._exit(137)  # dies after the commit, before any relay could publish

        asyncio.run(main())
        """
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=ROOT, stdout=PIPE, stderr=PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 137, err.decode()
    event_id = out.decode().strip()
    assert await backlog(pool) == 1

    await run_relays([relay(pool, kafka, metrics)], pool)

    records = await read_topic(kafka, TASKS_TOPIC)
    assert [parse_envelope(r.value).event_id for r in records] == [event_id]
    assert records[0].key == b"task-1"


async def test_event_is_never_published_unless_its_transaction_commits(
    pool: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await outbox.enqueue(
            conn, topic=TASKS_TOPIC, key="k", payload=events_pb2.TaskPublished(), producer="t"
        )
        await tx.rollback()
    await run_relays([relay(pool, kafka, metrics)], pool)
    assert await read_topic(kafka, TASKS_TOPIC) == []


async def test_publish_many_writes_a_batch_in_order_with_the_callers_transaction(
    pool: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    publisher = Publisher(
        producer="t", routes={events_pb2.TaskPublished: Route(TASKS_TOPIC, key=lambda e: e.task_id)}
    )
    events = [events_pb2.TaskPublished(task_id=f"t{i}") for i in range(50)]
    async with pool.acquire() as conn:
        async with conn.transaction():
            sent = await publisher.publish_many(conn, events)
            assert await publisher.publish_many(conn, []) == []
        tx = conn.transaction()
        await tx.start()
        await publisher.publish_many(conn, events[:3])
        await tx.rollback()
        with pytest.raises(LookupError):
            async with conn.transaction():
                await publisher.publish_many(conn, [events_pb2.PayPosted()])
    rows = await pool.fetch("SELECT event_id, key FROM outbox ORDER BY id")
    assert [r["event_id"] for r in rows] == sent
    assert [r["key"] for r in rows] == [f"t{i}".encode() for i in range(50)]

    await run_relays([relay(pool, kafka, metrics)], pool)
    records = await read_topic(kafka, TASKS_TOPIC)
    assert sorted(parse_envelope(r.value).event_id for r in records) == sorted(map(str, sent))


async def test_several_relays_at_once_send_each_event_once_and_in_order(
    pool: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    sent: list[str] = []
    async with pool.acquire() as conn:
        for i in range(300):
            async with conn.transaction():
                eid = await outbox.enqueue(
                    conn,
                    topic=TASKS_TOPIC,
                    key=f"task-{i % 7}",
                    payload=events_pb2.TaskPublished(task_id=str(i)),
                    producer="t",
                )
                sent.append(str(eid))

    await run_relays([relay(pool, kafka, metrics, n) for n in range(3)], pool)

    records = await read_topic(kafka, TASKS_TOPIC)
    published = [parse_envelope(r.value).event_id for r in records]
    assert sorted(published) == sorted(sent)  # every event, none twice
    for key in {r.key for r in records}:  # per key, in the order written
        per_key = [parse_envelope(r.value).event_id for r in records if r.key == key]
        assert per_key == [e for e in sent if e in set(per_key)]


async def test_a_row_kafka_can_never_accept_is_set_aside_and_blocks_nothing(
    pool: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    async def put(task_id: str, payload_json: str = "") -> str:
        payload = events_pb2.TaskPublished(task_id=task_id, payload_json=payload_json)
        async with pool.acquire() as conn, conn.transaction():
            eid = await outbox.enqueue(
                conn, topic=TASKS_TOPIC, key="k", payload=payload, producer="t"
            )
        return str(eid)

    before = await put("before")
    await put("huge", payload_json="x" * (2 << 20))  # past Kafka's 1 MiB record limit
    after = await put("after")

    await run_relays([relay(pool, kafka, metrics)], pool)

    records = await read_topic(kafka, TASKS_TOPIC)
    assert [parse_envelope(r.value).event_id for r in records] == [before, after]  # once each
    dead = await pool.fetch("SELECT error FROM outbox WHERE failed_at IS NOT NULL")
    assert len(dead) == 1 and "MessageSizeTooLarge" in dead[0]["error"]
    assert (
        metrics.registry.get_sample_value(
            "crewline_test_outbox_dead_letters_total", {"topic": TASKS_TOPIC}
        )
        == 1
    )
