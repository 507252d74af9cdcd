"""The answers bench's baselines and profile (see ``bench.answers``).

Raw: SubmitWork's transaction as the matcher issues it (``repository.get_claim`` with
``for_update``, ``save_claim`` with the result, ``outbox.enqueue_many`` with one
WorkSubmitted: BEGIN, three statements, COMMIT), by a bare asyncpg loop on live claims
of the project without a spec, in a copy of the matcher's database taken after the
timed blocks (its outbox rows are never relayed). The statements are prepared on each
connection's first use (asyncpg's cache), as in the matcher; the first RAW_WARMUP
transactions are not counted. Once on one connection (the statements' own latency),
once on POOL connections (the matcher's pool size), each on a fresh copy.

The check alone: AnswerChecker.check (JSON parsing and validating) on the timed
results, with the spec as the matcher stores and compiles it.

The profile (with py-spy: PYSPY=<path> or on PATH): the matcher sampled at 200 Hz while
PROFILED claims of each side are submitted as in the timed blocks; the functions whose
samples per call grew most from off to on.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from statistics import fmean
from typing import TYPE_CHECKING, Any

import asyncpg

from bench.claims import _new_db, copy_matcher_db
from bench.common import HOME, Stack, Summary, percentile, pid_of
from crewline.answer_check import AnswerChecker
from crewline.answers import from_json
from crewline.events import CLAIMS_TOPIC, parse_envelope
from crewline.v1 import events_pb2
from matcher.domain.statuses import ClaimStatus, EndReason, ReviewState

if TYPE_CHECKING:
    from bench.answers_seed import Side

RAW_WARMUP = 200
RAW_CLAIMS = RAW_WARMUP + 4_000
POOL = 10  # the matcher's pool size
PROFILED = 2_000  # claims per side submitted under py-spy
TEMPLATE = "crewline_bench_answers"  # the matcher's database after the timed blocks
CHECKS = 5  # passes over the results when timing the check alone

GET = (
    "SELECT c.*, (SELECT p.title FROM projects p WHERE p.project_id = c.project_id)"
    " AS project_title FROM claims c WHERE c.claim_id = $1 FOR UPDATE"
)
SAVE = (
    "UPDATE claims SET status = $2, version = $3, deadline_at = $4, worked_seconds = $5,"
    " submitted_at = $6, end_reason = $7, ended_at = $8, result = COALESCE($9, result),"
    " segment_starts = $11, segment_ends = $12, review = $13"
    " WHERE claim_id = $1 AND version = $10"
)
ENQUEUE = (
    "INSERT INTO outbox (event_id, topic, key, envelope, correlation_id)"
    " SELECT e.event_id, e.topic, e.key, e.envelope, $5"
    " FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::bytea[])"
    " WITH ORDINALITY AS e(event_id, topic, key, envelope, n) ORDER BY e.n"
)


async def _work_submitted(stack: Stack) -> bytes:
    """A WorkSubmitted envelope the matcher wrote in the timed blocks."""
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        rows = await conn.fetch(
            "SELECT envelope FROM outbox WHERE topic = $1 ORDER BY id DESC LIMIT 100", CLAIMS_TOPIC
        )
    finally:
        await conn.close()
    wanted = events_pb2.WorkSubmitted.DESCRIPTOR.full_name
    return next(bytes(r["envelope"]) for r in rows if parse_envelope(r["envelope"]).type == wanted)


async def _submit(conn: asyncpg.Connection, claim_id: uuid.UUID, result: bytes, env: bytes) -> None:
    async with conn.transaction():
        row = await conn.fetchrow(GET, claim_id)
        now, version = datetime.now(UTC), row["version"]
        saved = await conn.execute(
            SAVE,
            claim_id,
            ClaimStatus.SUBMITTED.value,
            version + 1,
            row["deadline_at"],
            1,
            now,
            EndReason.SUBMITTED.value,
            now,
            result,
            version,
            [],
            [],
            ReviewState.PENDING.value,
        )
        if saved != "UPDATE 1":
            raise RuntimeError(f"claim {claim_id}: {saved}")
        await conn.execute(
            ENQUEUE,
            [uuid.uuid4()],
            [CLAIMS_TOPIC],
            [str(row["task_id"]).encode()],
            [env],
            uuid.uuid4().hex,
        )


async def _loop(
    dsn: str, claims: Sequence[uuid.UUID], results: Sequence[bytes], env: bytes, *, conns: int
) -> tuple[list[float], float]:
    """Each claim submitted once, ``conns`` connections in turn; ms of each counted one
    and the seconds they took."""
    connections = [await asyncpg.connect(dsn) for _ in range(conns)]
    took = [0.0] * len(claims)
    todo = iter(range(len(claims)))  # shared: each index taken once

    async def worker(conn: asyncpg.Connection) -> None:
        for i in todo:
            started = time.perf_counter()
            await _submit(conn, claims[i], results[i % len(results)], env)
            took[i] = (time.perf_counter() - started) * 1000

    try:
        for i in range(RAW_WARMUP):  # one connection warms them all: shared buffers
            await _submit(connections[i % conns], claims[i], results[i % len(results)], env)
        for _ in range(RAW_WARMUP):
            next(todo)
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in connections))
        return took[RAW_WARMUP:], time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.close() for c in connections))


async def baseline(stack: Stack, raw: Side, results: Sequence[str]) -> dict[int, str]:
    """The bare loop on one and on POOL connections, each on a fresh copy; the figures of
    each, by its number of connections."""
    env = await _work_submitted(stack)
    await asyncio.to_thread(copy_matcher_db, stack, TEMPLATE)
    claims = [uuid.UUID(c) for c in raw.claims]
    encoded = [r.encode() for r in results]
    shown = {}
    for conns in (1, POOL):
        dsn = await asyncio.to_thread(_new_db, stack, f"{TEMPLATE}_run", "-T", TEMPLATE)
        ms, seconds = await _loop(dsn, claims, encoded, env, conns=conns)
        shown[conns] = (
            f"SubmitWork's statements, bare asyncpg loop on {conns} connection"
            f"{'s' if conns > 1 else ''}: p50 {percentile(ms, 50):.2f} ms,"
            f" p99 {percentile(ms, 99):.2f} ms, mean {fmean(ms):.2f} ms, {len(ms) / seconds:,.0f}/s"
        )
        print(f"answers: {shown[conns]} ({len(ms)} transactions)")
    return shown


async def check_cost(stack: Stack, project_id: str, results: Sequence[str]) -> str:
    """µs per AnswerChecker.check, and per json.loads alone, on ``results``."""
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        stored = await conn.fetchval(
            "SELECT s.spec FROM answer_specs s JOIN projects p USING (project_id)"
            " WHERE p.project_id = $1 AND s.version = p.answer_spec_version",
            project_id,
        )
    finally:
        await conn.close()
    checker = AnswerChecker(from_json(json.loads(stored) if isinstance(stored, str) else stored))
    encoded = [r.encode() for r in results]
    check = _per_call(lambda r: checker.check(r), encoded)
    parse = _per_call(lambda r: json.loads(r.decode()), encoded)
    return f"{check:.1f} µs per call (json.loads alone {parse:.1f} µs; {len(encoded)} results)"


def _per_call(fn: Callable[[bytes], Any], items: Sequence[bytes]) -> float:
    """µs per call: the fastest of CHECKS passes over ``items`` (after one unmeasured)."""
    best = float("inf")
    for n in range(CHECKS + 1):
        started = time.perf_counter()
        for item in items:
            fn(item)
        if n:
            best = min(best, time.perf_counter() - started)
    return best / len(items) * 1e6


_LINE = re.compile(r":\d+\)$")


def _samples(raw: Path) -> tuple[int, dict[str, int]]:
    """Total samples, and inclusive samples per function (its line numbers merged), from
    py-spy's collapsed stacks."""
    total = 0
    incl: dict[str, int] = {}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        for frame in {_LINE.sub(")", f) for f in stack.split(";")}:
            incl[frame] = incl.get(frame, 0) + int(count)
    return total, incl


