"""Durable deadlines: clocks that live in PostgreSQL, not in memory.

``schedule`` sets (or moves) the clock ``(kind, ref)`` inside the caller's
transaction. ``DeadlineClock`` takes due clocks with ``FOR UPDATE SKIP LOCKED``
(so replicas share the work), runs the kind's handler and marks the clock fired
in the same transaction: a restart loses no deadline and fires none twice.

Each pass the clock gets through is reported to ``WorkerHealth`` as ``ok``; an
unexpected error is a failure, a transient database error is not (the
PostgreSQL probe says that). A handler that fails is retried later and is the
deadline's problem, not the clock's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

import asyncpg

from crewline.aio import Backoff, sleep_unless
from crewline.db import TRANSIENT_DB_ERRORS
from crewline.health import WorkerHealth
from crewline.log import bound_contextvars, current_correlation_id, get_logger
from crewline.metrics import Metrics

log = get_logger(__name__)

_RETRY_FAILED_SECONDS = 30.0

DeadlineHandler = Callable[[asyncpg.Connection, str], Awaitable[None]]


async def schedule(conn: asyncpg.Connection, *, kind: str, ref: str, due_at: datetime) -> None:
    """Set the clock ``(kind, ref)`` to ``due_at``; a clock already fired stays fired."""
    await conn.execute(
        "INSERT INTO deadlines (kind, ref, due_at, correlation_id) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (kind, ref) DO UPDATE SET due_at = EXCLUDED.due_at"
        " WHERE deadlines.fired_at IS NULL",
        kind,
        ref,
        due_at,
        current_correlation_id(),
    )


async def cancel(conn: asyncpg.Connection, *, kind: str, ref: str) -> None:
    """Stop a clock that has not fired."""
    await conn.execute(
        "DELETE FROM deadlines WHERE kind = $1 AND ref = $2 AND fired_at IS NULL", kind, ref
    )


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
        poll_interval: float = 0.05,
        batch_size: int = 100,
        worker_health: WorkerHealth | None = None,
        name: str = "deadline_clock",
    ) -> None:
        self._pool = pool
        self._handlers = dict(handlers)
        self._metrics = metrics
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._name = name
        self._health = worker_health or WorkerHealth(metrics=metrics)
        self._health.register(name)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        backoff = Backoff(initial=self._poll_interval)
        while not self._stopping.is_set():
            try:
                fired = await self.fire_due()
                backoff.reset()
                self._health.ok(self._name)
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("deadline_clock_db_unavailable", error=repr(exc))
                fired = 0
            except Exception as exc:
                # The batch rolled back: its deadlines are still due and fire on a later pass.
                log.exception("deadline_clock_error")
                self._health.failed(self._name, exc)
                fired = 0
            if fired == 0:
                await sleep_unless(self._stopping, backoff.next())

    async def fire_due(self) -> int:
        """Fire one batch of due deadlines in one transaction; returns how many fired."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT kind, ref, correlation_id FROM deadlines"
                " WHERE fired_at IS NULL AND due_at <= now() AND kind = ANY($1::text[])"
                " ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
                list(self._handlers),
                self._batch_size,
            )
            fired = []
            for row in rows:
                kind, ref = row["kind"], row["ref"]
                correlation_id = row["correlation_id"]
                with bound_contextvars(correlation_id=correlation_id, deadline=kind, ref=ref):
                    if await self._fire(conn, kind, ref):
                        fired.append(kind)
        for kind in fired:
            self._metrics.deadlines_fired.labels(kind=kind).inc()
        return len(fired)

    async def _fire(self, conn: asyncpg.Connection, kind: str, ref: str) -> bool:
        """Run the deadline's handler; False (and retry later) when it failed."""
        try:
            async with conn.transaction():  # a savepoint: one bad deadline spoils no other
                await self._handlers[kind](conn, ref)
                await conn.execute(
                    "UPDATE deadlines SET fired_at = now() WHERE kind = $1 AND ref = $2", kind, ref
                )
            log.info("deadline_fired")
            return True
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception:
            log.exception("deadline_handler_failed", retry_in_seconds=_RETRY_FAILED_SECONDS)
            await conn.execute(
                "UPDATE deadlines SET due_at = now() + make_interval(secs => $3)"
                " WHERE kind = $1 AND ref = $2",
                kind,
                ref,
                _RETRY_FAILED_SECONDS,
            )
            return False
