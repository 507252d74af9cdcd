"""Durable deadlines: clocks that live in PostgreSQL, not in memory.

A clock is the row ``(kind, ref)``: pending, fired, or dead-lettered.

- ``schedule`` (in the caller's transaction) arms a new clock or moves a pending one
  and says which: ``ARMED``, ``MOVED`` or ``UNCHANGED``. A clock that has fired or was
  dead-lettered is left alone (``FIRED``), so a redelivered event never sets off an
  effect twice.
- To re-arm a clock that has fired, call ``rearm``: for a new or pending clock it is
  ``schedule``; a fired or dead-lettered one is armed again with generation + 1 and no
  failed attempts (``ARMED``), and its handler is told the new generation. A fired
  clock is kept for ``retention`` (default 7 days) and then pruned; after that,
  ``schedule`` arms it afresh at generation 1.
- ``schedule_many`` does the same for many clocks in one statement, without outcomes.
- ``cancel`` removes a clock that has not fired, pending or dead-lettered.
- A handler that moves its own clock (``schedule`` from inside it) leaves it pending at
  the new time instead of fired.

``DeadlineClock`` fires due clocks. Due means ``due_at`` is at or before the injected
clock's ``now()``, never PostgreSQL's, so nothing fires early and tests need no sleep.
Due clocks are taken ``FOR UPDATE SKIP LOCKED``, so replicas share the work; each
handler runs in a savepoint of the batch's transaction (one failure spoils no other),
and ``fired_at`` is set in that same transaction: each deadline fires once, in one
replica, and a restart or a rolled-back batch loses none.

A handler that raises is retried after a growing delay (``retry_initial`` doubling up
to ``retry_max``). After ``max_attempts`` failures the clock is dead-lettered: kept
with its last error and ``dead_at``, counted (``deadlines_dead_lettered_total``,
gauge ``deadlines_dead_letters``), listed by ``crewline.ops`` (``crewctl deadline
dead``) and brought back with ``rearm`` (``crewctl deadline rearm``) once the fault is
fixed. A transient database error is nobody's failure: the batch rolls back and is
taken again. Fired clocks past ``retention`` (``CREWLINE_RETENTION_DEADLINES_SECONDS``,
see ``crewline.retention``) are deleted in bounded batches, between passes, never on
the firing path, and counted in ``retention_pruned_rows_total{table="deadlines"}``.
Dead-lettered clocks are kept until an operator re-arms or cancels them.

Each pass the clock gets through is reported to ``WorkerHealth`` as ``ok``; an
unexpected error is a failure, a transient database error is not (the PostgreSQL
probe says that).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from crewline.aio import Backoff, sleep_unless
from crewline.db import TRANSIENT_DB_ERRORS
from crewline.health import WorkerHealth
from crewline.log import bound_contextvars, current_correlation_id, get_logger
from crewline.metrics import Metrics
from crewline.timekeeping import Clock

log = get_logger(__name__)

_MAX_ERROR_CHARS = 2000
_COLUMNS = "kind, ref, generation, due_at, attempts, correlation_id"


@dataclass(frozen=True, kw_only=True)
class Deadline:
    """One firing of a clock, as its handler sees it."""

    kind: str
    ref: str
    generation: int  # +1 each time a fired (or dead-lettered) clock is re-armed
    due_at: datetime
    attempts: int  # handler runs that failed before this one
    correlation_id: str


DeadlineHandler = Callable[[asyncpg.Connection, Deadline], Awaitable[None]]


class Scheduled(enum.StrEnum):
    ARMED = "armed"  # a new clock (or a fired one re-armed by rearm())
    MOVED = "moved"  # a pending clock got a new due time
    UNCHANGED = "unchanged"  # pending, same due time
    FIRED = "fired"  # already fired or dead-lettered: schedule() leaves it alone


@dataclass(frozen=True, kw_only=True)
class DeadlineRecord:
    """A clock as an operator sees it."""

    deadline: Deadline
    fired_at: datetime | None
    dead_at: datetime | None
    last_error: str | None

    @property
    def state(self) -> str:
        if self.dead_at is not None:
            return "dead_lettered"
        return "pending" if self.fired_at is None else "fired"


# How an insert into ``deadlines`` treats a clock already there: moved while pending,
# left alone once fired or dead-lettered (and not rewritten when the time is the same).
_ARM_OR_MOVE = (
    " ON CONFLICT (kind, ref) DO UPDATE SET due_at = EXCLUDED.due_at, run_at = EXCLUDED.due_at"
    " WHERE deadlines.fired_at IS NULL AND deadlines.dead_at IS NULL"
    " AND deadlines.due_at <> EXCLUDED.due_at"
)


async def schedule(conn: asyncpg.Connection, *, kind: str, ref: str, due_at: datetime) -> Scheduled:
    """Arm the clock ``(kind, ref)`` at ``due_at``, or move it while it is pending."""
    armed = await conn.fetchval(
        "INSERT INTO deadlines (kind, ref, due_at, run_at, correlation_id)"
        " VALUES ($1, $2, $3, $3, $4)"
        f"{_ARM_OR_MOVE} RETURNING xmax = 0",  # true for the row this statement inserted
        kind,
        ref,
        due_at,
        current_correlation_id(),
    )
    if armed is not None:
        return Scheduled.ARMED if armed else Scheduled.MOVED
    # Nothing written; the upsert locked the row, so this reads what it saw.
    pending = await conn.fetchval(
        "SELECT fired_at IS NULL AND dead_at IS NULL FROM deadlines WHERE kind = $1 AND ref = $2",
        kind,
        ref,
    )
    return Scheduled.UNCHANGED if pending else Scheduled.FIRED


async def schedule_many(
    conn: asyncpg.Connection, *, kind: str, clocks: Sequence[tuple[str, datetime, str]]
) -> None:
    """``schedule`` for many clocks of one kind, in one statement: each ``(ref, due_at,
    correlation_id)``, the refs distinct. For callers that need no outcome back."""
    if not clocks:
        return
    await conn.execute(
        "INSERT INTO deadlines (kind, ref, due_at, run_at, correlation_id)"
        " SELECT $1, c.ref, c.due_at, c.due_at, c.correlation_id"
        " FROM unnest($2::text[], $3::timestamptz[], $4::text[]) AS c(ref, due_at, correlation_id)"
        + _ARM_OR_MOVE,
        kind,
        [ref for ref, _, _ in clocks],
        [due_at for _, due_at, _ in clocks],
        [correlation_id for _, _, correlation_id in clocks],
    )


async def rearm(conn: asyncpg.Connection, *, kind: str, ref: str, due_at: datetime) -> Scheduled:
    """``schedule``, except that a fired or dead-lettered clock is armed again (``ARMED``)."""
    done = await conn.fetchval(
        "SELECT fired_at IS NOT NULL OR dead_at IS NOT NULL FROM deadlines"
        " WHERE kind = $1 AND ref = $2 FOR UPDATE",
        kind,
        ref,
    )
    if not done:  # no clock, or a pending one
        return await schedule(conn, kind=kind, ref=ref, due_at=due_at)
    await conn.execute(
        "UPDATE deadlines SET due_at = $3, run_at = $3, generation = generation + 1,"
        " attempts = 0, fired_at = NULL, dead_at = NULL, last_error = NULL, correlation_id = $4"
        " WHERE kind = $1 AND ref = $2",
        kind,
        ref,
        due_at,
        current_correlation_id(),
    )
    return Scheduled.ARMED


async def cancel(conn: asyncpg.Connection, *, kind: str, ref: str) -> bool:
    """Remove a clock that has not fired (pending or dead-lettered); whether there was one."""
    removed = await conn.fetchval(
        "DELETE FROM deadlines WHERE kind = $1 AND ref = $2 AND fired_at IS NULL RETURNING 1",
        kind,
        ref,
    )
    return removed is not None


async def find(conn: asyncpg.Connection, *, kind: str, ref: str) -> DeadlineRecord | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS}, fired_at, dead_at, last_error FROM deadlines"
        " WHERE kind = $1 AND ref = $2",
        kind,
        ref,
    )
    return _record(row) if row else None


async def dead_letters(
    conn: asyncpg.Connection,
    *,
    kind: str | None,
    after: tuple[datetime, str, str] | None,
    limit: int,
) -> list[DeadlineRecord]:
    """Dead-lettered clocks after ``(dead_at, kind, ref)``, oldest first (so new ones
    join the end and paging misses none)."""
    at, after_kind, after_ref = after or (None, None, None)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS}, fired_at, dead_at, last_error FROM deadlines"
        " WHERE dead_at IS NOT NULL AND ($1::text IS NULL OR kind = $1)"
        " AND ($2::timestamptz IS NULL OR (dead_at, kind, ref) > ($2, $3::text, $4::text))"
        " ORDER BY dead_at, kind, ref LIMIT $5",
        kind,
        at,
        after_kind,
        after_ref,
        limit,
    )
    return [_record(r) for r in rows]


def retry_delay(attempts: int, *, initial: float, maximum: float) -> float:
    """Seconds before the next run after ``attempts`` failures: doubling, bounded."""
    return float(min(initial * 2 ** min(attempts - 1, 32), maximum))


def _deadline(row: asyncpg.Record) -> Deadline:
    return Deadline(
        kind=row["kind"],
        ref=row["ref"],
        generation=row["generation"],
        due_at=row["due_at"],
        attempts=row["attempts"],
        correlation_id=row["correlation_id"],
    )


def _record(row: asyncpg.Record) -> DeadlineRecord:
    return DeadlineRecord(
        deadline=_deadline(row),
        fired_at=row["fired_at"],
        dead_at=row["dead_at"],
        last_error=row["last_error"],
    )


# Each deadline's handler runs in a savepoint of its own, so one failure spoils no other.
# Releasing one and opening the next is one statement: one round trip per deadline.
# A savepoint that writes takes a subtransaction id, and a transaction holding more than
# 64 overflows PostgreSQL's per-backend cache (which slows every snapshot): hence
# MAX_BATCH.
_SAVEPOINT_NAME = "deadline"
_SAVEPOINT = f"SAVEPOINT {_SAVEPOINT_NAME}"
_NEXT_SAVEPOINT = f"RELEASE SAVEPOINT {_SAVEPOINT_NAME}; SAVEPOINT {_SAVEPOINT_NAME}"
MAX_BATCH = 60
_TAKE_DUE = (
    f"SELECT {_COLUMNS} FROM deadlines"
    " WHERE fired_at IS NULL AND dead_at IS NULL AND run_at <= $1 AND kind = ANY($2::text[])"
    " ORDER BY run_at LIMIT $3 FOR UPDATE SKIP LOCKED"
)
# Only clocks still as they were taken: a handler that moved its own clock left it pending.
_MARK_FIRED = (
    "UPDATE deadlines d SET fired_at = f.fired_at"
    " FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])"
    " AS f(kind, ref, due_at, fired_at)"
    " WHERE d.kind = f.kind AND d.ref = f.ref AND d.due_at = f.due_at"
    " AND d.fired_at IS NULL AND d.dead_at IS NULL"
    " RETURNING d.kind, d.due_at, d.fired_at"
)
_PRUNE = (
    "DELETE FROM deadlines d USING ("
    " SELECT kind, ref FROM deadlines WHERE fired_at < $1 AND kind = ANY($2::text[])"
    " ORDER BY fired_at LIMIT $3 FOR UPDATE SKIP LOCKED) old"
    " WHERE d.kind = old.kind AND d.ref = old.ref"
)


@dataclass(frozen=True)
class _Failure:
    kind: str
    dead: bool


class DeadlineClock:
    """Fires due deadlines of the given kinds until stopped.

    ``name`` labels the clock in health and metrics; it must be unique per service.
    """

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        handlers: Mapping[str, DeadlineHandler],
        metrics: Metrics,
        clock: Clock,
        poll_interval: float = 0.05,
        batch_size: int = 50,
        max_attempts: int = 8,
        retry_initial: float = 1.0,
        retry_max: float = 300.0,
        retention: timedelta = timedelta(days=7),
        prune_batch: int = 1000,
        maintenance_interval: float = 30.0,
        worker_health: WorkerHealth | None = None,
        name: str = "deadline_clock",
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH}, not {batch_size}")
        self._pool = pool
        self._handlers = dict(handlers)
        self._kinds = sorted(self._handlers)
        self._metrics = metrics
        self._clock = clock
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._retention = retention
        self._prune_batch = prune_batch
        self._pruned = metrics.rows_pruned
        self._pruned.labels("deadlines")  # shown at 0 before the first deletion
        self._maintenance_interval = maintenance_interval
        self._name = name
        self._health = worker_health or WorkerHealth(metrics=metrics)
        self._health.register(name)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = Backoff(initial=self._poll_interval)
        maintain_at = loop.time()
        while not self._stopping.is_set():
            fired = 0
            try:
                fired = await self.fire_due()
                if loop.time() >= maintain_at:
                    pruned = await self.maintain()
                    # A full batch means more is waiting: prune again on the next pass.
                    wait = 0.0 if pruned >= self._prune_batch else self._maintenance_interval
                    maintain_at = loop.time() + wait
                backoff.reset()
                self._health.ok(self._name)
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("deadline_clock_db_unavailable", error=repr(exc))
            except Exception as exc:
                # The batch rolled back: its deadlines are still due and fire on a later pass.
                log.exception("deadline_clock_error")
                self._health.failed(self._name, exc)
            if fired < self._batch_size:  # a full batch: more may be due already
                await sleep_unless(self._stopping, backoff.next())

    async def fire_due(self) -> int:
        """Fire one batch of due deadlines in one transaction; returns how many fired."""
        fired: list[tuple[Deadline, datetime]] = []
        failures: list[_Failure] = []
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_TAKE_DUE, self._clock.now(), self._kinds, self._batch_size)
            if rows:
                await conn.execute(_SAVEPOINT)
            for row in rows:
                deadline = _deadline(row)
                with bound_contextvars(
                    correlation_id=deadline.correlation_id,
                    deadline=deadline.kind,
                    ref=deadline.ref,
                    generation=deadline.generation,
                ):
                    failure = await self._fire(conn, deadline)
                if failure is None:
                    fired.append((deadline, self._clock.now()))
                else:
                    failures.append(failure)
            marked = (
                await conn.fetch(
                    _MARK_FIRED,
                    [d.kind for d, _ in fired],
                    [d.ref for d, _ in fired],
                    [d.due_at for d, _ in fired],
                    [at for _, at in fired],
                )
                if fired
                else []
            )
        self._count(marked, failures)
        return len(marked)

    async def _fire(self, conn: asyncpg.Connection, deadline: Deadline) -> _Failure | None:
        """Run the deadline's handler in the open savepoint, then open the next one;
        the failure (retried later, or dead) if it raised."""
        failure = None
        try:
            await self._handlers[deadline.kind](conn, deadline)
            log.info("deadline_fired")
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception as exc:
            await conn.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT_NAME}")
            failure = await self._failed(conn, deadline, exc)
        await conn.execute(_NEXT_SAVEPOINT)
        return failure

    async def _failed(
        self, conn: asyncpg.Connection, deadline: Deadline, exc: Exception
    ) -> _Failure:
        attempts = deadline.attempts + 1
        error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS]
        now = self._clock.now()
        if attempts >= self._max_attempts:
            log.error("deadline_dead_lettered", attempts=attempts, exc_info=exc)
            await conn.execute(
                "UPDATE deadlines SET attempts = $3, last_error = $4, dead_at = $5"
                " WHERE kind = $1 AND ref = $2",
                deadline.kind,
                deadline.ref,
                attempts,
                error,
                now,
            )
            return _Failure(deadline.kind, dead=True)
        delay = retry_delay(attempts, initial=self._retry_initial, maximum=self._retry_max)
        log.error(
            "deadline_handler_failed", attempts=attempts, retry_in_seconds=delay, exc_info=exc
        )
        await conn.execute(
            "UPDATE deadlines SET attempts = $3, last_error = $4, run_at = $5"
            " WHERE kind = $1 AND ref = $2",
            deadline.kind,
            deadline.ref,
            attempts,
            error,
            now + timedelta(seconds=delay),
        )
        return _Failure(deadline.kind, dead=False)

    def _count(self, marked: list[asyncpg.Record], failures: list[_Failure]) -> None:
        """Metrics for a committed batch (a rolled-back one counts nothing)."""
        m = self._metrics
        for row in marked:
            m.deadlines_fired.labels(kind=row["kind"]).inc()
            lateness = (row["fired_at"] - row["due_at"]).total_seconds()
            m.deadline_lateness.labels(kind=row["kind"]).observe(lateness)
        for failure in failures:
            m.deadlines_failed.labels(kind=failure.kind).inc()
            if failure.dead:
                m.deadlines_dead_lettered.labels(kind=failure.kind).inc()

    async def maintain(self) -> int:
        """Delete one bounded batch of fired clocks past retention and refresh the
        dead-letter gauge; returns how many were deleted."""
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                _PRUNE, self._clock.now() - self._retention, self._kinds, self._prune_batch
            )
            counts = dict(
                await conn.fetch(
                    "SELECT kind, count(*) FROM deadlines"
                    " WHERE dead_at IS NOT NULL AND kind = ANY($1::text[]) GROUP BY kind",
                    self._kinds,
                )
            )
        for kind in self._kinds:
            self._metrics.deadlines_dead_letters.labels(kind=kind).set(counts.get(kind, 0))
        pruned = int(status.split()[-1])
        self._pruned.labels("deadlines").inc(pruned)
        return pruned
