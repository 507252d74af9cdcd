"""ClaimTask throughput and latency through gRPC, beside pgbench running the claim's SQL.

The load comes from ``bench/claimgen`` (Go, ghz's runner): request n is contractor
n mod C claiming task n mod T, with C and T coprime, so all C*T requests are distinct
(contractor, task) pairs and each can be granted. pgbench runs the same transaction
(one statement: claim_task(...), which writes the claim and its outbox row, as the
matcher sends it) on a copy of the matcher's database
dumped right after seeding, so both start from the same rows. It runs twice, each time
on a fresh copy: after the first claims run and after the last; the faster is the
baseline.

Four runs: one matcher process, then two sharing its port (``bench.replicas``; the
load generator's connections are spread over them by the kernel), each with the
whole stack on the two cores and with the dispatcher and ledger paused for the run.
After each, the dispatcher must have recorded every claim granted.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import (
    HOME,
    ROOT,
    CpuMeter,
    Stack,
    Summary,
    new_client,
    new_contractors,
    new_project,
    pid_of,
    submit_tasks,
    task_specs,
    wait_pooled,
    wait_quiet,
)
from bench.replicas import replica
from crewline.events import CLAIMS_TOPIC

CONTRACTORS, TASKS = 200, 99  # coprime; each contractor claims 99 of its 100 allowed
PAIRS = CONTRACTORS * TASKS
PROFILED = 4000  # calls made while py-spy samples the matcher for 10 s
CONCURRENCY = 64  # ghz workers (the matcher admits 256 calls in flight)
CONNECTIONS = 8
PG_CLIENTS = 10  # the matcher's pool size: it never uses more connections than this
CLAIMGEN = HOME / "bench" / "claimgen"
PGBENCH_TEMPLATE = "crewline_bench_pgbench"  # the matcher's database right after seeding
GO = os.environ.get("GO", shutil.which("go") or "/usr/local/go/bin/go")


@dataclass(frozen=True)
class Seeded:
    """A project with TASKS tasks of CONTRACTORS slots, and CONTRACTORS tokens."""

    tag: str
    contractor_ids: list[str]
    tokens: list[str]
    task_ids: list[str]


async def seed(stack: Stack, tag: str) -> Seeded:
    client = await new_client(stack, stack.name(f"{tag}-client"))
    project = await new_project(stack, client, title=stack.name(f"{tag}-claims"))
    ids = [stack.name(f"{tag}-c{i}") for i in range(CONTRACTORS)]
    tokens = await new_contractors(stack, ids, max_concurrent_claims=100)
    specs = task_specs(stack.name(tag), TASKS, slots=CONTRACTORS)
    task_ids = await submit_tasks(stack, client, project, specs)
    await wait_pooled(stack, task_ids)
    return Seeded(tag=tag, contractor_ids=ids, tokens=tokens, task_ids=task_ids)


def build_claimgen() -> Path:
    source = ROOT / "bench" / "claimgen"
    newest = max(p.stat().st_mtime for p in source.iterdir())
    if not CLAIMGEN.exists() or CLAIMGEN.stat().st_mtime < newest:
        CLAIMGEN.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([GO, "build", "-o", str(CLAIMGEN), "."], cwd=source, check=True)
    return CLAIMGEN


@dataclass(frozen=True)
class LoadResult:
    requests: int
    granted: int
    seconds: float
    errors: dict[str, int]
    latency_ms: dict[int, float]  # percentile -> ms

    @property
    def granted_per_s(self) -> float:
        return self.granted / self.seconds


def run_claimgen(stack: Stack, seeded: Seeded, *, total: int, rps: int = 0) -> LoadResult:
    plan = {
        "host": stack.addresses.matcher,
        "proto": "crewline/v1/work_service.proto",
        "import_path": str(ROOT / "protos"),
        "tokens": seeded.tokens,
        "tasks": seeded.task_ids,
        "prefix": stack.name(seeded.tag),
        "total": total,
        "concurrency": CONCURRENCY,
        # Several connections: the kernel spreads connections, not calls, over the
        # processes sharing the port.
        "connections": CONNECTIONS,
        "rps": rps,
        "cpus": 1,
    }
    out = subprocess.run(
        [str(build_claimgen())], input=json.dumps(plan), capture_output=True, text=True, check=True
    )
    report: dict[str, Any] = json.loads(out.stdout)
    codes: dict[str, int] = report.get("statusCodeDistribution") or {}
    latencies = {
        int(d["percentage"]): d["latency"] / 1e6 for d in report.get("latencyDistribution") or []
    }
    return LoadResult(
        requests=report["count"],
        granted=codes.get("OK", 0),
        seconds=report["total"] / 1e9,
        errors=report.get("errorDistribution") or {},
        latency_ms=latencies,
    )


PGBENCH_SCRIPT = f"""\\set k :k + 1
\\set n :k * {PG_CLIENTS} + :client_id
SELECT c.* FROM bench_tasks b, claim_task(gen_random_uuid(), b.task_id,
    :prefix || (:n % {CONTRACTORS}), 'pgbench-' || :n, now(), b.project_id, b.revision,
    gen_random_uuid(), '{CLAIMS_TOPIC}', convert_to(md5(:n::text) || '0000', 'UTF8'),
    decode(:envelope, 'hex'), md5(:n::text),
    3600, now() + interval '1 hour', now() + interval '4 hours') c
    WHERE b.i = :n % {TASKS};
