"""Lifecycle cost: a heartbeat, a release, a cancel and a task's end must cost the same
with 1,000 open tasks (each with a live claim) as with 100,000 (issue 7: no scans on a
hot path).

One client, one project, CALLERS contractors with real tokens. Each phase submits
SMALL tasks through SubmitTasks and claims each once through ClaimTask; then, one call
at a time, after WARMUP unmeasured ones, CALLS of each:

- HeartbeatClaim on live claims (the matcher; its ClaimExtended moves the dispatcher's
  lease clock asynchronously);
- ReleaseClaim on those claims (a claim's end: the matcher frees the slot);
- CancelTask on other claimed tasks (the dispatcher; the matcher cuts the claims
  asynchronously);
- UpdateTaskLifetime shortening other claimed tasks to SHORT s from now (the
  dispatcher's lifetime clock is moved); the clock then fires each, and its lateness
  (fired_at - due_at, by the service's own clock, polling every 50 ms) is read back;
- the dispatcher's task-lifetime handler (``task_lifetime_ended``, the service's own
  function) run here on the stack's database for other claimed tasks, in a transaction
  like the clock's: the clock's row locked, the handler, the fired mark, the commit.

Three phases: 1k (the stack as it is: a fresh one holds only these), 100k, and 1k
again after the seeded rows are deleted (how much a figure moves with nothing
changed). Before the 100k phase, BIG - SMALL claimed tasks are inserted by SQL
(ingesting them through Kafka takes minutes), copied from a real claimed task of the
same project: in the dispatcher a task row, its claim_leases row, its two pending
clocks (lifetime in 7 days, lease in a day) and two Watch events; in the matcher an
open_tasks row and a live claim (FILLER_CONTRACTORS contractor ids). Right after
seeding, the handler is timed once more (before VACUUM: see ``_before_vacuum``); then
the seeded tables are vacuumed and analyzed, as autovacuum leaves them. Each phase
starts with a CHECKPOINT. The seeded rows are deleted at the end, and the bench's
own claims released and tasks cancelled.

The matcher's and dispatcher's event-handling histograms (their /metrics) give the
asynchronous halves: bucket bounds of the p50 and p99 over each phase. EXPLAIN ANALYZE
of the hot statements at 100k shows which index each uses.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client.parser import text_string_to_metric_families

from bench.common import (
    Stack,
    Summary,
    new_client,
    new_contractors,
    percentile,
    submit_tasks,
    task_specs,
    wait_pooled,
    wait_quiet,
)
from bench.fanout import GOOD, define_score_type, grant, qualified_project, wait_eligible
from crewline.client.metadata import bearer_metadata
from crewline.clock import Deadline
from crewline.log import bound_contextvars
from crewline.settings import ServiceSettings
from crewline.timekeeping import SystemClock
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api
from dispatcher.deps import Deps
from dispatcher.handlers.deadlines import task_lifetime_ended
from dispatcher.handlers.tasks import TASK_LIFETIME
from dispatcher.settings import DispatcherSettings
from tools.demo_rpc import Metadata, bounded, call

SMALL, BIG = 1_000, 100_000  # open tasks, each with a live claim
CALLERS = 40  # each holds at most 100 live claims; every phase leaves some live
CALLS, WARMUP = 200, 20
FILLER_CONTRACTORS = 10_000  # the seeded claims' contractor ids (no rows: nothing joins them)
SHORT = 2.0  # UpdateTaskLifetime's new end, seconds from now (the local floor is 1 s)
SETUP_IN_FLIGHT = 16
QUIET_TIMEOUT = 15.0  # the test suite may share the CPUs: never wait for quiet longer
MEASURES = ("HeartbeatClaim", "ReleaseClaim", "CancelTask", "UpdateTaskLifetime")
HANDLER = "task-lifetime handler"
LATENESS = "lifetime clock lateness"
# (service, event type): the asynchronous halves, from the services' histograms.
HANDLED = (
    ("dispatcher", "ClaimExtended"),
    ("dispatcher", "ClaimEnded"),
    ("matcher", "TaskChanged"),
)


@dataclass(frozen=True)
class Setup:
    client: Metadata
    project: str
    callers: list[Metadata]
    dispatcher_dsn: str
    metrics: dict[str, str]  # service -> /metrics URL
    deps: Deps  # the dispatcher's, for its handler run here


@dataclass
class Phase:
    """One phase's real tasks (claims[i] is of tasks[i], by callers[i % CALLERS])."""

    tasks: list[str]
    claims: list[str]
    counts: str = ""  # open tasks and live claims in both databases at its start
    results: dict[str, list[float]] = field(default_factory=dict)
    handled: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Filler:
    tasks: list[uuid.UUID]
    claims: list[uuid.UUID]
    watch_ids: tuple[int, int]  # the Watch events' id range


