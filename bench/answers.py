"""SubmitWork with an answer spec against the same without: p50 and p99 within 10%,
beside the raw cost of SubmitWork's statements and of the check alone.

The stage (``bench.answers_seed``): one client, two projects with the same pay terms,
``off`` without a spec, ``on`` with a five-field one (a single choice, a multiple choice,
a number on a scale with a step, a text, and a rubric of three criteria); CONTRACTORS
contractors with real tokens, who claim tasks in each through ClaimTask (untimed).
SubmitWork then hands in a result for each claim: claim i of either project gets result
i, a RESULT_BYTES-byte JSON object valid under the spec, so the two sides send the same
bytes and differ only in the spec the matcher checks them against.

The load comes from ``bench/claimgen`` in its submit mode (Go, ghz's runner; requests
encoded before the run): one Go process costs the two cores a fraction of what Python
gRPC clients would per call, so it does not starve the matcher of the CPU it measures.
Two loads, closed loop: 16 calls in flight over 4 connections, which keeps the matcher
busy, so a cost per call shows in latency and throughput alike; then one call at a time.
At each, after WARMUP unmeasured calls a side, CALLS a side in blocks of BLOCK, in the
order on off, off on, on off, ... (ABBA): the machine's drift, other work on a shared
host, and the dispatcher's consuming of a block's WorkSubmitted events during the next
block fall on both sides alike. Around each block: the matcher's CPU time and the
host's CPU time outside this stack (from /proc).

In the same run (``bench.answers_raw``): SubmitWork's statements by a bare asyncpg loop
on a copy of the matcher's database (beside 1 in flight: one connection; beside 16: the
matcher's pool of 10), the check alone (AnswerChecker.check on the timed results), and,
with py-spy, a profile of the matcher under each side's load at 16 in flight.

ANSWERS_CALIBRATE=1 runs the same with no spec on either side (an A/A run): its ratios
are the bench's own noise, against which a run's ratios are read.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from statistics import fmean, median
from typing import Any

from bench import answers_raw
from bench.answers_seed import (
    CALIBRATE,
    CALLS,
    CONTRACTORS,
    LOADS,
    RESULT_BYTES,
    WARMUP,
    Setup,
    Side,
    result,
    setup,
)
from bench.claims import build_claimgen
from bench.common import (
    ROOT,
    HostShare,
    Stack,
    Summary,
    cpu_seconds,
    percentile,
    pid_of,
    wait_quiet,
)

BLOCK = 200
ON = "calibration: no spec either" if CALIBRATE else "a 5-field spec"
CONNECTIONS = 4  # at most
QUIET_TIMEOUT = 30.0  # other work may share the CPUs: never wait for quiet longer


@dataclass
class Figures:
    """One side's timed blocks at one load."""

    latency_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0  # the blocks' wall time (ghz's)
    matcher_cpu: float = 0.0  # the matcher's CPU seconds during them
    others: float = 0.0  # CPU seconds spent on the host outside this stack (a shared
    others_wall: float = 0.0  # machine's other work), and the wall time they cover
    codes: Counter[str] = field(default_factory=Counter)
    block_p50: list[float] = field(default_factory=list)


def submit_block(
    stack: Stack, tokens: list[str], side: Side, count: int, *, load: int
) -> dict[str, Any]:
    """SubmitWork on the side's next ``count`` claims, ``load`` in flight; ghz's report."""
    at = side.done
    plan = {
        "method": "submit",
        "host": stack.addresses.matcher,
        "proto": "crewline/v1/work_service.proto",
        "import_path": str(ROOT / "protos"),
        "tokens": tokens,
        "claims": side.claims[at : at + count],
        "claim_tokens": side.token_of[at : at + count],
        "results": [result(i) for i in range(at, at + count)],
        "worked_seconds": 1,
        "total": count,
        "concurrency": load,
        "connections": min(load, CONNECTIONS),
        "rps": 0,
        "cpus": 1,
    }
    out = subprocess.run(
        [str(build_claimgen())], input=json.dumps(plan), capture_output=True, text=True, check=True
    )
    side.done += count
    report: dict[str, Any] = json.loads(out.stdout)
    return report


