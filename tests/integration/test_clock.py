"""Durable deadlines in real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from crewline import clock
from crewline.clock import DeadlineClock
from crewline.metrics import Metrics


@pytest.fixture
async def fired(pool: asyncpg.Pool) -> asyncpg.Pool:
    await pool.execute("CREATE TABLE fired (ref text NOT NULL)")
    return pool


async def note(conn: asyncpg.Connection, ref: str) -> None:
    await conn.execute("INSERT INTO fired (ref) VALUES ($1)", ref)


async def schedule(pool: asyncpg.Pool, ref: str, due_at: datetime) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await clock.schedule(conn, kind="test", ref=ref, due_at=due_at)


def make_clock(pool: asyncpg.Pool, metrics: Metrics) -> DeadlineClock:
    return DeadlineClock(pool=pool, handlers={"test": note}, metrics=metrics, batch_size=7)


async def fired_refs(pool: asyncpg.Pool) -> list[str]:
    return sorted(r["ref"] for r in await pool.fetch("SELECT ref FROM fired"))


async def test_two_clocks_fire_each_due_deadline_exactly_once(
    fired: asyncpg.Pool, metrics: Metrics
) -> None:
    now = datetime.now(UTC)
    refs = [f"r{i:03}" for i in range(60)]
    for ref in refs:
        await schedule(fired, ref, now - timedelta(seconds=1))
    clocks = [make_clock(fired, metrics), make_clock(fired, metrics)]
    while sum(await asyncio.gather(*(c.fire_due() for c in clocks))):
        pass
    assert await fired_refs(fired) == refs
    # A new clock (a restart) finds nothing left to fire.
    assert await make_clock(fired, metrics).fire_due() == 0


async def test_future_deadline_waits_and_moving_it_earlier_makes_it_due(
    fired: asyncpg.Pool, metrics: Metrics
) -> None:
    await schedule(fired, "later", datetime.now(UTC) + timedelta(hours=1))
    assert await make_clock(fired, metrics).fire_due() == 0
    await schedule(fired, "later", datetime.now(UTC) - timedelta(seconds=1))
    assert await make_clock(fired, metrics).fire_due() == 1
    assert await fired_refs(fired) == ["later"]


async def test_cancelled_deadline_never_fires_and_fired_one_is_not_rescheduled(
    fired: asyncpg.Pool, metrics: Metrics
) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    await schedule(fired, "cancelled", past)
    async with fired.acquire() as conn:
        await clock.cancel(conn, kind="test", ref="cancelled")
    await schedule(fired, "once", past)
    assert await make_clock(fired, metrics).fire_due() == 1
    await schedule(fired, "once", past)  # already fired: stays fired
    assert await make_clock(fired, metrics).fire_due() == 0
    assert await fired_refs(fired) == ["once"]
