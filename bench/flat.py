"""Flat cost: ListOffers and ClaimTask latency must not grow with the pool or the number of
contractors. Two projects with the same requirement: SMALL holds 1,000 open tasks, BIG
100,000. SMALL's and REAL of BIG's are submitted through SubmitTasks (every claim is of
one of those); the rest of BIG's are rows inserted into the matcher's open_tasks (the
matcher ingests about 150-300 tasks/s on this host, too slow for 99,000), deleted at
the end. First
1,000 contractors are eligible for both (CALLERS real ones with tokens, the rest rows
seeded by SQL: contractor, qualification and eligibility); then 49,000 more are seeded.
Each figure is CALLS sequential calls by the CALLERS, after WARMUP unmeasured ones.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

import asyncpg

from bench.common import (
    Stack,
    Summary,
    new_client,
    new_contractors,
    percentile,
    task_specs,
    wait_quiet,
)
from bench.fanout import GOOD, define_score_type, grant, qualified_project, wait_eligible
from crewline.client.metadata import bearer_metadata
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api
from tools.demo_rpc import Metadata, call

SMALL, BIG = 1_000, 100_000  # open tasks per project
REAL = 1_000  # of BIG's, submitted through SubmitTasks
FEW, MANY = 1_000, 50_000  # contractors eligible for both projects
CALLERS = 20
CALLS, WARMUP = 200, 20
SUBMIT_IN_FLIGHT = 4


@dataclass(frozen=True)
class Pool:
    client: Metadata
    qualification: str
    callers: list[Metadata]
    small: str  # project ids
    big: str
    small_tasks: list[str]
    big_tasks: list[str]
    open_tasks: int  # open tasks in the whole pool after seeding
    filler: int  # BIG's tasks inserted by SQL


async def _submit_many(stack: Stack, client: Metadata, project: str, count: int) -> list[str]:
    """SubmitTasks in batches of 1,000, SUBMIT_IN_FLIGHT at a time; the ids in order."""
    tasks = stack.tasks
    gate = asyncio.Semaphore(SUBMIT_IN_FLIGHT)
    prefix = stack.name(f"flat-{project[:8]}")

    async def batch(at: int) -> list[str]:
        async with gate:
            reply: task_api.SubmitTasksResponse = await call(
                tasks.SubmitTasks,
                task_api.SubmitTasksRequest(
                    project_id=project, tasks=task_specs(prefix, 1000, slots=1, start=at)
                ),
                client,
            )
            return [t.task_id for t in reply.tasks]

    parts = await asyncio.gather(*(batch(at) for at in range(0, count, 1000)))
    return [t for part in parts for t in part]


async def _wait_open(stack: Stack, project: str, count: int, timeout: float = 600) -> None:
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        deadline = time.monotonic() + timeout
        while True:
            found = await conn.fetchval(
                "SELECT count(*) FROM open_tasks WHERE project_id = $1", project
            )
            if found >= count:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {found} of {count} tasks reached the matcher")
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def seed_contractors(
    stack: Stack, prefix: str, start: int, stop: int, qualification: str, projects: list[str]
) -> None:
    """Contractors start..stop-1 as rows: qualified (GOOD) and eligible for ``projects``."""
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        async with conn.transaction():
            ids = "SELECT $1 || g AS id FROM generate_series($2::int, $3::int - 1) g"
            await conn.execute(
                f"INSERT INTO contractors (contractor_id, display_name, created_at, updated_at)"
                f" SELECT id, 'bench', now(), now() FROM ({ids}) s",
                prefix,
                start,
                stop,
            )
            await conn.execute(
                f"INSERT INTO contractor_qualifications"
                f" (contractor_id, qualification, score, granted_at, updated_at)"
                f" SELECT id, $4, $5, now(), now() FROM ({ids}) s",
                prefix,
                start,
                stop,
                qualification,
                GOOD,
            )
            await conn.execute(
                f"INSERT INTO eligibility (contractor_id, project_id)"
                f" SELECT id, p FROM ({ids}) s, unnest($4::text[]) p",
                prefix,
                start,
                stop,
                projects,
            )
        await conn.execute("ANALYZE contractors, contractor_qualifications, eligibility")
    finally:
        await conn.close()


async def seed(stack: Stack) -> Pool:
    """The two projects, FEW eligible contractors, and SMALL + BIG open tasks."""
    started = time.monotonic()
    qualification = stack.name("flat-q")
    await define_score_type(stack, qualification)
    ids = [stack.name(f"flat-caller{i}") for i in range(CALLERS)]
    tokens = await new_contractors(stack, ids, max_concurrent_claims=100)
    await grant(stack, [(c, qualification, GOOD) for c in ids])
    client = await new_client(stack, stack.name("flat-client"))
    small = await qualified_project(stack, client, stack.name("flat-small"), qualification)
    big = await qualified_project(stack, client, stack.name("flat-big"), qualification)
    for project in (small, big):
        await wait_eligible(stack, project, CALLERS)
    await seed_contractors(stack, stack.name("flat-s"), CALLERS, FEW, qualification, [small, big])
    small_tasks = await _submit_many(stack, client, small, SMALL)
    big_tasks = await _submit_many(stack, client, big, REAL)
    submitted = time.monotonic() - started
    await _wait_open(stack, small, SMALL)
    await _wait_open(stack, big, REAL)
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        client_id = await conn.fetchval(
            "SELECT client_id FROM open_tasks WHERE project_id = $1 LIMIT 1", big
        )
        await conn.execute(  # older than the real ones: ListOffers' first page is of these
            "INSERT INTO open_tasks (task_id, client_id, project_id, slots, free_slots,"
            " published_at, payload_json)"
            " SELECT gen_random_uuid(), $1, $2, 1, 1, now() - interval '1 hour' + g * interval"
            " '1 ms', '{\"filler\": ' || g || '}' FROM generate_series(1, $3::int) g",
            client_id,
            big,
            BIG - REAL,
        )
        await conn.execute("ANALYZE open_tasks")
        open_tasks = await conn.fetchval("SELECT count(*) FROM open_tasks WHERE free_slots > 0")
    finally:
        await conn.close()
    print(
        f"flat: {SMALL + REAL:,} tasks submitted in {submitted:.0f}s, in the matcher's pool"
        f" after {time.monotonic() - started:.0f}s, {BIG - REAL:,} more inserted by SQL;"
        f" {open_tasks:,} open tasks in the pool"
    )
    return Pool(
        client=client,
        qualification=qualification,
        callers=[bearer_metadata(t) for t in tokens],
        small=small,
        big=big,
        small_tasks=small_tasks,
        big_tasks=big_tasks,
        open_tasks=int(open_tasks),
        filler=BIG - REAL,
    )


async def drop_filler(stack: Stack, pool: Pool) -> None:
    """Delete BIG's SQL-inserted tasks (no claim, no other service knows them)."""
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        await conn.execute(
            "DELETE FROM open_tasks o WHERE project_id = $1 AND payload_json LIKE '{\"filler\"%'"
            " AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.task_id = o.task_id)",
            pool.big,
        )
    finally:
        await conn.close()