async def _timed_block(
    stack: Stack, tokens: list[str], side: Side, load: int, into: Figures
) -> None:
    matcher = pid_of("matcher")
    cpu = cpu_seconds(matcher)
    with HostShare() as host:
        report = await asyncio.to_thread(submit_block, stack, tokens, side, BLOCK, load=load)
    into.matcher_cpu += cpu_seconds(matcher) - cpu
    into.others, into.others_wall = into.others + host.others, into.others_wall + host.wall
    details = report.get("details") or []
    into.codes.update(d["status"] for d in details)
    block = [d["latency"] / 1e6 for d in details]
    into.latency_ms.extend(block)
    into.block_p50.append(percentile(block, 50))
    into.seconds += report["total"] / 1e9


async def measure(stack: Stack, setup: Setup, load: int) -> tuple[Figures, Figures]:
    """The warm-up pair, then CALLS on each side in alternating blocks (ABBA); off's
    figures and on's."""
    off, on = setup.off, setup.on
    figures = {off.name: Figures(), on.name: Figures()}
    for side in (off, on):
        await asyncio.to_thread(submit_block, stack, setup.tokens, side, WARMUP, load=load)
    for k in range(CALLS // BLOCK):
        for side in (on, off) if k % 2 == 0 else (off, on):
            await _timed_block(stack, setup.tokens, side, load, figures[side.name])
    for name, fig in figures.items():
        if set(fig.codes) != {"OK"}:
            raise RuntimeError(f"SubmitWork ({name}, {load} in flight) answered {dict(fig.codes)}")
    return figures[off.name], figures[on.name]


def _figures(fig: Figures) -> str:
    ms, n = fig.latency_ms, len(fig.latency_ms)
    return (
        f"p50 {percentile(ms, 50):.2f} ms, p99 {percentile(ms, 99):.2f} ms,"
        f" mean {fmean(ms):.2f} ms; {n / fig.seconds:,.0f}/s;"
        f" matcher CPU {1000 * fig.matcher_cpu / n:.2f} ms/call ({n} calls; other work on"
        f" the host {fig.others / fig.others_wall:.2f} cores)"
    )


def _ratios(off: Figures, on: Figures) -> str:
    def q(p: float) -> float:
        return percentile(on.latency_ms, p) / percentile(off.latency_ms, p)

    pairs = sorted(a / b for a, b in zip(on.block_p50, off.block_p50, strict=True))
    return (
        f"p50 {q(50):.3f}x, p99 {q(99):.3f}x, mean"
        f" {fmean(on.latency_ms) / fmean(off.latency_ms):.3f}x, throughput"
        f" {len(on.latency_ms) / on.seconds / (len(off.latency_ms) / off.seconds):.3f}x,"
        f" matcher CPU {on.matcher_cpu / off.matcher_cpu:.3f}x; p50 ratio of a pair of"
        f" blocks: median {median(pairs):.3f}x, {pairs[0]:.2f}-{pairs[-1]:.2f}x"
    )


async def run(stack: Stack, summary: Summary, *, profile: bool = True) -> None:
    print(f"answers: seeding {CONTRACTORS} contractors and their claims")
    ready = await setup(stack)
    measured = {}
    for load in LOADS:
        waited = await wait_quiet(timeout=QUIET_TIMEOUT)
        print(
            f"answers: SubmitWork, {CALLS} a side in blocks of {BLOCK} after {WARMUP}"
            f" unmeasured, {load} in flight (quiet after {waited:.0f}s)"
        )
        measured[load] = await measure(stack, ready, load)
    results = [result(i) for i in range(WARMUP, WARMUP + CALLS)]  # as timed
    raw = await answers_raw.baseline(stack, ready.raw, results)
    for load, (off, on) in measured.items():
        summary.add(f"SubmitWork, {load} in flight, no answer spec", _figures(off))
        summary.add(
            f"SubmitWork, {load} in flight, {ON} (the same {RESULT_BYTES} B results)",
            _figures(on),
            raw[min(load, answers_raw.POOL)],
        )
        summary.add(f"SubmitWork, {load} in flight, spec on / off", _ratios(off, on))
    if not CALIBRATE:  # no spec to check
        check = await answers_raw.check_cost(stack, ready.on.project_id, results)
        summary.add("AnswerChecker.check alone, the same results", check)
    if profile:
        await answers_raw.profile_sides(
            summary, partial(submit_block, stack, ready.tokens, load=LOADS[0]), *ready.profiled
        )
