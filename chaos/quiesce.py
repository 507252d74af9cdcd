"""Waiting for the stack to settle after the faults stop, before anything is checked.

Settled means: every outbox sent, every consumer group caught up with every topic,
no deadline due and unfired, no claim still live (the leases left to lapse have
lapsed), no work waiting for auto-accept, and each of those still so a moment later.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from chaos.stack import SERVICES, ChaosStack

POLL = 1.0

CHECKS = {
    "unsent outbox rows": (
        SERVICES,
        "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL",
    ),
    "deadlines due, not fired": (
        ("dispatcher", "quality"),
        "SELECT count(*) FROM deadlines WHERE fired_at IS NULL AND dead_at IS NULL"
        " AND due_at <= now()",
    ),
    "live claims": (("matcher",), "SELECT count(*) FROM claims WHERE status = 'active'"),
    "appeals not yet decided": (
        ("quality",),
        "SELECT count(*) FROM appeals WHERE state = 'pending'",
    ),
    "work waiting for review": (
        ("dispatcher",),
        "SELECT count(*) FROM submissions WHERE status = 'pending_review'",
    ),
}


@dataclass(frozen=True)
class Settled:
    seconds: float
    settled: bool
    left: dict[str, int]  # what was still moving when it gave up (empty when settled)


async def quiesce(stack: ChaosStack, *, limit: float) -> Settled:
    """Polls until settled twice in a row, or ``limit`` seconds."""
    started = time.monotonic()
    pools = {s: await asyncpg.create_pool(stack.dsn(s), min_size=1, max_size=1) for s in SERVICES}
    try:
        quiet = 0
        left: dict[str, int] = {}
        while time.monotonic() - started < limit:
            left = await _moving(stack, pools)
            quiet = quiet + 1 if not left else 0
            if quiet == 2:
                return Settled(time.monotonic() - started, True, {})
            await asyncio.sleep(POLL)
        return Settled(time.monotonic() - started, False, left)
    finally:
        for pool in pools.values():
            await pool.close()


async def _moving(stack: ChaosStack, pools: dict[str, asyncpg.Pool]) -> dict[str, int]:
    moving: dict[str, int] = {}
    for what, (services, sql) in CHECKS.items():
        n = 0
        for service in services:
            n += int(await pools[service].fetchval(sql))
        if n:
            moving[what] = n
    lag = await consumer_lag(stack)
    if lag:
        moving["events not yet consumed"] = lag
    return moving


async def consumer_lag(stack: ChaosStack) -> int:
    """Records on every topic not yet committed by every consumer group that reads it."""
    bootstrap = f"127.0.0.1:{stack.ports.kafka}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        await consumer.topics()  # the cluster's metadata, so every topic's partitions are known
        lag = 0
        for group, *_ in await admin.list_consumer_groups():
            committed = await admin.list_consumer_group_offsets(group)
            topics = {tp.topic for tp in committed}
            partitions = [
                TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
            ]
            ends = await consumer.end_offsets(partitions)
            for tp in partitions:
                done = committed[tp].offset if tp in committed else 0
                lag += max(ends[tp] - max(done, 0), 0)
        return lag
    finally:
        await consumer.stop()
        await admin.close()
