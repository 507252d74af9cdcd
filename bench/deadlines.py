"""Deadline firing lateness with two replicas, beside pgbench running the firing SQL.

100,000 deadlines come due at their natural rate, evenly over 80 s, in a database of
the bench's own on the stack's PostgreSQL. Two worker processes (``python -m
bench.deadlines worker DSN N``), each the kernel's ``DeadlineClock`` on the system
clock as the dispatcher runs it (batch 50, poll 50 ms, INFO logs), fire them. The
handler does nothing but write the deadline to a log table in the firing transaction,
so a deadline fired twice would show as two rows. Lateness is ``fired_at - due_at``,
both from the table (``fired_at`` is the clock's time as the handler returned; the
batch commits a few milliseconds later).

The baseline, in the same run: pgbench with two clients running the batch statement
the clock is built on (take 50 due deadlines ``FOR UPDATE SKIP LOCKED`` and mark them
fired) over 100,000 deadlines all due: the raw rate PostgreSQL allows, to set beside
the 1,250/s the clock must keep up with.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.common import HOME, Summary, cpu_seconds
from crewline.clock import Deadline, DeadlineClock
from crewline.db import KERNEL_MIGRATIONS, create_pool, migrate
from crewline.log import configure_logging
from crewline.metrics import Metrics
from crewline.settings import PostgresSettings, ServiceSettings
from crewline.timekeeping import SystemClock

DEADLINES = 100_000
SPREAD = 80.0  # seconds over which they come due: 1,250 a second
LEAD = 3.0  # seconds from seeding to the first due time
WORKERS = 2
BATCH = 50  # DeadlineClock's default
KIND = "bench"
DATABASE = "crewline_bench_deadlines"

PGBENCH_SCRIPT = f"""\
WITH due AS (
    SELECT kind, ref FROM deadlines
    WHERE fired_at IS NULL AND dead_at IS NULL AND run_at <= now() AND kind = ANY('{{{KIND}}}')
    ORDER BY run_at LIMIT {BATCH} FOR UPDATE SKIP LOCKED)