def _profiled(pyspy: str, out: Path, run: Callable[[], object]) -> tuple[int, dict[str, int]]:
    """``run()`` with py-spy sampling the matcher throughout; its samples."""
    command = [pyspy, "record", "-p", str(pid_of("matcher")), "-r", "200", "-f", "raw"]
    spy = subprocess.Popen(
        [*command, "-o", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # attached
    run()
    spy.send_signal(signal.SIGINT)  # py-spy writes what it has and exits
    spy.wait()
    return _samples(out)


async def profile_sides(
    summary: Summary, submit: Callable[[Side, int], object], off: Side, on: Side
) -> None:
    """Each side's profiled claims submitted under py-spy; what grew from off to on."""
    pyspy = os.environ.get("PYSPY") or shutil.which("py-spy")
    if not pyspy:
        summary.note("py-spy not found (set PYSPY=/path/to/py-spy): no SubmitWork profile")
        return
    found, calls = {}, {}
    for side in (off, on):
        out = HOME / "bench" / f"answers-{side.name}.pyspy.txt"
        calls[side.name] = len(side.claims) - side.done
        found[side.name] = await asyncio.to_thread(
            _profiled, pyspy, out, partial(submit, side, calls[side.name])
        )
    (n_off, f_off), (n_on, f_on) = found[off.name], found[on.name]
    c_off, c_on = calls[off.name], calls[on.name]
    # Frames under less than half the samples: the event loop's and the server's own,
    # under every call, grow by whatever grows beneath them.
    grew = {f: n / c_on - f_off.get(f, 0) / c_off for f, n in f_on.items() if n < n_on / 2}
    top = sorted(grew.items(), key=lambda kv: -kv[1])[:10]
    head = (
        f"SubmitWork profile (py-spy, 200 Hz): matcher samples per call off"
        f" {n_off / c_off:.2f}, on {n_on / c_on:.2f}; grew most per call:"
    )
    print("answers: " + head + "".join(f"\n    +{d:.3f}  {f}" for f, d in top))
    summary.note(head + " " + "; ".join(f"{f.split(' (')[0]} +{d:.3f}" for f, d in top[:5]))
