"""The idempotent consumer loop.

Each record is applied in a PostgreSQL transaction that also records its event id
in ``inbox``; a redelivered event finds its id there and changes nothing. The
records a poll brings from one partition are applied in order, up to
``GROUP_SIZE`` of them in one transaction (one commit instead of one each: a
backlog clears many times faster). Offsets are committed to Kafka by hand, after
that transaction, so a crash between the two redelivers, never loses.

A handler that fails on a transient database error is retried (the partition
waits); one that raises anything else rolls back its group, the group is applied
again one event per transaction, and that event is recorded as ``rejected`` with
its error (a dead letter for operators), so one poisoned record cannot stall a
partition forever, nor take its neighbours with it.

Each poll that was applied and committed is reported to ``WorkerHealth`` as
``ok``; an unexpected error that restarts the loop is a failure. Kafka errors
are not: Kafka being away is its probe's business, not this worker's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from google.protobuf.message import Message

from crewline.aio import Backoff, sleep_unless
from crewline.db import TRANSIENT_DB_ERRORS
from crewline.events import MalformedEvent, PayloadTypes, parse_envelope
from crewline.health import WorkerHealth
from crewline.kafka import make_consumer
from crewline.log import bound_contextvars, get_logger
from crewline.metrics import Metrics
from crewline.settings import KafkaSettings
from crewline.v1 import envelope_pb2

log = get_logger(__name__)

GROUP_SIZE = 100  # records of one partition applied in one transaction


@dataclass(frozen=True)
class EventContext:
    """Where an event came from; handed to handlers beside the payload."""

    event_id: str
    correlation_id: str
    producer: str
    topic: str
    partition: int
    offset: int


# The payload argument is the routed message class; Any keeps handlers precisely typed.
Handler = Callable[[asyncpg.Connection, Any, EventContext], Awaitable[None]]


class _RebalanceLog(ConsumerRebalanceListener):  # type: ignore[misc]
    """Logs which partitions this replica holds, as the group hands them out."""

    def __init__(self, group_id: str) -> None:
        self._group_id = group_id

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        log.info("partitions_revoked", group=self._group_id, partitions=_names(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        log.info("partitions_assigned", group=self._group_id, partitions=_names(assigned))


def _names(partitions: Iterable[TopicPartition]) -> list[str]:
    return sorted(f"{tp.topic}:{tp.partition}" for tp in partitions)


class _Stopping(Exception):
    """Raised inside the loop to leave a batch early when a stop is requested."""


class _GroupFailed(Exception):
    """A record of a group cannot be applied with the others: apply them one by one."""


class EventConsumer:
    """Consumes ``topics`` as group ``group_id``, routing each payload type to its handler."""

    def __init__(
        self,
        *,
        group_id: str,
        topics: Iterable[str],
        routes: Mapping[type[Message], Handler],
        pool: asyncpg.Pool,
        kafka: KafkaSettings,
        metrics: Metrics,
        client_id: str,
        worker_health: WorkerHealth | None = None,
    ) -> None:
        self._group_id = group_id
        self._topics = tuple(topics)
        self._routes = dict(routes)
        self._types = PayloadTypes.of(self._routes)
        self._pool = pool
        self._kafka = kafka
        self._metrics = metrics
        self._client_id = client_id
        self._name = f"consumer:{group_id}"
        self._health = worker_health or WorkerHealth(metrics=metrics)
        self._health.register(self._name)
        self._stopping = asyncio.Event()
        self.connected = False

    def stop(self) -> None:
        """Finish the record in hand, commit what is applied, and leave."""
        self._stopping.set()

    async def run(self) -> None:
        backoff = Backoff()
        while not self._stopping.is_set():
            consumer = make_consumer(
                self._kafka,
                group_id=self._group_id,
                client_id=self._client_id,
                topics=self._topics,
                listener=_RebalanceLog(self._group_id),
            )
            try:
                await consumer.start()
                self.connected = True
                backoff.reset()
                await self._consume(consumer)
            except _Stopping:
                pass
            except KafkaError as exc:
                log.warning("consumer_kafka_error", group=self._group_id, error=repr(exc))
            except TRANSIENT_DB_ERRORS as exc:  # a connection or timeout error: not a bug here
                log.warning("consumer_dependency_error", group=self._group_id, error=repr(exc))
            except Exception as exc:
                # Nothing past the committed offsets is lost: a fresh consumer redelivers it.
                log.exception("consumer_error", group=self._group_id)
                self._health.failed(self._name, exc)
            finally:
                self.connected = False
                await consumer.stop()
            await sleep_unless(self._stopping, backoff.next())

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=500)
            for tp, records in batch.items():
                done = -1
                try:
                    for start in range(0, len(records), GROUP_SIZE):
                        group = records[start : start + GROUP_SIZE]
                        await self._apply_with_retry(group)
                        done = group[-1].offset
                finally:
                    if done >= 0:
                        await consumer.commit({tp: done + 1})
                        self._record_lag(consumer, tp, done + 1)
            self._health.ok(self._name)

    async def _apply_with_retry(self, group: list[ConsumerRecord[bytes, bytes]]) -> None:
        backoff = Backoff()
        while True:
            if self._stopping.is_set():
                raise _Stopping
            try:
                await self.apply_group(group)
                return
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("consumer_db_unavailable", error=repr(exc), offset=group[0].offset)
                await sleep_unless(self._stopping, backoff.next())

    async def apply_group(self, records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
        """Apply records of one partition, in order, exactly once each, in one transaction;
        their outcomes. If one cannot be applied with the others, the transaction rolls
        back and each is applied on its own (``apply``), so only that one is rejected."""
        if len(records) == 1:
            return [await self.apply(records[0])]
        started = time.perf_counter()
        done: list[tuple[ConsumerRecord[bytes, bytes], envelope_pb2.EventEnvelope | None, str]]
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                done = [(r, *await self._apply_in_group(conn, r)) for r in records]
        except _GroupFailed:
            return [await self.apply(r) for r in records]
        share = (time.perf_counter() - started) / len(records)
        for record, env, outcome in done:
            self._account(record, env, outcome, share, group=len(records))
        return [outcome for _, _, outcome in done]

    async def _apply_in_group(
        self, conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes]
    ) -> tuple[envelope_pb2.EventEnvelope | None, str]:
        try:
            env = parse_envelope(record.value)
            payload = self._types.unpack(env)
        except MalformedEvent:
            raise _GroupFailed from None  # ``apply`` logs and dead-letters it
        if payload is None:
            return env, "ignored"
        ctx = EventContext(
            event_id=env.event_id,
            correlation_id=env.correlation_id,
            producer=env.producer,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        with bound_contextvars(
            correlation_id=env.correlation_id, event_id=env.event_id, event_type=env.type
        ):
            if not await self._record(conn, env, ctx, outcome="applied", error=None):
                return env, "duplicate"
            try:
                await self._routes[type(payload)](conn, payload, ctx)
            except TRANSIENT_DB_ERRORS:
                raise
            except Exception:
                raise _GroupFailed from None  # ``apply`` logs and dead-letters it
        return env, "applied"

    def _account(
        self,
        record: ConsumerRecord[bytes, bytes],
        env: envelope_pb2.EventEnvelope | None,
        outcome: str,
        elapsed: float,
        *,
        group: int = 1,
    ) -> None:
        event_type = env.type if env is not None else "malformed"
        self._metrics.events_consumed.labels(record.topic, event_type, outcome).inc()
        if env is None:
            return
        self._metrics.event_handling.labels(record.topic, env.type).observe(elapsed)
        with bound_contextvars(
            correlation_id=env.correlation_id, event_id=env.event_id, event_type=env.type
        ):
            log.info(
                "event_consumed",
                outcome=outcome,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                duration_ms=round(elapsed * 1000, 2),
                group=group,
            )

    async def apply(self, record: ConsumerRecord[bytes, bytes]) -> str:
        """Apply one record exactly once; returns the outcome (applied, duplicate, ...)."""
        started = time.perf_counter()
        try:
            env = parse_envelope(record.value)
        except MalformedEvent as exc:
            log.error("event_malformed", topic=record.topic, offset=record.offset, error=str(exc))
            self._metrics.events_consumed.labels(record.topic, "malformed", "rejected").inc()
            return "rejected"
        ctx = EventContext(
            event_id=env.event_id,
            correlation_id=env.correlation_id,
            producer=env.producer,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        with bound_contextvars(
            correlation_id=env.correlation_id, event_id=env.event_id, event_type=env.type
        ):
            outcome = await self._apply_envelope(env, ctx)
        self._account(record, env, outcome, time.perf_counter() - started)
        return outcome

    async def _apply_envelope(self, env: envelope_pb2.EventEnvelope, ctx: EventContext) -> str:
        try:
            payload = self._types.unpack(env)
        except MalformedEvent as exc:
            return await self._reject(env, ctx, exc)
        if payload is None:
            return "ignored"  # not ours: no effect, so nothing to deduplicate
        handler = self._routes[type(payload)]
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                if not await self._record(conn, env, ctx, outcome="applied", error=None):
                    return "duplicate"
                await handler(conn, payload, ctx)
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception as exc:
            log.exception("event_handler_failed")
            return await self._reject(env, ctx, exc)
        return "applied"

    async def _reject(
        self, env: envelope_pb2.EventEnvelope, ctx: EventContext, exc: Exception
    ) -> str:
        try:
            async with self._pool.acquire() as conn:
                fresh = await self._record(conn, env, ctx, outcome="rejected", error=repr(exc))
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception:
            # Not even the dead letter can be written: skip the record, loudly, rather
            # than stall its partition behind it forever.
            log.exception("event_dead_letter_failed", offset=ctx.offset, partition=ctx.partition)
            return "rejected"
        return "rejected" if fresh else "duplicate"

    async def _record(
        self,
        conn: asyncpg.Connection,
        env: envelope_pb2.EventEnvelope,
        ctx: EventContext,
        *,
        outcome: str,
        error: str | None,
    ) -> bool:
        """Insert the event into the inbox; False when it was already there."""
        row = await conn.fetchval(
            'INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset",'
            " outcome, error) VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING 1",
            self._group_id,
            env.event_id,
            env.type,
            ctx.topic,
            ctx.partition,
            ctx.offset,
            outcome,
            error,
        )
        return row is not None

    def _record_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition, position: int) -> None:
        highwater = consumer.highwater(tp)
        if highwater is not None:
            lag = max(highwater - position, 0)
            self._metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