def _pct(ms: Sequence[float]) -> str:
    return f"p50 {percentile(ms, 50):.2f} ms, p99 {percentile(ms, 99):.2f} ms"


def _short(ms: Sequence[float]) -> str:
    return f"{percentile(ms, 50):.2f}/{percentile(ms, 99):.2f}"


async def _setup(stack: Stack) -> Setup:
    qualification = stack.name("lc-q")
    await define_score_type(stack, qualification)
    ids = [stack.name(f"lc-caller{i}") for i in range(CALLERS)]
    tokens = await new_contractors(stack, ids, max_concurrent_claims=100)
    await grant(stack, [(c, qualification, GOOD) for c in ids])
    client = await new_client(stack, stack.name("lc-client"))
    project = await qualified_project(stack, client, stack.name("lc-project"), qualification)
    await wait_eligible(stack, project, CALLERS)
    settings = DispatcherSettings.from_env()
    matcher = ServiceSettings.from_env(name="matcher", grpc_port=50052, metrics_port=9102)
    pool = await asyncpg.create_pool(settings.service.postgres.dsn, min_size=1, max_size=2)
    return Setup(
        client=client,
        project=project,
        callers=[bearer_metadata(t) for t in tokens],
        dispatcher_dsn=settings.service.postgres.dsn,
        metrics={
            "dispatcher": _metrics_url(settings.service),
            "matcher": _metrics_url(matcher),
        },
        deps=Deps.build(pool=pool, clock=SystemClock(), settings=settings),
    )


def _metrics_url(service: ServiceSettings) -> str:
    return f"http://{service.metrics_host}:{service.metrics_port}/metrics"


async def _new_phase(stack: Stack, setup: Setup, name: str) -> Phase:
    """SMALL tasks through SubmitTasks, each claimed once through ClaimTask; returns
    when the dispatcher holds every claim's lease."""
    specs = task_specs(stack.name(f"lc-{name}"), SMALL, slots=1)
    tasks = await submit_tasks(stack, setup.client, setup.project, specs)
    await wait_pooled(stack, tasks)
    work = stack.work()

    async def claim(i: int, task_id: str) -> str:
        reply: work_api.ClaimTaskResponse = await call(
            work.ClaimTask,
            work_api.ClaimTaskRequest(request_id=f"lc-{name}-{i}", task_id=task_id),
            setup.callers[i % CALLERS],
        )
        return str(reply.claim.claim_id)

    claims = await bounded((claim(i, t) for i, t in enumerate(tasks)), SETUP_IN_FLIGHT)
    conn = await asyncpg.connect(setup.dispatcher_dsn)
    try:
        wanted = [uuid.UUID(c) for c in claims]
        deadline = time.monotonic() + 120
        while True:
            found = await conn.fetchval(
                "SELECT count(*) FROM claim_leases WHERE claim_id = ANY($1::uuid[])", wanted
            )
            if found == len(wanted):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the dispatcher holds {found} of {len(wanted)} leases")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    return Phase(tasks=tasks, claims=claims)


async def _tidy(stack: Stack, setup: Setup, phases: Sequence[Phase]) -> None:
    """Leave the stack as found: release each claim still live and cancel each task still
    open (through the RPCs), so a later run's small phase holds only its own."""
    work, tasks = stack.work(), stack.tasks

    async def settled(rpc: Awaitable[object]) -> None:
        try:
            await rpc
        except grpc.aio.AioRpcError as err:  # ended or finished already
            if err.code() not in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
                raise

    releases = (
        settled(
            call(
                work.ReleaseClaim,
                work_api.ReleaseClaimRequest(claim_id=c),
                setup.callers[i % CALLERS],
            )
        )
        for p in phases
        for i, c in enumerate(p.claims)
    )
    await bounded(releases, SETUP_IN_FLIGHT)
    cancels = (
        settled(
            call(
                tasks.CancelTask,
                task_api.CancelTaskRequest(task_id=t, reason="bench done"),
                setup.client,
            )
        )
        for p in phases
        for t in p.tasks
    )
    await bounded(cancels, SETUP_IN_FLIGHT)


