"""The idempotent consumer loop against real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from crewline.consumer import EventConsumer, EventContext
from crewline.events import TASKS_TOPIC, wrap
from crewline.metrics import Metrics
from crewline.settings import KafkaSettings
from crewline.v1 import events_pb2

from stack import eventually


async def record_effect(conn: asyncpg.Connection, event: Any, ctx: EventContext) -> None:
    if event.task_id == "poison":
        raise ValueError("handler bug")
    await conn.execute("INSERT INTO effects (task_id) VALUES ($1)", event.task_id)


@pytest.fixture
async def effects(pool: asyncpg.Pool) -> asyncpg.Pool:
    await pool.execute("CREATE TABLE effects (id serial PRIMARY KEY, task_id text NOT NULL)")
    return pool


async def produce(kafka: KafkaSettings, values: Sequence[bytes], *, key: bytes = b"k") -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(kafka.topic(TASKS_TOPIC), value=value, key=key)
    finally:
        await producer.stop()


def task_event(task_id: str) -> bytes:
    env = wrap(events_pb2.TaskPublished(task_id=task_id), producer="t", correlation_id="c")
    return env.SerializeToString()


@asynccontextmanager
async def consuming(
    pool: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> AsyncIterator[EventConsumer]:
    consumer = EventConsumer(
        group_id="test",
        topics=[TASKS_TOPIC],
        routes={events_pb2.TaskPublished: record_effect},
        pool=pool,
        kafka=kafka,
        metrics=metrics,
        client_id="test-consumer",
    )
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        consumer.stop()
        await task


def duplicates_seen(metrics: Metrics, kafka: KafkaSettings) -> float | None:
    """How many consumed events the inbox recognised as already applied."""
    return metrics.registry.get_sample_value(
        "crewline_test_events_consumed_total",
        {
            "topic": kafka.topic(TASKS_TOPIC),
            "type": "crewline.v1.TaskPublished",
            "outcome": "duplicate",
        },
    )


async def effects_of(pool: asyncpg.Pool) -> list[str]:
    return [r["task_id"] for r in await pool.fetch("SELECT task_id FROM effects ORDER BY id")]


async def has_effect(pool: asyncpg.Pool, task_id: str) -> bool:
    return task_id in await effects_of(pool)


async def test_event_delivered_twice_has_one_effect(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    twice = task_event("task-1")
    # Same partition (same key), so "end" is consumed after both copies.
    await produce(kafka, [twice, twice, task_event("end")])

    async with consuming(effects, kafka, metrics):
        await eventually(lambda: has_effect(effects, "end"))

    assert await effects_of(effects) == ["task-1", "end"]
    assert await effects.fetchval("SELECT count(*) FROM inbox") == 2
    duplicates = duplicates_seen(metrics, kafka)
    assert duplicates == 1


async def test_restarted_consumer_resumes_after_its_committed_offsets(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    await produce(kafka, [task_event("a"), task_event("b")])
    async with consuming(effects, kafka, metrics):
        await eventually(lambda: has_effect(effects, "b"))
    await produce(kafka, [task_event("c")])
    async with consuming(effects, kafka, metrics):
        await eventually(lambda: has_effect(effects, "c"))
    assert await effects_of(effects) == ["a", "b", "c"]
    # Nothing was redelivered: the second run started after the committed offsets.
    duplicates = duplicates_seen(metrics, kafka)
    assert not duplicates


async def test_malformed_record_and_failing_handler_do_not_stall_the_partition(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    await produce(kafka, [b"not an envelope", task_event("poison"), task_event("after")])

    async with consuming(effects, kafka, metrics):
        await eventually(lambda: has_effect(effects, "after"))

    assert await effects_of(effects) == ["after"]  # the poison's effect was rolled back
    rejected = await effects.fetch("SELECT error FROM inbox WHERE outcome = 'rejected'")
    assert len(rejected) == 1 and "handler bug" in rejected[0]["error"]


async def test_a_poisoned_event_in_a_group_is_rejected_alone_and_the_rest_apply_in_order(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    names = [f"t{i:02d}" for i in range(40)]
    await produce(kafka, [task_event(n) for n in names[:20]] + [task_event("poison")])
    await produce(kafka, [task_event(n) for n in names[20:]])

    async with consuming(effects, kafka, metrics):
        await eventually(lambda: has_effect(effects, names[-1]))

    assert await effects_of(effects) == names  # in order, each once, none of the poison's
    outcomes = await effects.fetch("SELECT outcome, count(*) AS n FROM inbox GROUP BY outcome")
    assert {r["outcome"]: r["n"] for r in outcomes} == {"applied": 40, "rejected": 1}