async def _timed(calls: Sequence[Callable[[], Awaitable[object]]]) -> list[float]:
    """Runs the calls one after another; the latencies of all but the first WARMUP, in ms."""
    out: list[float] = []
    for n, make in enumerate(calls):
        started = time.perf_counter()
        await make()
        if n >= WARMUP:
            out.append((time.perf_counter() - started) * 1000)
    return out


async def _measure(
    stack: Stack, pool: Pool, project: str, claimable: list[str]
) -> tuple[list[float], list[float]]:
    """(ListOffers ms, ClaimTask ms); claims take the first WARMUP + CALLS of ``claimable``."""
    work = stack.work()
    n = WARMUP + CALLS

    async def listing(i: int) -> None:
        reply: work_api.ListOffersResponse = await work.ListOffers(
            work_api.ListOffersRequest(page_size=50, project_id=project),
            metadata=pool.callers[i % CALLERS],
            timeout=10,
        )
        if len(reply.offers) != 50:
            raise RuntimeError(f"ListOffers gave {len(reply.offers)} offers, not 50")

    async def claiming(i: int) -> None:
        await work.ClaimTask(
            work_api.ClaimTaskRequest(request_id=uuid.uuid4().hex, task_id=claimable[i]),
            metadata=pool.callers[i % CALLERS],
            timeout=10,
        )

    await wait_quiet()
    lists = await _timed([partial(listing, i) for i in range(n)])
    claims = await _timed([partial(claiming, i) for i in range(n)])
    del claimable[:n]
    return lists, claims