async def _counts(stack: Stack, setup: Setup) -> str:
    d = await asyncpg.connect(setup.dispatcher_dsn)
    m = await asyncpg.connect(stack.matcher_dsn)
    try:
        tasks = await d.fetchval(
            "SELECT count(*) FROM tasks WHERE status IN ('open', 'in_progress')"
        )
        leases = await d.fetchval("SELECT count(*) FROM claim_leases WHERE state = 'live'")
        pending = await d.fetchval(
            "SELECT count(*) FROM deadlines WHERE fired_at IS NULL AND dead_at IS NULL"
        )
        pool = await m.fetchval("SELECT count(*) FROM open_tasks WHERE lifecycle = 'live'")
        live = await m.fetchval("SELECT count(*) FROM claims WHERE status = 'active'")
    finally:
        await d.close()
        await m.close()
    return (
        f"dispatcher: {tasks:,} open tasks, {leases:,} live leases, {pending:,} pending clocks;"
        f" matcher: {pool:,} live tasks, {live:,} live claims"
    )


async def _timed(calls: Sequence[Callable[[], Awaitable[float | None]]]) -> list[float]:
    """Runs the calls one after another; the latencies of all but the first WARMUP, in
    ms. A call that returns a figure is timed by itself (ms)."""
    out: list[float] = []
    for n, make in enumerate(calls):
        started = time.perf_counter()
        own = await make()
        took = own if own is not None else (time.perf_counter() - started) * 1000
        if n >= WARMUP:
            out.append(took)
    return out


async def _handler(setup: Setup, task_id: str) -> float:
    """The dispatcher's task-lifetime handler for one task, as its clock runs it: the
    clock's row locked, the handler, the fired mark, the commit. The ms from the
    handler's start to the commit's end (finding the due clock is the clock's poll)."""
    async with setup.deps.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            row = await conn.fetchrow(
                "SELECT kind, ref, generation, due_at, attempts, correlation_id FROM deadlines"
                " WHERE kind = $1 AND ref = $2 AND fired_at IS NULL AND dead_at IS NULL"
                " FOR UPDATE",
                TASK_LIFETIME,
                task_id,
            )
            if row is None:
                raise RuntimeError(f"task {task_id} has no pending lifetime clock")
            deadline = Deadline(**dict(row))
            started = time.perf_counter()
            with bound_contextvars(correlation_id=deadline.correlation_id):
                await task_lifetime_ended(conn, deadline, deps=setup.deps)
            await conn.execute(
                "UPDATE deadlines SET fired_at = $3 WHERE kind = $1 AND ref = $2",
                TASK_LIFETIME,
                task_id,
                setup.deps.clock.now(),
            )
        except BaseException:
            await tx.rollback()
            raise
        await tx.commit()
        return (time.perf_counter() - started) * 1000


async def _histograms(setup: Setup) -> dict[tuple[str, str], dict[float, float]]:
    """Each (service, event type)'s cumulative event-handling bucket counts, by bound."""

    def fetch(url: str) -> str:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return str(reply.read().decode())

    out: dict[tuple[str, str], dict[float, float]] = {}
    for service, url in setup.metrics.items():
        text = await asyncio.to_thread(fetch, url)
        for family in text_string_to_metric_families(text):
            if family.name != f"crewline_{service}_event_handling_seconds":
                continue
            for sample in family.samples:
                if not sample.name.endswith("_bucket"):
                    continue
                key = (service, sample.labels["type"].removeprefix("crewline.v1."))
                bound = float(sample.labels["le"])
                out.setdefault(key, {})
                out[key][bound] = out[key].get(bound, 0.0) + sample.value
    return out


