"""The transactional outbox and its relay.

``enqueue`` writes an event in the caller's transaction (``enqueue_many`` a batch
of them, with one statement), so the state change and the event commit together
or not at all. ``OutboxRelay`` publishes unsent rows in
id order with an idempotent producer (acks=all) and marks them sent.

Several relays (replicas) may run at once: each batch is taken under a
transaction-scoped advisory lock, so one relay publishes at a time, rows are
never sent by two relays at once, and per-key order is kept. A relay that dies
after publishing but before its commit leaves the rows unsent; they are sent
again, and consumers drop the duplicate by event id.

Each batch the relay gets through (even an empty one) is reported to
``WorkerHealth`` as ``ok``; an unexpected error is a failure. Kafka errors and
transient database errors are not: the dependency probes say those.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from google.protobuf.message import Message

from crewline.aio import Backoff, sleep_unless
from crewline.db import TRANSIENT_DB_ERRORS
from crewline.events import CORRELATION_HEADER, wrap
from crewline.health import WorkerHealth
from crewline.kafka import make_producer
from crewline.log import current_correlation_id, get_logger
from crewline.metrics import Metrics
from crewline.settings import KafkaSettings

log = get_logger(__name__)

_RELAY_LOCK = 0x6F75_7462_6F78  # "outbox"
_WORKER = "outbox_relay"  # its name in health and metrics
_GAUGE_SECONDS = 1.0  # the backlog gauges are measured at most this often
# Errors that sending the same record again can never cure.
_NEVER_ACCEPTED = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    InvalidTopicError,
)


@dataclass(frozen=True)
class OutboxRow:
    """One event, enveloped and ready to store: for SQL that writes it itself
    (``outbox_enqueue()``, kernel migration 0004) in the statement that changes state."""

    event_id: uuid.UUID
    topic: str
    key: bytes
    envelope: bytes
    correlation_id: str


def prepare(*, topic: str, key: str, payload: Message, producer: str) -> OutboxRow:
    """The outbox row for an event, with a fresh event id and the current correlation id."""
    correlation_id = current_correlation_id()
    event_id = uuid.uuid4()
    envelope = wrap(payload, producer=producer, correlation_id=correlation_id, event_id=event_id)
    return OutboxRow(event_id, topic, key.encode(), envelope.SerializeToString(), correlation_id)


async def enqueue(
    conn: asyncpg.Connection,
    *,
    topic: str,
    key: str,
    payload: Message,
    producer: str,
) -> uuid.UUID:
    """Write one event to the outbox inside the caller's open transaction."""
    [event_id] = await enqueue_many(conn, [(topic, key, payload)], producer=producer)
    return event_id


async def enqueue_many(
    conn: asyncpg.Connection,
    events: Sequence[tuple[str, str, Message]],
    *,
    producer: str,
) -> list[uuid.UUID]:
    """Write ``(topic, key, payload)`` events to the outbox, in order, with one statement,
    inside the caller's open transaction; their event ids, in the same order."""
    if not conn.is_in_transaction():
        raise RuntimeError("outbox.enqueue must run inside the state change's transaction")
    if not events:
        return []
    rows = [prepare(topic=t, key=k, payload=p, producer=producer) for t, k, p in events]
    # WITH ORDINALITY ... ORDER BY: ids (the relay's order) follow the caller's order.
    await conn.execute(
        "INSERT INTO outbox (event_id, topic, key, envelope, correlation_id)"
        " SELECT e.event_id, e.topic, e.key, e.envelope, $5"
        " FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::bytea[])"
        " WITH ORDINALITY AS e(event_id, topic, key, envelope, n) ORDER BY e.n",
        [r.event_id for r in rows],
        [r.topic for r in rows],
        [r.key for r in rows],
        [r.envelope for r in rows],
        rows[0].correlation_id,
    )
    return [r.event_id for r in rows]