def _fmt(ms: list[float]) -> str:
    return f"p50 {percentile(ms, 50):.2f} ms, p99 {percentile(ms, 99):.2f} ms"


def _ratio(ms: list[float], base: list[float]) -> str:
    return (
        f"{_fmt(base)}; ratio p50 {percentile(ms, 50) / percentile(base, 50):.2f}x,"
        f" p99 {percentile(ms, 99) / percentile(base, 99):.2f}x (goal ~1)"
    )


async def run(stack: Stack, summary: Summary, pool: Pool) -> None:
    """The four figures; BIG's SQL rows are deleted afterwards."""
    try:
        await _run(stack, summary, pool)
    finally:
        await drop_filler(stack, pool)


async def _run(stack: Stack, summary: Summary, pool: Pool) -> None:
    small = pool.small_tasks[:: max(1, len(pool.small_tasks) // (2 * (WARMUP + CALLS)))]
    big = pool.big_tasks[:: max(1, len(pool.big_tasks) // (2 * (WARMUP + CALLS)))]
    results: dict[tuple[int, int], tuple[list[float], list[float]]] = {}
    print(f"flat: {CALLS} sequential ListOffers and ClaimTask calls per figure")
    results[SMALL, FEW] = await _measure(stack, pool, pool.small, small)
    results[BIG, FEW] = await _measure(stack, pool, pool.big, big)
    started = time.monotonic()
    await seed_contractors(
        stack, stack.name("flat-s"), FEW, MANY, pool.qualification, [pool.small, pool.big]
    )
    seeded_in = time.monotonic() - started
    print(f"flat: {MANY - FEW:,} more eligible contractors seeded in {seeded_in:.0f}s")
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        everyone = await conn.fetchval("SELECT count(*) FROM contractors")
    finally:
        await conn.close()
    results[SMALL, MANY] = await _measure(stack, pool, pool.small, small)
    results[BIG, MANY] = await _measure(stack, pool, pool.big, big)
    base_list, base_claim = results[SMALL, FEW]
    for (tasks, contractors), (lists, claims) in results.items():
        label = f"{tasks // 1000}k open tasks in the project, {contractors // 1000}k eligible"
        if (tasks, contractors) == (SMALL, FEW):
            summary.add(f"ListOffers (page 50), {label}", _fmt(lists), "baseline")
            summary.add(f"ClaimTask, {label}", _fmt(claims), "baseline")
        else:
            summary.add(f"ListOffers (page 50), {label}", _fmt(lists), _ratio(lists, base_list))
            summary.add(f"ClaimTask, {label}", _fmt(claims), _ratio(claims, base_claim))
    summary.note(
        f"flat cost: one project per pool size, ListOffers filtered to it; {CALLERS} calling"
        f" contractors with real tokens, the other eligible ones seeded by SQL; the matcher DB"
        f" held {everyone:,} contractors in all at the 50k figures; {pool.open_tasks:,} open"
        f" tasks in the whole pool, {pool.filler:,} of the big project's inserted by SQL"
    )