def _bucket_pct(before: dict[float, float], after: dict[float, float]) -> str:
    """The p50 and p99 of the events handled between two scrapes, as the bounds (ms) of
    the buckets they fall in, and how many were handled."""
    delta = {b: after.get(b, 0.0) - before.get(b, 0.0) for b in after}
    bounds = sorted(delta)
    total = delta[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return "none handled"

    def at(q: float) -> str:
        for b in bounds:
            if delta[b] >= q * total:
                return ">10000" if b == float("inf") else f"<={b * 1000:g}"
        return "?"

    return f"{at(0.5)}/{at(0.99)} ms (n={total:.0f})"


async def _lateness(setup: Setup, task_ids: Sequence[str]) -> list[float]:
    """fired_at - due_at (ms) of the tasks' lifetime clocks, once all have fired."""
    conn = await asyncpg.connect(setup.dispatcher_dsn)
    try:
        deadline = time.monotonic() + SHORT + 60
        while True:
            rows = await conn.fetch(
                "SELECT ref, extract(epoch FROM fired_at - due_at) * 1000 AS late"
                " FROM deadlines WHERE kind = $1 AND ref = ANY($2::text[])"
                " AND fired_at IS NOT NULL",
                TASK_LIFETIME,
                list(task_ids),
            )
            if len(rows) == len(task_ids):
                late = {r["ref"]: float(r["late"]) for r in rows}
                return [late[t] for t in task_ids[WARMUP:]]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(rows)} of {len(task_ids)} lifetime clocks fired")
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def _checkpoint(setup: Setup) -> None:
    """Write out what is dirty (both databases share one cluster), so that neither phase
    pays for the writes before it: seeding writes some 500 MB of WAL, which otherwise
    sets off checkpoints that slow every commit's WAL flush while the phase runs."""
    conn = await asyncpg.connect(setup.dispatcher_dsn)
    try:
        await conn.execute("CHECKPOINT")
    except asyncpg.InsufficientPrivilegeError:
        print("lifecycle: no CHECKPOINT (needs a superuser or pg_checkpoint)")
    finally:
        await conn.close()


async def _measure(stack: Stack, setup: Setup, phase: Phase) -> None:
    n = WARMUP + CALLS
    assert 4 * n <= len(phase.tasks), "each task is measured once"
    work, tasks = stack.work(), stack.tasks
    beat = phase.claims[:n]  # heartbeated, then released
    cancel = phase.tasks[n : 2 * n]
    shorten = phase.tasks[2 * n : 3 * n]
    end = phase.tasks[3 * n : 4 * n]

    async def heartbeat(i: int) -> None:
        await work.HeartbeatClaim(
            work_api.HeartbeatClaimRequest(claim_id=beat[i], worked_seconds=0),
            metadata=setup.callers[i % CALLERS],
            timeout=10,
        )

    async def release(i: int) -> None:
        await work.ReleaseClaim(
            work_api.ReleaseClaimRequest(claim_id=beat[i]),
            metadata=setup.callers[i % CALLERS],
            timeout=10,
        )

    async def cancelling(task_id: str) -> None:
        await tasks.CancelTask(
            task_api.CancelTaskRequest(task_id=task_id, reason="bench"),
            metadata=setup.client,
            timeout=10,
        )

    async def lifetime(task_id: str) -> None:
        at = Timestamp()
        at.FromDatetime(datetime.now(UTC) + timedelta(seconds=SHORT))
        await tasks.UpdateTaskLifetime(
            task_api.UpdateTaskLifetimeRequest(task_id=task_id, expires_at=at),
            metadata=setup.client,
            timeout=10,
        )

    phase.counts = await _counts(stack, setup)
    print(f"lifecycle: {phase.counts}")
    await _checkpoint(setup)
    await wait_quiet(timeout=QUIET_TIMEOUT)
    before = await _histograms(setup)
    r = phase.results
    r["HeartbeatClaim"] = await _timed([partial(heartbeat, i) for i in range(n)])
    await wait_quiet(timeout=QUIET_TIMEOUT)
    r["ReleaseClaim"] = await _timed([partial(release, i) for i in range(n)])
    await wait_quiet(timeout=QUIET_TIMEOUT)
    r["CancelTask"] = await _timed([partial(cancelling, t) for t in cancel])
    await wait_quiet(timeout=QUIET_TIMEOUT)
    r["UpdateTaskLifetime"] = await _timed([partial(lifetime, t) for t in shorten])
    r[LATENESS] = await _lateness(setup, shorten)
    await wait_quiet(timeout=QUIET_TIMEOUT)
    r[HANDLER] = await _timed([partial(_handler, setup, t) for t in end])
    await wait_quiet(timeout=QUIET_TIMEOUT)
    after = await _histograms(setup)
    for key in HANDLED:
        phase.handled[f"{key[0]} applying {key[1]}"] = _bucket_pct(
            before.get(key, {}), after.get(key, {})
        )
    for what, ms in r.items():
        print(f"lifecycle: {what}: {_pct(ms)}")
    for what, text in phase.handled.items():
        print(f"lifecycle: {what}: {text}")