"""


def _pg_args(dsn: str) -> tuple[str, list[str]]:
    """(database, [-h, host, -p, port, -U, user]) from a postgresql:// DSN."""
    m = re.fullmatch(r"postgresql://([^@:]+)(?::[^@]*)?@([^:/]+):(\d+)/(.+)", dsn)
    if not m:
        raise ValueError(f"unexpected DSN {dsn}")
    user, host, port, database = m.groups()
    return database, ["-h", host, "-p", port, "-U", user]


def _new_db(stack: Stack, name: str, *createdb: str) -> str:
    """The database ``name`` made afresh (dropped first if there), with ``createdb``'s
    further options, beside the matcher's; its DSN."""
    _, conn = _pg_args(stack.matcher_dsn)
    subprocess.run(["dropdb", *conn, "--if-exists", name], check=True)
    subprocess.run(["createdb", *conn, *createdb, name], check=True)
    return stack.matcher_dsn.rsplit("/", 1)[0] + "/" + name


def copy_matcher_db(stack: Stack, copy: str) -> str:
    """The matcher's database (schema and rows) copied to ``copy``; its DSN."""
    database, conn = _pg_args(stack.matcher_dsn)
    dsn = _new_db(stack, copy)
    dump = subprocess.Popen(["pg_dump", *conn, "-d", database], stdout=subprocess.PIPE)
    subprocess.run(
        ["psql", *conn, "-q", "-d", copy, "-v", "ON_ERROR_STOP=1"],
        stdin=dump.stdout,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if dump.wait() != 0:
        raise RuntimeError("pg_dump failed")
    return dsn


async def sample_envelope(stack: Stack) -> bytes:
    """A ClaimGranted envelope the matcher wrote, for pgbench's outbox rows."""
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        value: bytes = await conn.fetchval(
            "SELECT envelope FROM outbox WHERE topic = $1 ORDER BY id DESC LIMIT 1", CLAIMS_TOPIC
        )
        return value
    finally:
        await conn.close()


async def pgbench(
    stack: Stack, seeded: Seeded, template: str, envelope: bytes
) -> tuple[float, int]:
    """pgbench's tps on a fresh copy of ``template`` and the claims it granted there."""
    copy_dsn = _new_db(stack, f"{template}_run", "-T", template)  # a fresh copy
    conn = await asyncpg.connect(copy_dsn)
    try:
        await conn.execute(
            "CREATE TABLE bench_tasks (i integer PRIMARY KEY, task_id uuid, project_id text,"
            " revision bigint)"
        )
        await conn.executemany(
            "INSERT INTO bench_tasks SELECT $1, t.task_id, t.project_id, p.revision"
            " FROM open_tasks t JOIN projects p USING (project_id) WHERE t.task_id = $2::uuid",
            list(enumerate(seeded.task_ids)),
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    database, args = _pg_args(copy_dsn)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(PGBENCH_SCRIPT)
        script.flush()
        out = await asyncio.to_thread(
            subprocess.run,
            [
                "pgbench",
                *args,
                "-n",
                "-M",
                "prepared",
                "-c",
                str(PG_CLIENTS),
                "-j",
                "2",
                "-t",
                str(PAIRS // PG_CLIENTS),
                "-D",
                "k=0",
                "-D",
                f"prefix={stack.name(seeded.tag)}-c",
                "-D",
                f"envelope={envelope.hex()}",
                "-f",
                script.name,
                database,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
    if not m:
        raise RuntimeError(f"no tps in pgbench output:\n{out.stdout}\n{out.stderr}")
    conn = await asyncpg.connect(copy_dsn)
    try:
        granted = await conn.fetchval(
            "SELECT count(*) FROM claims WHERE request_id LIKE 'pgbench-%'"
        )
    finally:
        await conn.close()
    return float(m.group(1)), int(granted)


def _profile(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    pyspy = os.environ.get("PYSPY") or shutil.which("py-spy")
    if not pyspy:
        return None
    return subprocess.Popen(
        [
            pyspy,
            "record",
            "-p",
            str(pid),
            "-d",
            str(seconds),
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarize_profile(raw: Path, top: int = 15) -> str:
    """Own and inclusive sample shares per function from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        total += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for f in set(frames):
            incl[f] = incl.get(f, 0) + n
    lines = [f"  {total} samples; own time:"]
    for f, n in sorted(own.items(), key=lambda x: -x[1])[:top]:
        lines.append(f"    {100 * n / total:5.1f}%  {f}")
    lines.append("  inclusive:")
    for f, n in sorted(incl.items(), key=lambda x: -x[1])[:top]:
        lines.append(f"    {100 * n / total:5.1f}%  {f}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Baseline:
    tps: float
    granted: int
    cpu: CpuMeter


async def baseline(stack: Stack, seeded: Seeded, envelope: bytes, when: str) -> Baseline:
    """pgbench on a fresh copy of the seeded database, once the stack is quiet."""
    waited = await wait_quiet()
    with CpuMeter(children="pgbench") as cpu:
        tps, granted = await pgbench(stack, seeded, PGBENCH_TEMPLATE, envelope)
    print(
        f"claims: pgbench {when} (the stack quiet after {waited:.0f}s): {tps:,.0f} tps,"
        f" {cpu.per(max(granted, 1), parts=False)} of CPU per transaction"
    )
    return Baseline(tps, granted, cpu)


@dataclass(frozen=True)
class Measured:
    result: LoadResult
    cpu: CpuMeter
    caught_up_s: float  # after the run, until the dispatcher had recorded every claim


@asynccontextmanager
async def paused(pids: list[int]) -> AsyncIterator[None]:
    """The processes stopped (SIGSTOP) for the block, then resumed."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


async def measure(stack: Stack, tag: str, *, alone: bool) -> Measured:
    """PAIRS claims on a freshly seeded project; with ``alone`` the dispatcher and the
    ledger are stopped (SIGSTOP) for the run, as on hosts of their own, so that their
    consumers (which apply every ClaimGranted) do not share the two cores. Either way,
    the dispatcher must afterwards know every claim granted (none lost), and the time it
    took to catch up is reported: a burst may outrun what the stack sustains."""
    seeded = await seed(stack, tag)
    await wait_quiet()
    stop = [pid_of("dispatcher"), pid_of("ledger")] if alone else []
    async with paused(stop):
        with CpuMeter(children="load generator") as cpu:
            result = await asyncio.to_thread(run_claimgen, stack, seeded, total=PAIRS)
    ended = time.monotonic()
    known = await dispatcher_leases(stack, seeded, expect=result.granted)
    if known != result.granted:
        raise RuntimeError(f"the dispatcher knows {known} of the {result.granted} claims")
    caught_up = time.monotonic() - ended
    errors = f"; errors {result.errors}" if result.errors else ""
    print(
        f"claims [{tag}]: {result.granted}/{result.requests} granted in {result.seconds:.1f}s"
        f" ({result.granted_per_s:,.0f}/s){errors}; the dispatcher had them all"
        f" {caught_up:.1f}s later"
    )
    return Measured(result, cpu, caught_up)


async def dispatcher_leases(
    stack: Stack, seeded: Seeded, *, expect: int, timeout: float = 300.0
) -> int:
    """Claims on the seeded tasks the dispatcher has recorded, once it has ``expect`` of
    them or ``timeout`` has passed."""
    conn = await asyncpg.connect(stack.dispatcher_dsn)
    try:
        deadline = time.monotonic() + timeout
        while True:
            known: int = await conn.fetchval(
                "SELECT count(*) FROM claim_leases WHERE task_id = ANY($1::uuid[])",
                seeded.task_ids,
            )
            if known >= expect or time.monotonic() > deadline:
                return known
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def run(stack: Stack, summary: Summary, *, profile: bool = True) -> float:
    """Claim throughput against pgbench: with one matcher process and with two sharing
    its port, each with the whole stack and with the matcher alone; the CPU each part
    spends per claim; p50/p99 at half the first rate; a profile. Returns the first rate."""
    print("claims: seeding")
    seeded = await seed(stack, "pg")
    copy_matcher_db(stack, PGBENCH_TEMPLATE)
    await wait_quiet()
    runs: dict[str, Measured] = {}
    print(f"claims: {PAIRS} ClaimTask calls a run, {CONCURRENCY} in flight")
    runs["one"] = await measure(stack, "one", alone=False)
    envelope = await sample_envelope(stack)
    # The baseline twice, between the first two runs and after the last: the faster is
    # the one compared with (work left over from a run, autovacuum or the machine's
    # drift can slow either; a slowed baseline must not flatter the ratio).
    baselines = [await baseline(stack, seeded, envelope, "after the first run")]
    runs["one-alone"] = await measure(stack, "one-alone", alone=True)
    async with replica(share_port=True) as second:
        print(f"claims: a second matcher process (pid {second.pid}) shares {second.addr}")
        runs["two"] = await measure(stack, "two", alone=False)
        runs["two-alone"] = await measure(stack, "two-alone", alone=True)
    baselines.append(await baseline(stack, seeded, envelope, "after the last run"))
    best = max(baselines, key=lambda b: b.tps)
    both = " and ".join(f"{b.tps:,.0f}" for b in baselines)
    pg_text = (
        f"pgbench {best.tps:,.0f} tps (the faster of {both}), {PG_CLIENTS} clients"
        f" ({best.granted} granted)"
    )
    for key, what in (
        ("one", "one matcher process, whole stack"),
        ("one-alone", "one matcher process, dispatcher and ledger paused"),
        ("two", "two matcher processes sharing the port, whole stack"),
        ("two-alone", "two matcher processes, dispatcher and ledger paused"),
    ):
        m = runs[key]
        summary.add(
            f"ClaimTask granted/s, {what}",
            f"{m.result.granted_per_s:,.0f}/s ({m.result.granted}/{m.result.requests} granted;"
            f" the dispatcher had every claim {m.caught_up_s:.1f}s after the run)",
            f"{pg_text}; ratio {m.result.granted_per_s / best.tps:.2f}x (goal >= 0.5x)",
        )
    for key in ("one", "two"):
        m = runs[key]
        summary.add(
            f"CPU per granted claim, {key} matcher process{'es' if key == 'two' else ''},"
            " whole stack",
            m.cpu.per(max(m.result.granted, 1)),
            f"pgbench ({best.tps:,.0f} tps), per transaction:"
            f" {best.cpu.per(max(best.granted, 1), parts=False)}",
        )
    rate = runs["one"].result.granted_per_s

    half = max(1, int(rate / 2))
    print(f"claims: latency at {half}/s")
    seeded = await seed(stack, "lat")
    await wait_quiet()
    lat = await asyncio.to_thread(
        run_claimgen, stack, seeded, total=min(PAIRS, half * 20), rps=half
    )
    summary.add(
        f"ClaimTask latency at half max ({half}/s)",
        f"p50 {lat.latency_ms[50]:.2f} ms, p99 {lat.latency_ms[99]:.2f} ms "
        f"({lat.granted}/{lat.requests} granted)",
    )

    if profile:
        seeded = await seed(stack, "prof")
        await wait_quiet()
        raw = HOME / "bench" / "claims.pyspy.txt"
        spy = _profile(pid_of("matcher"), 10, raw)
        if spy is None:
            summary.note("py-spy not found (set PYSPY=/path/to/py-spy): no ClaimTask profile")
        else:
            prof = run_claimgen(stack, seeded, total=PROFILED)
            spy.wait()
            print(f"claims: profiled at {prof.granted_per_s:,.0f} granted/s (py-spy, 200 Hz)")
            print(summarize_profile(raw))
    return rate
