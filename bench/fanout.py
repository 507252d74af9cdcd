"""StreamOffers fan-out: 5,000 contractors streaming from two matcher replicas (2,500 each),
a fifth of them not qualified for the project. Each round submits a batch of tasks; for
every eligible stream, the time from SubmitTasks returning until that stream received
each task's offer.

The streams are held by bench/streamgen, one Go process (built here with ``go build``),
so the client costs the two shared cores little beside the matchers. It stamps each
stream's first offer of a task with CLOCK_MONOTONIC, the clock time.monotonic() reads:
one clock for every process on the host, so the stamps compare with this process's.

PYSPY=<py-spy> adds a profile of each matcher over further rounds after the measured
ones; STREAMGEN_CPU_PROFILE=<file> has streamgen write a Go CPU profile (go tool pprof).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import grpc

from bench.claims import _profile, summarize_profile
from bench.common import (
    HOME,
    ROOT,
    SETUP_CONCURRENCY,
    Stack,
    Summary,
    cpu_seconds,
    new_client,
    new_contractors,
    new_project,
    percentile,
    submit_tasks,
    task_specs,
    wait_quiet,
)
from crewline.client.errors import error_reason
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import project_pb2
from tools.demo_rpc import Metadata, bounded, call

STREAMS = 5000
INELIGIBLE_EVERY = 5  # contractor i is not qualified when i % 5 == 0: 20%
STREAMS_PER_CHANNEL = 100  # one HTTP/2 connection per 100 streams
READY_TIMEOUT = 120.0  # seconds for every stream to end its snapshot
REPLY_LIMIT = 64 << 20  # bytes in one streamgen reply line (a round's receipts: ~1 MB)
STREAMGEN = HOME / "bench" / "streamgen"
GO = os.environ.get("GO", shutil.which("go") or "/usr/local/go/bin/go")
ROUNDS, BATCH = 5, 10  # SubmitTasks calls, tasks per call
THRESHOLD, GOOD, BAD = 80, 90, 40  # requirement >= 80; eligible hold 90, the others 40
ROUND_TIMEOUT = 60.0
PROFILE_SECONDS = 10  # py-spy per matcher, with PYSPY set, after the measured rounds


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


# --- the client: bench/streamgen ----------------------------------------------------


def build_streamgen() -> Path:
    """``go build`` of bench/streamgen (Go's build cache makes a rebuild cheap)."""
    STREAMGEN.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [GO, "build", "-o", str(STREAMGEN), "."], cwd=ROOT / "bench" / "streamgen", check=True
    )
    return STREAMGEN