async def _seed(stack: Stack, setup: Setup, template: Phase) -> Filler:
    """BIG - SMALL claimed tasks as rows, copied from template's last (untouched) task."""
    count = BIG - SMALL
    task = uuid.UUID(template.tasks[-1])
    claim = uuid.UUID(template.claims[-1])
    tasks = [uuid.uuid4() for _ in range(count)]
    claims = [uuid.uuid4() for _ in range(count)]
    prefix = stack.name("lc-fill-")
    started = time.monotonic()
    d = await asyncpg.connect(setup.dispatcher_dsn)
    try:
        async with d.transaction():
            await d.execute(
                "INSERT INTO tasks (task_id, client_id, idempotency_key, fingerprint, project_id,"
                " status, slots, claimed_count, submitted_count, accepted_count, created_at,"
                " payload_json, priority, own_priority, expires_at, updated_at, live_claims,"
                " lifetime_over, cancel_reason, revision)"
                " SELECT f.id, t.client_id, $3 || f.n, t.fingerprint, t.project_id, t.status,"
                " t.slots, t.claimed_count, 0, 0, t.created_at - f.n * interval '1 ms',"
                " '{\"filler\": ' || f.n || '}', t.priority, t.own_priority, t.expires_at,"
                " t.updated_at - f.n * interval '1 ms', t.live_claims, false, '', t.revision"
                " FROM tasks t, unnest($2::uuid[]) WITH ORDINALITY AS f(id, n)"
                " WHERE t.task_id = $1",
                task,
                tasks,
                prefix,
            )
            rows = (
                " FROM tasks t, unnest($2::uuid[], $3::uuid[]) WITH ORDINALITY"
                " AS f(task_id, claim_id, n)"
            )
            each = rows + " WHERE t.task_id = $1"
            await d.execute(
                "INSERT INTO claim_leases (claim_id, task_id, client_id, project_id,"
                " contractor_id, state, deadline_at, granted_at)"
                " SELECT f.claim_id, f.task_id, t.client_id, t.project_id, $4 || (f.n % $5),"
                " 'live', now() + interval '1 day', now() - interval '10 minutes'" + each,
                task,
                tasks,
                claims,
                prefix,
                FILLER_CONTRACTORS,
            )
            await d.execute(
                "INSERT INTO deadlines (kind, ref, due_at, run_at, correlation_id)"
                " SELECT $4, f.task_id::text, t.expires_at, t.expires_at, 'bench-filler'"
                + each
                + " UNION ALL SELECT 'lease', f.claim_id::text, now() + interval '1 day',"
                " now() + interval '1 day', 'bench-filler'" + each,
                task,
                tasks,
                claims,
                TASK_LIFETIME,
            )
            # Unnumbered, like the service's: the table's trigger numbers them at commit.
            ids = await d.fetchrow(
                "WITH ins AS (INSERT INTO watch_events (client_id, project_id, task_id, body)"
                " SELECT t.client_id, t.project_id, f.task_id, ''::bytea"
                + rows
                + ", generate_series(1, 2) WHERE t.task_id = $1"
                " RETURNING id) SELECT min(id) AS lo, max(id) AS hi FROM ins",
                task,
                tasks,
                claims,
            )
        await d.execute("ANALYZE tasks, claim_leases, deadlines, watch_events")
    finally:
        await d.close()
    m = await asyncpg.connect(stack.matcher_dsn)
    try:
        async with m.transaction():
            await m.execute(
                "INSERT INTO open_tasks (task_id, client_id, project_id, slots, free_slots,"
                " published_at, priority, own_priority, expires_at, payload_json, lifecycle,"
                " revision)"
                " SELECT f.id, o.client_id, o.project_id, o.slots, o.free_slots,"
                " o.published_at - f.n * interval '1 ms', o.priority, o.own_priority,"
                " o.expires_at, '{\"filler\": ' || f.n || '}', o.lifecycle, o.revision"
                " FROM open_tasks o, unnest($2::uuid[]) WITH ORDINALITY AS f(id, n)"
                " WHERE o.task_id = $1",
                task,
                tasks,
            )
            await m.execute(
                "INSERT INTO claims (claim_id, task_id, contractor_id, request_id, status,"
                " rate_currency, rate_minor, version, granted_at, project_id, terms_version,"
                " terms_basis, max_paid_seconds, client_id, lease_seconds, deadline_at,"
                " max_deadline_at, worked_seconds)"
                " SELECT f.claim_id, f.task_id, $4 || (f.n % $5), $4 || f.n, 'active',"
                " c.rate_currency, c.rate_minor, 1, now() - interval '10 minutes', c.project_id,"
                " c.terms_version, c.terms_basis, c.max_paid_seconds, c.client_id,"
                " c.lease_seconds, now() + interval '1 day', now() + interval '4 days', 0"
                " FROM claims c, unnest($2::uuid[], $3::uuid[]) WITH ORDINALITY"
                " AS f(task_id, claim_id, n) WHERE c.claim_id = $1",
                claim,
                tasks,
                claims,
                prefix,
                FILLER_CONTRACTORS,
            )
        await m.execute("ANALYZE open_tasks, claims")
    finally:
        await m.close()
    print(
        f"lifecycle: {count:,} claimed tasks seeded by SQL in both databases in"
        f" {time.monotonic() - started:.0f}s"
    )
    return Filler(tasks=tasks, claims=claims, watch_ids=(int(ids["lo"]), int(ids["hi"])))


