"""The quality consumer's throughput for scored gold answers, beside a bare asyncpg loop
issuing the same statements (goal: at least 0.5x).

The gold is real: a project with a five-field answer spec (``bench.answers_seed``) and
GOLD_TASKS gold tasks added through AddGoldTasks on the running stack. The quality
process measured is a second one, started here with the running one's command and
environment but its own database (DATABASE: the project's and its gold's rows copied
in) and its own Kafka topic namespace: it is then the only consumer of the events
published to it, and nothing else on the stack reacts to them. Each answer is a gold
instance (one contractor's issued gold task, claimed: seeded by SQL, as ClaimGranted
would leave it) and its WorkSubmitted (the kernel's ``wrap``, keyed by task id as the
matcher's relay publishes it) on the namespace's crewline.claims.v1. Half the answers
are right; the score's value moves at most answers, so most publish ScoreChanged.

Timed: blocks of BLOCK answers. A block's WorkSubmitted are published while the process
is stopped (SIGSTOP), so they wait as a backlog; the clock runs from SIGCONT until every
answer is in ``gold_answers`` (polled every POLL seconds), so it counts the consumer's
own rate (its groups of up to 100 records of a partition in a transaction), not the
publisher's; then the outbox relay is let finish (untimed). WARMUP answers first,
unmeasured.

The baseline (``bench.gold_raw``): the statements of one answer's transaction captured
from PostgreSQL's log in an earlier run of the same process (``log_statement = all``
on its database only, then reset before the timed process starts, so its connections
log nothing), replayed for fresh answers by a bare asyncpg loop on one connection, 100
answers a transaction, in blocks of BLOCK (the first 100 unmeasured), on the same
database while the process idles. The two sides' blocks alternate (ABBA), ROUNDS each,
so the drift of a shared machine falls on both alike. Per side: answers per second,
CPU per answer of its Python process and of PostgreSQL, and the host's other work.

With PYSPY=<py-spy> (and without --no-profile): a further PROFILED answers consumed
under py-spy (200 Hz); the functions with the most samples.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

import asyncpg

from bench import gold_raw
from bench.claims import _profile, summarize_profile
from bench.common import HOME, CpuMeter, HostShare, Stack, Summary, cpu_seconds, wait_quiet
from bench.gold_seed import (
    DATABASE,
    Process,
    Stage,
    admin,
    answers,
    backlog,
    copy_gold,
    count,
    fresh_database,
    pg,
    publish,
    quality_process,
    seed,
    stage,
    wait_answered,
)
from crewline.events import ALL_TOPICS, QUALITY_TOPIC, parse_envelope
from crewline.kafka import ensure_topics
from crewline.settings import KafkaSettings
from crewline.v1 import events_pb2

ROUNDS, BLOCK = 4, 4_000  # blocks of answers a side, alternating (ABBA)
WARMUP = 1_000
PROFILED = 6_000
QUIET_TIMEOUT = 30.0  # other work may share the CPUs: never wait for quiet longer
CONSUMER = "quality"  # the consumer group's name (the inbox's consumer column)


# --- the run ---------------------------------------------------------------------------


async def capture(proc: Process, kafka: KafkaSettings, stack: Stack, stg: Stage) -> list[str]:
    """One answer scored with every statement logged; its transaction's statements."""
    one = answers(stack, stg, 1, "capture")
    await seed(one)
    log = HOME / "log" / "postgres.log"
    offset = log.stat().st_size
    await publish(kafka, one)
    await wait_answered(1, timeout=60)
    await asyncio.sleep(1.0)  # the log written
    return gold_raw.captured(log, offset, DATABASE)


async def _envelope() -> bytes:
    """A ScoreChanged envelope the process wrote (the replay's outbox rows)."""
    conn = await asyncpg.connect(pg(DATABASE).dsn)
    try:
        rows = await conn.fetch(
            "SELECT envelope FROM outbox WHERE topic = $1 ORDER BY id DESC LIMIT 10", QUALITY_TOPIC
        )
    finally:
        await conn.close()
    wanted = events_pb2.ScoreChanged.DESCRIPTOR.full_name
    return next(bytes(r["envelope"]) for r in rows if parse_envelope(r["envelope"]).type == wanted)


@dataclass
class Side:
    """One side's timed blocks: answers, seconds, CPU seconds (its own Python process,
    and PostgreSQL's), and the host's CPU seconds outside this stack meanwhile."""

    answers: int = 0
    seconds: float = 0.0
    python: float = 0.0
    postgres: float = 0.0
    others: float = 0.0
    rates: list[float] = field(default_factory=list)

    def add(
        self, count: int, seconds: float, python: float, meter: CpuMeter, host: HostShare
    ) -> None:
        self.answers += count
        self.seconds += seconds
        self.python += python
        self.postgres += sum(s for r, s in meter.seconds.items() if r.startswith("PostgreSQL"))
        self.others += host.others
        self.rates.append(count / seconds)

    def show(self) -> str:
        n = self.answers
        return (
            f"{n / self.seconds:,.0f}/s ({n:,} in {self.seconds:.1f} s; blocks"
            f" {', '.join(f'{r:,.0f}' for r in self.rates)}); CPU per answer:"
            f" Python {1000 * self.python / n:.2f} ms, PostgreSQL {1000 * self.postgres / n:.2f}"
            f" ms; other work on the host {self.others / self.seconds:.2f} cores"
        )