UPDATE deadlines d SET fired_at = now() FROM due WHERE d.kind = due.kind AND d.ref = due.ref;
"""


def bench_postgres() -> PostgresSettings:
    """The stack's PostgreSQL (as the dispatcher reaches it), in the bench's own database."""
    dispatcher = ServiceSettings.from_env(name="dispatcher", grpc_port=50051, metrics_port=9101)
    pg = dispatcher.postgres
    return PostgresSettings(
        host=pg.host, port=pg.port, user=pg.user, password=pg.password, database=DATABASE
    )


async def fresh_database(pg: PostgresSettings) -> None:
    admin = await asyncpg.connect(pg.dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await admin.close()
    pool = await create_pool(pg)
    try:
        await migrate(pool, component="kernel", directory=KERNEL_MIGRATIONS)
        await pool.execute(
            "CREATE TABLE bench_fired (ref text NOT NULL, worker integer NOT NULL);"
            " CREATE TABLE bench_ready (worker integer PRIMARY KEY)"
        )
    finally:
        await pool.close()


async def seed(conn: asyncpg.Connection, first_due: datetime, spread: float) -> None:
    """DEADLINES pending deadlines, due evenly from ``first_due`` over ``spread`` seconds."""
    await conn.execute(
        "INSERT INTO deadlines (kind, ref, due_at, run_at, correlation_id)"
        " SELECT $1, 'd' || i, at, at, 'bench' FROM generate_series(0, $2::integer - 1) i,"
        " LATERAL (SELECT $3::timestamptz + make_interval(secs => i * $4::float8)) t(at)",
        KIND,
        DEADLINES,
        first_due,
        spread / DEADLINES,
    )
    await conn.execute("VACUUM ANALYZE deadlines")


async def worker(dsn: str, index: int) -> None:
    """One replica: a DeadlineClock firing KIND until SIGTERM."""
    configure_logging(service=f"bench-deadlines-{index}", log_format="json", level=logging.INFO)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None

    async def note(conn: asyncpg.Connection, d: Deadline) -> None:
        await conn.execute("INSERT INTO bench_fired (ref, worker) VALUES ($1, $2)", d.ref, index)

    ticker = DeadlineClock(
        pool=pool,
        handlers={KIND: note},
        metrics=Metrics.create("bench"),
        clock=SystemClock(),
        batch_size=BATCH,
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, ticker.stop)
    await pool.execute("INSERT INTO bench_ready VALUES ($1)", index)
    await ticker.run()
    await pool.close()


async def wait_for(conn: asyncpg.Connection, query: str, wanted: int, timeout: float) -> int:
    started = time.monotonic()
    while (found := int(await conn.fetchval(query))) < wanted:
        if time.monotonic() - started > timeout:
            break
        await asyncio.sleep(0.5)
    return found


@dataclass(frozen=True)
class Firing:
    p50_ms: float
    p99_ms: float
    max_ms: float
    fired: int
    fired_twice: int  # deadlines with more than one row in the log table
    shares: str  # how many each replica fired
    cpu_seconds: list[float]  # each replica's, from start to the last deadline
    load: float  # the host's 1-minute load average as the last deadline fired


async def measure(conn: asyncpg.Connection, procs: list[subprocess.Popen[bytes]]) -> Firing:
    row = await conn.fetchrow(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l) p50,"
        " percentile_cont(0.99) WITHIN GROUP (ORDER BY l) p99, max(l) mx, count(*) n"
        " FROM (SELECT extract(epoch FROM fired_at - due_at) * 1000 l FROM deadlines"
        " WHERE kind = $1 AND fired_at IS NOT NULL) x",
        KIND,
    )
    twice = await conn.fetchval(
        "SELECT count(*) FROM (SELECT ref FROM bench_fired GROUP BY ref HAVING count(*) > 1) x"
    )
    split = await conn.fetch("SELECT worker, count(*) FROM bench_fired GROUP BY 1 ORDER BY 1")
    return Firing(
        p50_ms=float(row["p50"]),
        p99_ms=float(row["p99"]),
        max_ms=float(row["mx"]),
        fired=int(row["n"]),
        fired_twice=int(twice),
        shares=" / ".join(f"{r['count']:,}" for r in split),
        cpu_seconds=[cpu_seconds(p.pid) for p in procs],
        load=os.getloadavg()[0],
    )


def spawn_workers(dsn: str) -> list[subprocess.Popen[bytes]]:
    """The replicas, each logging to .local/bench/deadlines-worker-N.log."""
    logs = HOME / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    procs = []
    for n in range(WORKERS):
        with open(logs / f"deadlines-worker-{n}.log", "wb") as log:
            command = [sys.executable, "-m", "bench.deadlines", "worker", dsn, str(n)]
            procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


async def fire_with_replicas(pg: PostgresSettings) -> Firing:
    procs = spawn_workers(pg.dsn)
    conn = await asyncpg.connect(pg.dsn)
    try:
        if await wait_for(conn, "SELECT count(*) FROM bench_ready", WORKERS, 60) < WORKERS:
            raise RuntimeError(f"workers did not start; see {HOME}/bench/deadlines-worker-*.log")
        await seed(conn, datetime.now(UTC) + timedelta(seconds=LEAD), SPREAD)
        print(f"deadlines: {DEADLINES:,} coming due over {SPREAD:.0f}s, {WORKERS} replicas")
        await wait_for(conn, "SELECT count(*) FROM bench_fired", DEADLINES, LEAD + SPREAD + 120)
        await asyncio.sleep(1.0)  # anything fired twice would land by now
        return await measure(conn, procs)
    finally:
        await conn.close()
        stop_workers(procs)


async def pgbench_rate(pg: PostgresSettings) -> float:
    """Deadlines/s pgbench marks fired with the batch statement, two clients, all due."""
    conn = await asyncpg.connect(pg.dsn)
    try:
        await conn.execute("TRUNCATE deadlines")
        await seed(conn, datetime.now(UTC) - timedelta(hours=1), 1.0)
    finally:
        await conn.close()
    per_client = DEADLINES // BATCH // WORKERS
    command = ["pgbench", "-h", pg.host, "-p", str(pg.port), "-U", pg.user, "-n", "-M", "prepared"]
    command += ["-c", str(WORKERS), "-j", str(WORKERS), "-t", str(per_client)]
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(PGBENCH_SCRIPT)
        script.flush()
        out = await asyncio.to_thread(
            subprocess.run,
            [*command, "-f", script.name, DATABASE],
            capture_output=True,
            text=True,
            check=True,
        )
    tps = next(
        float(line.split()[2])
        for line in out.stdout.splitlines()
        if line.startswith("tps =") and "without initial connection time" in line
    )
    conn = await asyncpg.connect(pg.dsn)
    try:
        left = await conn.fetchval("SELECT count(*) FROM deadlines WHERE fired_at IS NULL")
    finally:
        await conn.close()
    if left:
        raise RuntimeError(f"pgbench left {left} deadlines unfired")
    return tps * BATCH


async def run(summary: Summary) -> None:
    pg = bench_postgres()
    await fresh_database(pg)
    f = await fire_with_replicas(pg)
    print("deadlines: pgbench")
    rate = await pgbench_rate(pg)
    summary.add(
        f"Deadline lateness, {DEADLINES:,} due over {SPREAD:.0f}s, {WORKERS} replicas",
        f"p50 {f.p50_ms:.0f} ms, p99 {f.p99_ms:.0f} ms (goal < 250), max {f.max_ms:.0f} ms;"
        f" {f.fired:,} fired ({f.shares}), {f.fired_twice} twice",
        f"pgbench batch statement {rate:,.0f} deadlines/s, {WORKERS} clients"
        f" (needed: {DEADLINES / SPREAD:,.0f}/s)",
    )
    cpu = " / ".join(f"{c:.1f}" for c in f.cpu_seconds)
    summary.note(
        f"deadlines: the replicas used {cpu} CPU-seconds over the {SPREAD:.0f}s; host load"
        f" average {f.load:.1f} on {os.cpu_count()} CPUs as the last one fired"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        asyncio.run(worker(sys.argv[2], int(sys.argv[3])))
    else:
        asyncio.run(run(Summary()))