@dataclass
class Fan:
    process: asyncio.subprocess.Process
    targets: list[str]
    opened_in: float
    client_pids: list[int]

    async def order(self, order: dict[str, Any]) -> dict[str, Any]:
        """Send streamgen one order; its one-line JSON reply."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(order).encode() + b"\n")
        await self.process.stdin.drain()
        return await self.reply()

    async def reply(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            code = await self.process.wait()
            raise RuntimeError(f"streamgen exited ({code}) without a reply")
        reply: dict[str, Any] = json.loads(line)
        return reply


@asynccontextmanager
async def streams(stack: Stack, setup: Setup, targets: list[str]) -> AsyncIterator[Fan]:
    """STREAMS StreamOffers calls, contractor i on targets[i % len(targets)], held by one
    streamgen process; open (every snapshot ended) on entry, cancelled on exit."""
    binary = await asyncio.to_thread(build_streamgen)
    plan = {
        "proto": "crewline/v1/work_service.proto",
        "import_path": str(ROOT / "protos"),
        "project_id": setup.project_id,
        "streams_per_conn": STREAMS_PER_CHANNEL,
        "ready_timeout": READY_TIMEOUT,
        "cpu_profile": os.environ.get("STREAMGEN_CPU_PROFILE", ""),
        "streams": [
            {
                "index": i,
                "target": targets[i % len(targets)],
                "token": token,
                "eligible": Setup.eligible(i),
            }
            for i, token in enumerate(setup.tokens)
        ],
    }
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        plan_file = Path(tmp) / "plan.json"  # the tokens: not on a command line
        plan_file.write_text(json.dumps(plan))
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            str(binary),
            str(plan_file),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=REPLY_LIMIT,
        )
        fan = Fan(process=process, targets=targets, opened_in=0.0, client_pids=[process.pid])
        try:
            ready = await fan.reply()
            fan.opened_in = time.monotonic() - started
            open_: int = ready["ready"]
            failed: dict[str, str] = ready["ended"]
            print(
                f"fanout: {open_}/{STREAMS} streams open (snapshot ended) in"
                f" {fan.opened_in:.1f}s across {len(targets)} replicas, one Go client process"
                + (f"; {len(failed)} failed, e.g. {next(iter(failed.values()))}" if failed else "")
            )
            if open_ < STREAMS:
                raise RuntimeError(f"only {open_} of {STREAMS} streams opened")
            yield fan
        finally:
            kinds: dict[str, int] = {}
            ended: dict[str, str] = {}
            if process.returncode is None:
                with suppress(OSError, RuntimeError, ValueError):
                    reply = await asyncio.wait_for(fan.order({"stop": True}), 60)
                    kinds, ended = reply["kinds"], reply["ended"]
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
            print(
                f"fanout: streams closed (streamgen exit {process.returncode}); messages"
                f" received by kind: {kinds}"
                + (
                    f"; {len(ended)} ended early, e.g. {next(iter(ended.values()))}"
                    if ended
                    else ""
                )
            )


async def measure(
    stack: Stack, summary: Summary, setup: Setup, fan: Fan, matchers: dict[str, int]
) -> None:
    """``matchers``: name -> pid, for the CPU time each used during the rounds."""
    await wait_quiet()
    groups = {**{n: [pid] for n, pid in matchers.items()}, "client (streamgen)": fan.client_pids}
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
        reply = await fan.order({"wait": task_ids, "timeout": ROUND_TIMEOUT})
        busy += time.monotonic() - sent
        for n, pids in groups.items():
            cpu[n] += sum(cpu_seconds(p) for p in pids) - before[n]
        got: dict[str, dict[int, float]] = defaultdict(dict)
        for task_id, receipts in reply["receipts"].items():
            for index, ns in receipts:  # CLOCK_MONOTONIC, as time.monotonic()
                got[task_id].setdefault(index, ns / 1e9)  # the first offer of it on that stream
        if reply["ended"]:
            print(f"fanout: round {r + 1}: {len(reply['ended'])} streams ended: {reply['ended']}")
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
            f" (first {min(round_lat) * 1000:.0f} ms)"
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
        f"fan-out client: one Go process (bench/streamgen) holding {STREAMS:,} streams,"
        f" {STREAMS_PER_CHANNEL} streams per HTTP/2 connection, on the same 2-core host as the"
        " stack; receipt times include the client's own scheduling delay"
    )
    if os.environ.get("PYSPY"):
        await profile(stack, setup, fan, matchers)


async def profile(stack: Stack, setup: Setup, fan: Fan, matchers: dict[str, int]) -> None:
    """py-spy on each matcher for PROFILE_SECONDS while rounds run back to back (not
    counted in the figures: sampling slows the matchers); the shares per function."""
    await wait_quiet()
    raws = {n: HOME / "bench" / f"fanout-{n}.pyspy.txt" for n in matchers}
    spies = {n: _profile(pid, PROFILE_SECONDS, raws[n]) for n, pid in matchers.items()}
    rounds = 0
    while any(spy is not None and spy.poll() is None for spy in spies.values()):
        specs = task_specs(stack.name(f"fan-prof{rounds}"), BATCH, slots=1)
        task_ids = await submit_tasks(stack, setup.client, setup.project_id, specs)
        await fan.order({"wait": task_ids, "timeout": ROUND_TIMEOUT})
        rounds += 1
    for n, spy in spies.items():
        if spy is not None and spy.wait() == 0 and raws[n].exists():
            print(f"fanout: py-spy of matcher {n} over {rounds} rounds ({raws[n]}):")
            print(summarize_profile(raws[n]))
        else:
            print(f"fanout: py-spy of matcher {n} failed")
