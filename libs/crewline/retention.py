"""Retention: the bookkeeping tables stay bounded, whatever the traffic.

What goes, and when (periods from ``crewline.settings.RetentionSettings``):

- ``outbox``: a row sent to Kafka more than ``outbox_seconds`` ago. Unsent rows, and
  rows set aside because Kafka can never take them (``failed_at``), are never deleted.
- ``inbox``: a processed event's row, ``inbox_seconds`` after it was processed. The
  inbox is what makes a redelivered event harmless, and Kafka can deliver a record
  again for as long as it keeps it (a consumer group whose offsets expired starts
  again from the earliest record). So the inbox retention must exceed the longest a
  record stays readable: ``retention.ms`` plus ``segment.ms`` of each topic consumed,
  since Kafka deletes whole segments. The settings check this against
  ``kafka_record_seconds``; ``KafkaRecordGuard`` checks it against the topics'
  actual configuration, and while it does not hold (or cannot be read; or a topic
  keeps records forever) the inbox is not pruned at all. A row whose event has an
  open dead letter stays too: a replay looks there to see it was applied.
- ``deadlines``: fired clocks; the ``DeadlineClock`` prunes its own kinds
  (``crewline.clock``), with ``deadlines_seconds``.
- A service adds its own tables as ``PruneJob``s (the dispatcher's Watch log).

How: the ``Pruner`` worker deletes, per pass and per table, at most ``batch_size``
of the oldest rows, found by an index, in a transaction of their own, so a batch
holds its locks for milliseconds. A table is pruned by one replica at a time (an
advisory lock per table; the others skip it), and rows are taken ``FOR UPDATE SKIP
LOCKED``: a row some other transaction holds is left for a later pass, never
waited for. A full batch means more is due, so the next pass follows at once;
otherwise the pruner sleeps ``interval_seconds``. These tables are stamped by
PostgreSQL (``now()``), so the cutoff is PostgreSQL's ``now()`` minus the period:
one clock, whatever the services' hosts think the time is.

Rows deleted are counted in ``crewline_<service>_retention_pruned_rows_total{table}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from crewline.aio import sleep_unless
from crewline.db import TRANSIENT_DB_ERRORS
from crewline.health import WorkerHealth
from crewline.log import get_logger
from crewline.metrics import Metrics
from crewline.settings import KafkaSettings, RetentionSettings

log = get_logger(__name__)

WORKER = "retention"  # its name in health and metrics
_LOCK_CLASS = 0x7265_7465  # "rete": with hashtext(table), one pruner per table at a time


@dataclass(frozen=True, kw_only=True)
class PruneJob:
    """One table's pruning. ``sql`` deletes at most ``$2`` rows older than ``$1``
    seconds (PostgreSQL's ``now()`` minus ``$1``), oldest first, and returns how many
    it deleted as its single value."""

    table: str  # the metric's label; a fixed name, never an id
    sql: str
    retention: timedelta
    # Asked before each batch: whether the table may be pruned now.
    guard: Callable[[], Awaitable[bool]] | None = None


OUTBOX_SQL = (
    "WITH old AS (SELECT id FROM outbox"
    " WHERE sent_at < now() - make_interval(secs => $1)"
    " ORDER BY sent_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " gone AS (DELETE FROM outbox o USING old WHERE o.id = old.id RETURNING 1)"
    " SELECT count(*) FROM gone"
)
INBOX_SQL = (
    "WITH old AS (SELECT consumer, event_id FROM inbox i"
    " WHERE processed_at < now() - make_interval(secs => $1)"
    " AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.event_id = i.event_id"
    " AND d.consumer = i.consumer AND d.applied_at IS NULL)"
    " ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " gone AS (DELETE FROM inbox i USING old"
    " WHERE i.consumer = old.consumer AND i.event_id = old.event_id RETURNING 1)"
    " SELECT count(*) FROM gone"
)


def kernel_jobs(
    settings: RetentionSettings, *, inbox_guard: Callable[[], Awaitable[bool]] | None = None
) -> list[PruneJob]:
    """The outbox and inbox jobs every service runs."""
    inbox = _seconds(settings.inbox_seconds)
    return [
        PruneJob(table="outbox", sql=OUTBOX_SQL, retention=_seconds(settings.outbox_seconds)),
        PruneJob(table="inbox", sql=INBOX_SQL, retention=inbox, guard=inbox_guard),
    ]


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


_FOREVER = None  # a topic that keeps (some of) its records for good


async def record_lifetime(kafka: KafkaSettings, topics: Iterable[str]) -> float | None:
    """The longest, in seconds, a record may stay readable in any of ``topics``:
    ``retention.ms`` plus ``segment.ms`` (Kafka deletes whole segments), or None when
    one keeps records for good (``retention.ms`` -1, or a compacted topic)."""
    resources = [
        ConfigResource(
            ConfigResourceType.TOPIC,
            kafka.topic(t),
            {"retention.ms": None, "segment.ms": None, "cleanup.policy": None},
        )
        for t in sorted(set(topics))
    ]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        responses = await admin.describe_configs(resources)
    finally:
        await admin.close()
    longest = 0.0
    for response in responses:
        for error_code, error, _type, name, entries, *_ in response.resources:
            if error_code:
                raise KafkaError(f"describe_configs {name}: error {error_code} {error}")
            config = {entry[0]: entry[1] for entry in entries}
            retention_ms = int(config["retention.ms"])
            if retention_ms < 0 or "compact" in config["cleanup.policy"]:
                return _FOREVER
            longest = max(longest, (retention_ms + int(config["segment.ms"])) / 1000)
    return longest


class KafkaRecordGuard:
    """Lets the inbox be pruned only while every topic consumed drops its records before
    their inbox rows go. Reads the topics' configuration every ``recheck`` seconds; while
    it cannot (Kafka away or slow to answer: ``timeout``), the answer is no."""

    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        topics: Iterable[str],
        inbox_seconds: float,
        recheck: float = 300.0,
        timeout: float = 5.0,
    ) -> None:
        self._kafka = kafka
        self._topics = tuple(topics)
        self._inbox_seconds = inbox_seconds
        self._recheck = recheck
        self._timeout = timeout  # bounds how long a stop may wait for a check
        self._safe = False
        self._next_check: float | None = None

    async def __call__(self) -> bool:
        now = asyncio.get_running_loop().time()
        if self._next_check is not None and now < self._next_check:
            return self._safe
        self._next_check = now + self._recheck
        try:
            lifetime = await asyncio.wait_for(
                record_lifetime(self._kafka, self._topics), self._timeout
            )
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("retention_kafka_config_unreadable", error=repr(exc))
            self._safe = False
            return False
        self._safe = lifetime is not None and lifetime < self._inbox_seconds
        if not self._safe:
            log.error(
                "retention_inbox_kept",
                reason="a consumed topic keeps its records as long as the inbox or longer",
                inbox_seconds=self._inbox_seconds,
                kafka_record_seconds=lifetime,
            )
        return self._safe


class Pruner:
    """Runs ``jobs`` until stopped: a bounded batch per table per pass."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        jobs: Sequence[PruneJob],
        metrics: Metrics,
        batch_size: int = 1000,
        interval: float = 60.0,
        worker_health: WorkerHealth | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        tables = [j.table for j in jobs]
        if len(set(tables)) != len(tables):
            raise ValueError(f"one job per table: {tables}")
        self._pool = pool
        self._jobs = tuple(jobs)
        self._batch_size = batch_size
        self._interval = interval
        self._pruned = metrics.rows_pruned
        for job in self._jobs:
            self._pruned.labels(job.table)  # shown at 0 before the first deletion
        self._health = worker_health or WorkerHealth(metrics=metrics)
        self._health.register(WORKER)
        self._stopping = asyncio.Event()

    @classmethod
    def for_service(
        cls,
        *,
        pool: asyncpg.Pool,
        settings: RetentionSettings,
        metrics: Metrics,
        worker_health: WorkerHealth,
        kafka: KafkaSettings,
        consumed: Iterable[str],
        jobs: Sequence[PruneJob] = (),
    ) -> Pruner:
        """The kernel's jobs and the service's own ``jobs``, as ``settings`` say; the
        inbox is guarded by the configuration of the ``consumed`` topics."""
        guard = KafkaRecordGuard(kafka=kafka, topics=consumed, inbox_seconds=settings.inbox_seconds)
        return cls(
            pool=pool,
            jobs=[*kernel_jobs(settings, inbox_guard=guard), *jobs],
            metrics=metrics,
            batch_size=settings.batch_size,
            interval=settings.interval_seconds,
            worker_health=worker_health,
        )

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            more = False
            try:
                pruned = await self.prune_once()
                more = any(n >= self._batch_size for n in pruned.values())
                self._health.ok(WORKER)
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("retention_db_unavailable", error=repr(exc))
            except Exception as exc:
                log.exception("retention_error")
                self._health.failed(WORKER, exc)
            if more:
                await asyncio.sleep(0)  # let the hot paths in between batches
            else:
                await sleep_unless(self._stopping, self._interval)

    async def prune_once(self) -> dict[str, int]:
        """One batch per table, each in its own transaction; the rows deleted, by table
        (0 for a table another replica is pruning)."""
        return {job.table: await self._prune(job) for job in self._jobs}

    async def _prune(self, job: PruneJob) -> int:
        if job.guard is not None and not await job.guard():
            return 0
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock($1, hashtext($2))", _LOCK_CLASS, job.table
            ):
                return 0
            deleted = int(
                await conn.fetchval(job.sql, job.retention.total_seconds(), self._batch_size)
            )
        if deleted:
            self._pruned.labels(job.table).inc(deleted)
            log.info("retention_pruned", table=job.table, rows=deleted)
        return deleted


__all__ = [
    "KafkaRecordGuard",
    "PruneJob",
    "Pruner",
    "kernel_jobs",
    "record_lifetime",
]
