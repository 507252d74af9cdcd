"""StreamOffers fan-out: 5,000 contractors streaming from two matcher replicas (2,500 each),
a fifth of them not qualified for the project. Each round submits a batch of tasks; for
every eligible stream, the time from SubmitTasks returning until that stream received
each task's offer.

The streams live in WORKERS processes (spawned, each with its own event loop and gRPC
channels), so one Python client is not the bottleneck. Their receipt times are
time.monotonic(), which is CLOCK_MONOTONIC: one clock for every process on the host,
so they compare with the submitting process's times.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import asyncpg
import grpc

from bench.common import (
    SETUP_CONCURRENCY,
    Stack,
    Summary,
    new_client,
    new_contractors,
    new_project,
    percentile,
    submit_tasks,
    task_specs,
    wait_quiet,
)
from crewline.auth.credentials import bearer_metadata
from crewline.client.errors import error_reason
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import project_pb2, work_service_pb2_grpc
from crewline.v1 import work_service_pb2 as work_api
from tools.demo_rpc import Metadata, bounded, call

STREAMS = 5000
INELIGIBLE_EVERY = 5  # contractor i is not qualified when i % 5 == 0: 20%
WORKERS = 4  # client processes, 1,250 streams each
STREAMS_PER_CHANNEL = 100  # one HTTP/2 connection per 100 streams
ROUNDS, BATCH = 5, 10  # SubmitTasks calls, tasks per call
THRESHOLD, GOOD, BAD = 80, 90, 40  # requirement >= 80; eligible hold 90, the others 40
ROUND_TIMEOUT = 60.0


@dataclass(frozen=True)
class Setup:
    client: Metadata
    project_id: str
    tokens: list[str]

    @staticmethod
    def eligible(index: int) -> bool:
        return index % INELIGIBLE_EVERY != 0


async def wait_eligible(stack: Stack, project_id: str, count: int, timeout: float = 120) -> None:
    """Until the matcher has the project and ``count`` contractors eligible for it."""
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        deadline = time.monotonic() + timeout
        while True:
            found = await conn.fetchval(
                "SELECT count(*) FROM eligibility WHERE project_id = $1", project_id
            )
            if found == count:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{found} of {count} contractors eligible for {project_id}")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def qualified_project(stack: Stack, client: Metadata, title: str, qualification: str) -> str:
    """A project requiring ``qualification`` >= THRESHOLD, retried until the dispatcher has
    heard of the new type (it learns types by an event)."""
    requirement = project_pb2.Requirement(
        qualification=qualification,
        comparator=project_pb2.COMPARATOR_GREATER_OR_EQUAL,
        scores=[THRESHOLD],
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            return await new_project(stack, client, title=title, requirements=[requirement])
        except grpc.aio.AioRpcError as err:
            if error_reason(err) != "UNKNOWN_QUALIFICATION" or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)


async def define_score_type(stack: Stack, name: str) -> None:
    await call(
        stack.contractors.DefineQualificationType,
        contractor_admin.DefineQualificationTypeRequest(
            name=name, kind=project_pb2.QUALIFICATION_KIND_SCORE, description="bench"
        ),
        stack.operator,
    )


async def grant(stack: Stack, grants: list[tuple[str, str, int]]) -> None:
    """GrantQualification for each (contractor, qualification, score), bounded."""
    admin = stack.contractors

    async def one(contractor_id: str, qualification: str, score: int) -> None:
        await call(
            admin.GrantQualification,
            contractor_admin.GrantQualificationRequest(
                contractor_id=contractor_id, qualification=qualification, score=score
            ),
            stack.operator,
        )

    await bounded((one(*g) for g in grants), SETUP_CONCURRENCY)


async def setup(stack: Stack) -> Setup:
    started = time.monotonic()
    qualification = stack.name("fanout-q")
    await define_score_type(stack, qualification)
    ids = [stack.name(f"fan-c{i}") for i in range(STREAMS)]
    tokens = await new_contractors(stack, ids)
    made = time.monotonic() - started
    await grant(
        stack,
        [(c, qualification, GOOD if Setup.eligible(i) else BAD) for i, c in enumerate(ids)],
    )
    granted = time.monotonic() - started - made
    client = await new_client(stack, stack.name("fanout-client"))
    project = await qualified_project(stack, client, stack.name("fanout"), qualification)
    eligible = sum(Setup.eligible(i) for i in range(STREAMS))
    await wait_eligible(stack, project, eligible)
    print(
        f"fanout: {STREAMS} contractors + tokens in {made:.0f}s, {STREAMS} grants in"
        f" {granted:.0f}s; project {project}: {eligible} eligible"
        f" ({time.monotonic() - started:.0f}s in all)"
    )
    return Setup(client=client, project_id=project, tokens=tokens)


# --- the client processes ------------------------------------------------------------


@dataclass
class _State:
    received: dict[str, list[tuple[int, float]]] = field(default_factory=lambda: defaultdict(list))
    snapshot_ends: set[int] = field(default_factory=set)
    kinds: Counter[str] = field(default_factory=Counter)
    ended: dict[int, str] = field(default_factory=dict)
    expected: int = 0
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # every stream ready or ended

    def check(self) -> None:
        if len(self.snapshot_ends | self.ended.keys()) >= self.expected:
            self.settled.set()


async def _stream(
    index: int, stub: work_service_pb2_grpc.WorkServiceStub, token: str, project: str, s: _State
) -> None:
    request = work_api.StreamOffersRequest(project_id=project)
    try:
        async for message in stub.StreamOffers(request, metadata=bearer_metadata(token)):
            kind = message.WhichOneof("event")
            if kind == "changes":
                at = time.monotonic()
                for change in message.changes.changes:
                    if change.WhichOneof("change") == "offered":
                        s.received[change.offered.task_id].append((index, at))
            elif kind == "snapshot_end":
                s.snapshot_ends.add(index)
                s.check()
            s.kinds[str(kind)] += 1
        s.ended[index] = "ended by the server"
    except grpc.aio.AioRpcError as err:
        s.ended[index] = f"{err.code().name}: {err.details()}"
    s.check()


async def _worker_main(conn: Connection, specs: list[tuple[int, str, str]], project: str) -> None:
    s = _State(expected=len(specs))
    loop = asyncio.get_running_loop()
    channels: list[grpc.aio.Channel] = []
    stubs: dict[str, list[work_service_pb2_grpc.WorkServiceStub]] = defaultdict(list)
    per_target: Counter[str] = Counter()
    tasks = []
    for index, target, token in specs:
        n = per_target[target]
        per_target[target] += 1
        if n % STREAMS_PER_CHANNEL == 0:  # a connection of its own, not a shared subchannel
            channel = grpc.aio.insecure_channel(
                target, options=[("grpc.use_local_subchannel_pool", 1)]
            )
            channels.append(channel)
            stubs[target].append(work_service_pb2_grpc.WorkServiceStub(channel))
        tasks.append(asyncio.create_task(_stream(index, stubs[target][-1], token, project, s)))
    with suppress(TimeoutError):
        await asyncio.wait_for(s.settled.wait(), 120)
    conn.send(("ready", len(s.snapshot_ends), dict(s.ended)))
    mine = [i for i, _, _ in specs if Setup.eligible(i)]
    while True:
        order: tuple[Any, ...] = await loop.run_in_executor(None, conn.recv)
        if order[0] == "stop":
            break
        _, task_ids, timeout = order
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [{i for i, _ in s.received.get(t, ())} for t in task_ids]
            if all(len(g) >= len(mine) for g in got):
                break
            await asyncio.sleep(0.01)
        conn.send(("round", {t: list(s.received.get(t, ())) for t in task_ids}, dict(s.ended)))
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    conn.send(("stopped", dict(s.kinds), dict(s.ended)))
    await asyncio.gather(*(c.close() for c in channels))


def _worker(conn: Connection, specs: list[tuple[int, str, str]], project: str) -> None:
    asyncio.run(_worker_main(conn, specs, project))


@dataclass
class Fan:
    pipes: list[Connection]
    targets: list[str]
    opened_in: float
    client_pids: list[int]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def streams(stack: Stack, setup: Setup, targets: list[str]) -> AsyncIterator[Fan]:
    """STREAMS StreamOffers calls, contractor i on targets[i % len(targets)], held by WORKERS
    processes; open (every snapshot ended) on entry, cancelled on exit."""
    ctx = multiprocessing.get_context("spawn")
    specs: list[list[tuple[int, str, str]]] = [[] for _ in range(WORKERS)]
    for i, token in enumerate(setup.tokens):
        specs[i % WORKERS].append((i, targets[i % len(targets)], token))
    pipes, processes = [], []
    started = time.monotonic()
    for part in specs:
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_worker, args=(child, part, setup.project_id), daemon=True)
        p.start()
        pipes.append(parent)
        processes.append(p)
    try:
        ready = [await asyncio.to_thread(p.recv) for p in pipes]
        opened_in = time.monotonic() - started
        open_ = sum(r[1] for r in ready)
        failed: dict[int, str] = {k: v for r in ready for k, v in r[2].items()}
        print(
            f"fanout: {open_}/{STREAMS} streams open (snapshot ended) in {opened_in:.1f}s"
            f" across {len(targets)} replicas, {WORKERS} client processes"
            + (f"; {len(failed)} failed, e.g. {next(iter(failed.values()))}" if failed else "")
        )
        if open_ < STREAMS:
            raise RuntimeError(f"only {open_} of {STREAMS} streams opened")
        yield Fan(
            pipes=pipes,
            targets=targets,
            opened_in=opened_in,
            client_pids=[p.pid for p in processes if p.pid is not None],
        )
    finally:
        kinds: Counter[str] = Counter()
        for pipe in pipes:
            with suppress(OSError, EOFError):
                pipe.send(("stop",))
                reply = await asyncio.to_thread(pipe.recv)
                kinds.update(reply[1])
        for p in processes:
            await asyncio.to_thread(p.join, 30)
            if p.is_alive():
                p.kill()
        print(f"fanout: streams closed; messages received by kind: {dict(kinds)}")


async def measure(
    stack: Stack, summary: Summary, setup: Setup, fan: Fan, matchers: dict[str, int]
) -> None:
    """``matchers``: name -> pid, for the CPU time each used during the rounds."""
    await wait_quiet()
    groups = {**{n: [pid] for n, pid in matchers.items()}, "client processes": fan.client_pids}
    cpu = dict.fromkeys(groups, 0.0)
    busy = 0.0  # seconds from SubmitTasks to the last offer of each round
    latencies: list[float] = []
    by_replica: dict[str, list[float]] = defaultdict(list)
    missing = ineligible_got = 0
    submit_ms: list[float] = []
    eligible = [i for i in range(STREAMS) if Setup.eligible(i)]
    for r in range(ROUNDS):
        specs = task_specs(stack.name(f"fan-r{r}"), BATCH, slots=1)
        before = {n: sum(cpu_seconds(p) for p in pids) for n, pids in groups.items()}
        sent = time.monotonic()
        task_ids = await submit_tasks(stack, setup.client, setup.project_id, specs)
        returned = time.monotonic()
        submit_ms.append((returned - sent) * 1000)
        for pipe in fan.pipes:
            pipe.send(("wait", task_ids, ROUND_TIMEOUT))
        replies = [await asyncio.to_thread(p.recv) for p in fan.pipes]
        busy += time.monotonic() - sent
        for n, pids in groups.items():
            cpu[n] += sum(cpu_seconds(p) for p in pids) - before[n]
        got: dict[str, dict[int, float]] = defaultdict(dict)
        for reply in replies:
            for task_id, receipts in reply[1].items():
                for index, at in receipts:
                    got[task_id].setdefault(index, at)  # the first offer of it on that stream
        round_lat: list[float] = []
        for task_id in task_ids:
            for index, at in got[task_id].items():
                if not Setup.eligible(index):
                    ineligible_got += 1
                    continue
                lat = at - returned
                round_lat.append(lat)
                by_replica[fan.targets[index % len(fan.targets)]].append(lat)
            missing += sum(1 for i in eligible if i not in got[task_id])
        latencies += round_lat
        print(
            f"fanout: round {r + 1}: {BATCH} tasks -> {len(round_lat)} offers to eligible streams,"
            f" p50 {percentile(round_lat, 50) * 1000:.0f} ms, p99"
            f" {percentile(round_lat, 99) * 1000:.0f} ms, max {max(round_lat) * 1000:.0f} ms"
        )
        await asyncio.sleep(1)
    expected = ROUNDS * BATCH * len(eligible)
    summary.add(
        f"StreamOffers fan-out, SubmitTasks returned -> offer on each eligible stream"
        f" ({STREAMS:,} streams, 2 replicas, {ROUNDS}x{BATCH} tasks)",
        f"p50 {percentile(latencies, 50) * 1000:.0f} ms, p99 {percentile(latencies, 99) * 1000:.0f}"
        f" ms, max {max(latencies) * 1000:.0f} ms",
        "goal p99 < 1 s",
    )
    for target, lats in by_replica.items():
        summary.add(
            f"  fan-out via {target}",
            f"p50 {percentile(lats, 50) * 1000:.0f} ms, p99 {percentile(lats, 99) * 1000:.0f} ms"
            f" ({len(lats):,} offers)",
        )
    summary.add(
        "fan-out offers delivered to eligible streams",
        f"{expected - missing:,}/{expected:,} (missing {missing:,})",
        "goal: all",
    )
    summary.add("fan-out offers delivered to ineligible streams", f"{ineligible_got:,}", "goal: 0")
    summary.add(
        f"CPU seconds used during the {ROUNDS} rounds ({busy:.1f}s wall, 2 cores)",
        ", ".join(f"{n} {c:.1f}s" for n, c in cpu.items()),
    )
    summary.add(
        "SubmitTasks call (10 tasks) during fan-out",
        f"p50 {percentile(submit_ms, 50):.0f} ms, max {max(submit_ms):.0f} ms",
    )
    summary.note(
        f"fan-out client: {WORKERS} processes x {STREAMS // WORKERS} streams,"
        f" {STREAMS_PER_CHANNEL} streams per HTTP/2 connection, on the same 2-core host as the"
        " stack; receipt times include the client processes' own scheduling delay"
    )