class OutboxRelay:
    """Publishes outbox rows to Kafka until stopped, then drains what is left.

    The relay owns its producer: it connects (and reconnects) with back-off, so
    a service starts and takes requests while Kafka is away; the rows wait.
    """

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        kafka: KafkaSettings,
        metrics: Metrics,
        client_id: str,
        poll_interval: float = 0.05,
        batch_size: int = 500,
        drain_timeout: float = 10.0,
        worker_health: WorkerHealth | None = None,
    ) -> None:
        self._pool = pool
        self._kafka = kafka
        self._metrics = metrics
        self._client_id = client_id
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._drain_timeout = drain_timeout
        self._health = worker_health or WorkerHealth(metrics=metrics)
        self._health.register(_WORKER)
        self._stopping = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._gauges_at = 0.0  # when the backlog gauges may be measured next

    def stop(self) -> None:
        """Stop polling; ``run`` then publishes what is left and returns."""
        self._stopping.set()

    async def run(self) -> None:
        backoff = Backoff(initial=self._poll_interval)
        try:
            while not self._stopping.is_set():
                sent = await self._try_publish()
                if sent is not None:
                    backoff.reset()
                if not sent:
                    await sleep_unless(self._stopping, backoff.next())
            left = await self._drain()
            log.info("outbox_drained", left=left)
        finally:
            await self._disconnect()

    async def _try_publish(self) -> int | None:
        """One batch; None when it failed (logged, producer dropped, rows kept for a retry)."""
        try:
            await self._connect()
            sent = await self.publish_batch()
        except (KafkaError, *TRANSIENT_DB_ERRORS) as exc:
            log.warning("outbox_publish_failed", error=repr(exc))
        except Exception as exc:
            # Never let the relay take the service down: rows stay unsent and are retried.
            log.exception("outbox_relay_error")
            self._health.failed(_WORKER, exc)
        else:
            self._health.ok(_WORKER)
            return sent
        await self._disconnect()
        await self._backlog_or_unknown()  # keep the gauges growing while Kafka is away
        return None

    async def _drain(self) -> int:
        """Publish until the outbox is empty or the drain timeout passes; returns rows left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._drain_timeout
        while loop.time() < deadline:
            sent = await self._try_publish()
            if sent == 0 and await self._backlog_or_unknown() == 0:
                return 0
            if sent is None:
                await asyncio.sleep(0.2)
        return await self._backlog_or_unknown()

    async def _backlog_or_unknown(self) -> int:
        """The backlog, or -1 while the database cannot say."""
        try:
            return await self.backlog()
        except TRANSIENT_DB_ERRORS:
            return -1

    async def _connect(self) -> None:
        if self._producer is None:
            producer = make_producer(self._kafka, client_id=self._client_id)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer

    async def _disconnect(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def backlog(self, conn: asyncpg.Connection | None = None) -> int:
        """Rows not yet published; also sets the backlog and oldest-unsent-age gauges."""
        row = await (conn or self._pool).fetchrow(
            "SELECT count(*) AS n, coalesce(extract(epoch FROM clock_timestamp()"
            " - min(created_at)), 0)::float8 AS age"
            " FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
        )
        self._metrics.outbox_backlog.set(row["n"])
        self._metrics.outbox_oldest_age.set(max(row["age"], 0.0))
        return int(row["n"])

    async def publish_batch(self) -> int:
        """Send one batch and record the outcome, in one transaction.

        Returns the rows sent: 0 when there are none or another relay holds the lock.
        Rows Kafka can never accept are set aside (dead letters); rows that failed for
        a passing reason stay unsent and the error is raised after the commit.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            # Two statements, not one: a statement reads the snapshot it started with, so
            # one that took the lock as well could still see rows another relay had sent and
            # committed while it was starting, and send them again.
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _RELAY_LOCK):
                await self._refresh_gauges(conn)  # else they go stale
                return 0
            rows = await conn.fetch(
                "SELECT id, topic, key, envelope, correlation_id FROM outbox"
                " WHERE sent_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT $1",
                self._batch_size,
            )
            if not rows:
                self._metrics.outbox_backlog.set(0)
                self._metrics.outbox_oldest_age.set(0)
                return 0
            outcomes = await self._send_all(rows)
            sent = [r for r, error in zip(rows, outcomes, strict=True) if error is None]
            await conn.execute(
                "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
                [r["id"] for r in sent],
            )
            retry = await self._set_aside(conn, rows, outcomes)
        for r in sent:
            self._metrics.outbox_published.labels(topic=r["topic"]).inc()
        await self._refresh_gauges(None)
        if retry is not None:
            raise retry
        return len(sent)

    async def _refresh_gauges(self, conn: asyncpg.Connection | None) -> None:
        """``backlog`` at most every ``_GAUGE_SECONDS``: under load the relay runs a batch
        every few milliseconds, and Prometheus reads the gauges every few seconds."""
        now = asyncio.get_running_loop().time()
        if now >= self._gauges_at:
            self._gauges_at = now + _GAUGE_SECONDS
            await self.backlog(conn)

    async def _send_all(self, rows: list[asyncpg.Record]) -> list[BaseException | None]:
        """Send every row, in order; each row's error, or None when Kafka acknowledged it."""
        producer = self._producer
        assert producer is not None, "publish_batch needs a connected producer"
        pending: list[asyncio.Future[object]] = []
        for r in rows:
            try:
                pending.append(
                    await producer.send(
                        self._kafka.topic(r["topic"]),
                        value=r["envelope"],
                        key=r["key"],
                        headers=[(CORRELATION_HEADER, r["correlation_id"].encode())],
                    )
                )
            except KafkaError as exc:  # refused before sending, e.g. too large
                failed: asyncio.Future[object] = asyncio.get_running_loop().create_future()
                failed.set_exception(exc)
                pending.append(failed)
        results = await asyncio.gather(*pending, return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    async def _set_aside(
        self,
        conn: asyncpg.Connection,
        rows: list[asyncpg.Record],
        outcomes: list[BaseException | None],
    ) -> BaseException | None:
        """Dead-letter the rows that can never be sent; the first passing error, if any."""
        retry: BaseException | None = None
        for r, error in zip(rows, outcomes, strict=True):
            if error is None:
                continue
            if not isinstance(error, _NEVER_ACCEPTED):
                retry = retry or error
                continue
            await conn.execute(
                "UPDATE outbox SET failed_at = now(), error = $2 WHERE id = $1",
                r["id"],
                repr(error),
            )
            self._metrics.outbox_dead_letters.labels(topic=r["topic"]).inc()
            log.error("outbox_dead_letter", outbox_id=r["id"], topic=r["topic"], error=repr(error))
        return retry


__all__ = ["OutboxRelay", "enqueue", "enqueue_many"]