async def _drop(stack: Stack, setup: Setup, filler: Filler) -> None:
    """Delete every seeded row (no service ever touched them: their clocks are days off)."""
    d = await asyncpg.connect(setup.dispatcher_dsn)
    try:
        async with d.transaction():
            await d.execute(
                "DELETE FROM deadlines d USING unnest($2::text[]) AS f(ref)"
                " WHERE d.kind = $1 AND d.ref = f.ref",
                TASK_LIFETIME,
                [str(t) for t in filler.tasks],
            )
            await d.execute(
                "DELETE FROM deadlines d USING unnest($1::text[]) AS f(ref)"
                " WHERE d.kind = 'lease' AND d.ref = f.ref",
                [str(c) for c in filler.claims],
            )
            await d.execute(
                "DELETE FROM claim_leases l USING unnest($1::uuid[]) AS f(id)"
                " WHERE l.claim_id = f.id",
                filler.claims,
            )
            await d.execute(
                "DELETE FROM watch_events w USING unnest($3::uuid[]) AS f(id)"
                " WHERE w.id BETWEEN $1 AND $2 AND w.task_id = f.id",
                *filler.watch_ids,
                filler.tasks,
            )
            await d.execute(
                "DELETE FROM tasks t USING unnest($1::uuid[]) AS f(id) WHERE t.task_id = f.id",
                filler.tasks,
            )
    finally:
        await d.close()
    m = await asyncpg.connect(stack.matcher_dsn)
    try:
        async with m.transaction():
            await m.execute(
                "DELETE FROM claims c USING unnest($1::uuid[]) AS f(id) WHERE c.claim_id = f.id",
                filler.claims,
            )
            await m.execute(
                "DELETE FROM open_tasks o USING unnest($1::uuid[]) AS f(id) WHERE o.task_id = f.id",
                filler.tasks,
            )
        await m.execute("VACUUM (ANALYZE) open_tasks, claims")
    finally:
        await m.close()
    d = await asyncpg.connect(setup.dispatcher_dsn)
    try:
        await d.execute("VACUUM (ANALYZE) tasks, claim_leases, deadlines, watch_events")
    finally:
        await d.close()
    print(f"lifecycle: the {len(filler.tasks):,} seeded tasks and claims deleted")


async def _explain(conn: asyncpg.Connection, sql: str, *args: object) -> str:
    """EXPLAIN (ANALYZE, BUFFERS), rolled back so nothing changes: the plan's scan nodes
    (in plan order), the buffers the whole statement touched and its execution time."""
    tx = conn.transaction()
    await tx.start()
    try:
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", *args)
    finally:
        await tx.rollback()
    lines = [str(r[0]) for r in rows]
    scans = [ln.strip().removeprefix("->").strip() for ln in lines if " Scan " in ln]
    scan = "; ".join(ln.split(" (actual")[0] for ln in scans) or lines[0]
    buffers = next((ln for ln in lines if ln.strip().startswith("Buffers:")), "")
    touched = sum(int(x.split("=")[1]) for x in buffers.split() if x.startswith(("hit=", "read=")))
    took = next(ln.split(":")[1].strip() for ln in lines if ln.startswith("Execution Time"))
    return f"{scan}: {touched} buffers, {took}"