async def _service_block(
    proc: Process, kafka: KafkaSettings, batch: list[gold_raw.Answer], into: Side
) -> None:
    before = await count()
    cpu = cpu_seconds(proc.pid)
    with CpuMeter("bench") as meter, HostShare() as host:
        resumed = await backlog(proc, kafka, batch)
        done = await wait_answered(before + len(batch))
    into.add(len(batch), done - resumed, cpu_seconds(proc.pid) - cpu, meter, host)
    await _drained()


async def _raw_block(plan: Replay, batch: list[gold_raw.Answer], into: Side) -> None:
    """The bare loop on a connection of its own, warmed (its statements prepared) by
    the first answers of the batch, untimed; its backend is counted as PostgreSQL's."""
    conn = await asyncpg.connect(pg(DATABASE).dsn)
    try:
        warm, timed = batch[: gold_raw.GROUP], batch[gold_raw.GROUP :]
        await gold_raw.replay(conn, plan.inbox, plan.steps, warm, CONSUMER)
        own = time.process_time()
        with CpuMeter("bench") as meter, HostShare() as host:
            seconds = await gold_raw.replay(conn, plan.inbox, plan.steps, timed, CONSUMER)
        into.add(len(timed), seconds, time.process_time() - own, meter, host)
    finally:
        await conn.close()


@dataclass(frozen=True)
class Replay:
    inbox: str
    steps: list[gold_raw.Step]


async def _drained(timeout: float = 60.0) -> None:
    """Until the process's outbox relay has sent every ScoreChanged (its work belongs to
    its block, not the next)."""
    conn = await asyncpg.connect(pg(DATABASE).dsn)
    try:
        deadline = time.monotonic() + timeout
        while await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            if time.monotonic() > deadline:
                raise TimeoutError("the bench's quality process did not relay its outbox")
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def run(stack: Stack, summary: Summary, *, profile: bool = True) -> None:
    stg = await stage(stack)
    namespace = f"bench-gold-{stack.run_id}."
    kafka = KafkaSettings(bootstrap_servers=stack.kafka_bootstrap, namespace=namespace)
    await ensure_topics(kafka, ALL_TOPICS)
    await fresh_database()
    await admin(f"ALTER DATABASE {DATABASE} SET log_statement = 'all'")
    async with quality_process(namespace, 1) as proc:
        await copy_gold(stg)
        statements = await capture(proc, kafka, stack, stg)
    await admin(f"ALTER DATABASE {DATABASE} RESET log_statement")
    print(f"gold: one answer's transaction, as PostgreSQL logged it: {len(statements)} statements")
    for sql in statements:
        print("    " + " ".join(sql.split())[:150])
    service, raw = Side(), Side()
    async with quality_process(namespace, 2) as proc:
        await wait_quiet(timeout=QUIET_TIMEOUT)
        warm = answers(stack, stg, WARMUP, "warm")
        await seed(warm)
        await _service_block(proc, kafka, warm, Side())  # its connections and caches warmed
        replay = Replay(
            inbox=next(s for s in statements if "INSERT INTO inbox" in s),
            steps=gold_raw.plan(statements, await _envelope()),
        )
        for k in range(ROUNDS):
            for name in ("service", "raw") if k % 2 == 0 else ("raw", "service"):
                batch = answers(stack, stg, BLOCK, f"{name}{k}")
                await seed(batch)
                side = service if name == "service" else raw
                if side is service:
                    await _service_block(proc, kafka, batch, side)
                else:
                    await _raw_block(replay, batch, side)
                print(f"gold: block {k + 1}, {name}: {side.rates[-1]:,.0f}/s")
        if profile and os.environ.get("PYSPY"):
            await _profiled(proc, kafka, stack, stg)
    ratios = [a / b for a, b in zip(service.rates, raw.rates, strict=True)]
    summary.add(
        f"quality consumer, scored gold answers/s, backlogs of {BLOCK:,} WorkSubmitted"
        f" (Kafka to gold_answers), {ROUNDS} blocks",
        service.show(),
    )
    summary.add(
        f"the same {len(replay.steps) + 1} statements an answer, bare asyncpg loop, one"
        f" connection, {gold_raw.GROUP} a transaction, {ROUNDS} blocks between them",
        raw.show(),
    )
    summary.add(
        "quality consumer / bare loop",
        f"{service.answers / service.seconds / (raw.answers / raw.seconds):.2f}x (blocks side by"
        f" side: {', '.join(f'{r:.2f}' for r in ratios)})",
        "goal >= 0.5x",
    )
    await admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


async def _profiled(proc: Process, kafka: KafkaSettings, stack: Stack, stg: Stage) -> None:
    batch = answers(stack, stg, PROFILED, "profiled")
    await seed(batch)
    before = await count()
    raw = HOME / "bench" / "gold.pyspy.txt"
    raw.parent.mkdir(parents=True, exist_ok=True)
    await backlog(proc, kafka, batch)
    spy = _profile(proc.pid, 10, raw)
    await wait_answered(before + PROFILED)
    if spy is not None and await asyncio.to_thread(spy.wait) == 0 and raw.exists():
        print(f"gold: py-spy of the quality process ({raw}):")
        print(summarize_profile(raw))