# The trigger's first statement (dispatcher migration 0006): its own transaction's events.
WATCH_UNNUMBERED = (
    "SELECT array_agg(DISTINCT client_id ORDER BY client_id), max(id)"
    " FROM watch_events WHERE seq IS NULL AND xact = pg_current_xact_id()"
)


async def _plans(stack: Stack, setup: Setup, filler: Filler) -> list[tuple[str, str]]:
    """(statement, its plan in short) of the hot statements, on seeded rows at 100k."""
    task, claim = filler.tasks[len(filler.tasks) // 2], filler.claims[len(filler.claims) // 2]
    later = datetime.now(UTC) + timedelta(days=2)
    now = datetime.now(UTC)
    m = await asyncpg.connect(stack.matcher_dsn)
    d = await asyncpg.connect(setup.dispatcher_dsn)
    try:
        plans = [
            (
                "matcher heartbeat: UPDATE claims ... WHERE claim_id AND version",
                await _explain(
                    m,
                    "UPDATE claims SET version = version + 1, deadline_at = deadline_at,"
                    " worked_seconds = 0 WHERE claim_id = $1 AND version = 1",
                    claim,
                ),
            ),
            (
                "matcher release: the task's row lock (task_state)",
                await _explain(
                    m,
                    "SELECT t.lifecycle, t.expires_at, p.state FROM open_tasks t"
                    " LEFT JOIN projects p ON p.project_id = t.project_id WHERE t.task_id = $1"
                    " FOR NO KEY UPDATE OF t",
                    task,
                ),
            ),
            (
                "matcher cancel: cut the task's live claims",
                await _explain(
                    m,
                    "UPDATE claims SET cut = 'task_cancelled', version = version + 1"
                    " WHERE task_id = $1 AND status = 'active' AND cut IS NULL"
                    " AND deadline_at > $2",
                    task,
                    now,
                ),
            ),
            (
                "dispatcher ClaimExtended: move the lease",
                await _explain(
                    d,
                    "UPDATE claim_leases SET deadline_at = $2 WHERE claim_id = $1"
                    " AND state = 'live' AND (deadline_at IS NULL OR deadline_at < $2)",
                    claim,
                    later,
                ),
            ),
            (
                "dispatcher clock: take due clocks (200k pending)",
                await _explain(
                    d,
                    "SELECT kind, ref FROM deadlines WHERE fired_at IS NULL AND dead_at IS NULL"
                    " AND run_at <= $1 AND kind = ANY($2::text[]) ORDER BY run_at LIMIT 50"
                    " FOR UPDATE SKIP LOCKED",
                    now,
                    ["auto_accept", "lease", TASK_LIFETIME],
                ),
            ),
            (
                "dispatcher commit: Watch trigger's unnumbered events",
                await _explain(
                    d,
                    WATCH_UNNUMBERED,
                ),
            ),
        ]
    finally:
        await m.close()
        await d.close()
    for what, plan in plans:
        print(f"lifecycle: EXPLAIN {what}: {plan}")
    return plans


@dataclass(frozen=True)
class Fresh:
    """The big pool right after its seeding committed, before VACUUM."""

    handler: list[float]  # the task-lifetime handler, ms
    before: str  # the Watch trigger's scan, before and after VACUUM
    after: str


async def _before_vacuum(stack: Stack, setup: Setup, small: Phase) -> Fresh:
    """Right after the seeding committed: numbering its Watch events (inserted unnumbered,
    then updated) left a dead entry each in the partial index watch_events_unnumbered,
    which every commit that logs an event scans until a VACUUM removes them. The
    task-lifetime handler on small's untouched tasks and the trigger's scan then; then
    VACUUM (ANALYZE) of the seeded tables, as autovacuum leaves them, and the scan again."""
    spare = small.tasks[4 * (WARMUP + CALLS) :]
    handler = await _timed([partial(_handler, setup, t) for t in spare])
    d = await asyncpg.connect(setup.dispatcher_dsn)
    m = await asyncpg.connect(stack.matcher_dsn)
    try:
        before = await _explain(d, WATCH_UNNUMBERED)
        await d.execute("VACUUM (ANALYZE) tasks, claim_leases, deadlines, watch_events")
        await m.execute("VACUUM (ANALYZE) open_tasks, claims")
        after = await _explain(d, WATCH_UNNUMBERED)
    finally:
        await d.close()
        await m.close()
    fresh = Fresh(handler=handler, before=before, after=after)
    print(f"lifecycle: before VACUUM: {HANDLER}: {_pct(handler)}; Watch trigger's scan: {before}")
    print(f"lifecycle: after VACUUM: Watch trigger's scan: {after}")
    return fresh


async def run(stack: Stack, summary: Summary) -> None:
    """1k, then 100k, then 1k again (the seeded rows deleted): the last shows how much
    the same figure moves between two phases on this machine with nothing changed."""
    started = time.monotonic()
    setup = await _setup(stack)
    phases: list[Phase] = []
    try:
        small = await _new_phase(stack, setup, "small")
        phases.append(small)
        print(
            f"lifecycle: {SMALL:,} tasks submitted and claimed"
            f" in {time.monotonic() - started:.0f}s;"
            f" {CALLS} sequential calls per figure after {WARMUP} unmeasured"
        )
        await _measure(stack, setup, small)
        filler = await _seed(stack, setup, small)
        try:
            fresh = await _before_vacuum(stack, setup, small)
            big = await _new_phase(stack, setup, "big")
            phases.append(big)
            await _measure(stack, setup, big)
            plans = await _plans(stack, setup, filler)
        finally:
            await _drop(stack, setup, filler)
        again = await _new_phase(stack, setup, "again")
        phases.append(again)
        await _measure(stack, setup, again)
    finally:
        try:
            await _tidy(stack, setup, phases)
        finally:
            await setup.deps.pool.close()
    _report(summary, small, big, again, fresh, plans)


def _ratio(ms: Sequence[float], base: Sequence[float], q: int) -> str:
    return f"{percentile(ms, q) / percentile(base, q):.2f}x"


def _report(
    summary: Summary,
    small: Phase,
    big: Phase,
    again: Phase,
    fresh: Fresh,
    plans: list[tuple[str, str]],
) -> None:
    for what in (*MEASURES, HANDLER, LATENESS):
        s, b, a = small.results[what], big.results[what], again.results[what]
        summary.add(
            f"{what} p50/p99: 1k -> 100k -> 1k again",
            f"{_short(s)} -> {_short(b)} -> {_short(a)} ms",
            f"100k/1k: p50 {_ratio(b, s, 50)}, p99 {_ratio(b, s, 99)} (goal ~1);"
            f" 1k again/1k: p50 {_ratio(a, s, 50)}, p99 {_ratio(a, s, 99)}",
        )
    s = small.results[HANDLER]
    summary.add(
        f"{HANDLER} p50/p99, 100k right after seeding (before VACUUM)",
        f"{_short(fresh.handler)} ms",
        f"1k: {_short(s)} ms; p50 {_ratio(fresh.handler, s, 50)},"
        f" p99 {_ratio(fresh.handler, s, 99)}",
    )
    for what in small.handled:
        summary.add(
            f"{what} (its histogram): 1k -> 100k -> 1k again",
            f"{small.handled[what]} -> {big.handled[what]} -> {again.handled[what]}",
        )
    for what, plan in plans:
        summary.add(f"EXPLAIN ANALYZE at 100k, {what}", plan)
    summary.add("EXPLAIN ANALYZE, Watch trigger's scan, right after seeding", fresh.before)
    summary.add("EXPLAIN ANALYZE, Watch trigger's scan, after VACUUM", fresh.after)
    summary.note(
        f"lifecycle at 1k: {small.counts}. At 100k: {big.counts}. {BIG - SMALL:,} claimed"
        f" tasks of the 100k were rows inserted by SQL (deleted after); the measured ones"
        f" were submitted and claimed through the RPCs by {CALLERS} contractors with real"
        f" tokens; the lifetime handler ran in the bench process on the dispatcher's"
        f" database, the other figures are gRPC round trips; the 100k figures were taken"
        f" after VACUUM (ANALYZE) of the seeded tables and a CHECKPOINT"
    )
