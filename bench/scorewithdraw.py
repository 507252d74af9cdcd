"""Score change -> offer withdrawn on a live stream: p99 < 1 s, with 5,000 streams open.

The stage: 5,000 contractors with real tokens, each holding a StreamOffers stream on
one project (held by bench/streamgen, one Go process, as in ``bench.fanout``), on the
stack's one matcher. The project requires ``quality.acceptance_rate >= 60`` measured in
itself, so contractors not yet measured there are let in (docs/quality.md,
"Newcomers"), and it has OPEN_TASKS open tasks, which every stream is offered in its
snapshot.

A change: one contractor's first review in the project, a rejection. It is published
as the dispatcher's outbox relay publishes a ``SubmissionRejected`` (the kernel's
``wrap``, on crewline.tasks.v1, keyed by a task id of its own), so the change goes
through everything after the client's ReviewSubmission commits: Kafka, the quality
service's consumer (the review stored, the score recounted to 25, ScoreChanged in its
outbox), its outbox relay, Kafka again, the matcher's consumer (the score kept, the
contractor's eligibility recomputed, a NOTIFY), the offer hub, and the stream. The
clock starts when the bench hands the record to its Kafka producer (time.monotonic()
just before ``send``) and stops when streamgen reads that contractor's first
``OfferWithdrawn`` with reason NOT_ELIGIBLE (CLOCK_MONOTONIC, the same clock). What is
not inside: the dispatcher's ReviewSubmission transaction and its own outbox relay's
pick-up (see bench.lifecycle for a call's cost). CHANGES changes, one every PACE
seconds, each of a different contractor, with every other stream open. In between, the
quality service's own clock when it stored each score (``scores.updated_at``, the
ScoreChanged event's time) splits each latency in two.

Baselines from the same run, on the same streams:
- the operator's ``BlockContractor`` (in the project) of BLOCKS other contractors at
  the same pace, from the call until the same NOT_ELIGIBLE withdrawal: the matcher's
  own withdrawal path (its transaction, NOTIFY, the hub, the stream), without the two
  Kafka hops and the quality service;
- Kafka's own end-to-end latency tool (``EndToEndLatency`` from the kafka-tools jar
  ``make bench`` fetches) on the same broker, acks=all: one hop of the two a change
  makes.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from bench import fanout
from bench.common import (
    HostShare,
    Stack,
    Summary,
    cpu_seconds,
    new_client,
    new_contractors,
    new_project,
    percentile,
    pid_of,
    submit_tasks,
    task_specs,
    wait_pooled,
    wait_quiet,
)
from bench.submit import KAFKA_LIBS, TOOLS
from crewline.events import TASKS_TOPIC, wrap
from crewline.kafka import ensure_topics, make_producer
from crewline.protobuf import timestamp
from crewline.settings import KafkaSettings, PostgresSettings
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import events_pb2, project_pb2
from tools.demo_rpc import call

STREAMS = fanout.STREAMS  # 5,000
OPEN_TASKS = 3
CHANGES, BLOCKS = 400, 200
PACE = 0.1  # seconds between two changes (or blocks): 10 a second
MEASURE = "quality.acceptance_rate"
THRESHOLD = 60  # a first rejection scores 25
WAIT_TIMEOUT = 120.0
E2E_TOPIC = "crewline.bench.e2e.v1"
E2E_MESSAGES, E2E_BYTES = 2_000, 400


@dataclass(frozen=True)
class Sent:
    index: int  # the contractor's stream
    contractor_id: str
    mono: float  # time.monotonic() just before the cause was sent
    wall: datetime


async def setup(stack: Stack) -> fanout.Setup:
    started = time.monotonic()
    ids = [stack.name(f"sw-c{i}") for i in range(STREAMS)]
    tokens = await new_contractors(stack, ids)
    client = await new_client(stack, stack.name("sw-client"))
    requirement = project_pb2.Requirement(
        qualification=MEASURE,
        comparator=project_pb2.COMPARATOR_GREATER_OR_EQUAL,
        scores=[THRESHOLD],
    )
    project = await new_project(
        stack, client, title=stack.name("scorewithdraw"), requirements=[requirement]
    )
    tasks = await submit_tasks(
        stack, client, project, task_specs(stack.name("sw-open"), OPEN_TASKS, slots=1)
    )
    await wait_pooled(stack, tasks)
    await _wait_eligible(stack, project, ids)
    print(
        f"scorewithdraw: {STREAMS} contractors, project {project} requiring {MEASURE} >="
        f" {THRESHOLD} in itself, {OPEN_TASKS} open tasks, all eligible"
        f" ({time.monotonic() - started:.0f}s)"
    )
    return fanout.Setup(client=client, project_id=project, tokens=tokens)


async def _wait_eligible(stack: Stack, project_id: str, ids: list[str]) -> None:
    """Until the matcher holds every one of ``ids`` eligible for the project (earlier
    runs' contractors on the same stack are eligible too: not counted)."""
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        deadline = time.monotonic() + WAIT_TIMEOUT
        while True:
            found = await conn.fetchval(
                "SELECT count(*) FROM eligibility WHERE project_id = $1"
                " AND contractor_id = ANY($2::text[])",
                project_id,
                ids,
            )
            if found == len(ids):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{found} of {len(ids)} contractors eligible for {project_id}")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


def _contractor(stack: Stack, index: int) -> str:
    return stack.name(f"sw-c{index}")


async def _rejections(
    stack: Stack, project_id: str, client_id: str, indexes: list[int]
) -> list[Sent]:
    """One SubmissionRejected per contractor, PACE apart, as the dispatcher's relay
    publishes it; when each was handed to the producer."""
    kafka = KafkaSettings(bootstrap_servers=stack.kafka_bootstrap)
    producer = make_producer(kafka, client_id="bench-scorewithdraw")
    await producer.start()
    sent: list[Sent] = []
    try:
        began = time.monotonic()
        for n, index in enumerate(indexes):
            await asyncio.sleep(max(0.0, began + n * PACE - time.monotonic()))
            contractor, task = _contractor(stack, index), str(uuid.uuid4())
            wall = datetime.now(UTC)
            event = events_pb2.SubmissionRejected(
                submission_id=str(uuid.uuid4()),
                task_id=task,
                contractor_id=contractor,
                client_id=client_id,
                project_id=project_id,
                feedback="bench: wrong",
                rejected_at=timestamp(wall),
            )
            value = wrap(event, producer="bench", correlation_id=f"bench-sw-{n}")
            mono = time.monotonic()
            await producer.send(
                kafka.topic(TASKS_TOPIC), value.SerializeToString(), key=task.encode()
            )
            sent.append(Sent(index, contractor, mono, wall))
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def _blocks(stack: Stack, project_id: str, indexes: list[int]) -> list[Sent]:
    """BlockContractor in the project for each contractor, PACE apart (each call's
    start: the clock reads just before it)."""
    admin = stack.contractors
    sent: list[Sent] = []
    began = time.monotonic()
    for n, index in enumerate(indexes):
        await asyncio.sleep(max(0.0, began + n * PACE - time.monotonic()))
        contractor = _contractor(stack, index)
        wall, mono = datetime.now(UTC), time.monotonic()
        await call(
            admin.BlockContractor,
            contractor_admin.BlockContractorRequest(
                block_id=stack.name(f"sw-block-{index}"),
                contractor_id=contractor,
                project_id=project_id,
                reason="bench",
            ),
            stack.operator,
        )
        sent.append(Sent(index, contractor, mono, wall))
    return sent


async def _withdrawn(fan: fanout.Fan, sent: list[Sent]) -> tuple[list[float], int, dict[str, int]]:
    """Seconds from each cause to its stream's first NOT_ELIGIBLE withdrawal; how many
    did not arrive; every stream's first withdrawal time (ns) so far."""
    reply = await fan.order({"withdrawals": [s.index for s in sent], "timeout": WAIT_TIMEOUT})
    got: dict[str, int] = reply["withdrawn"]
    lat = [got[str(s.index)] / 1e9 - s.mono for s in sent if str(s.index) in got]
    return lat, len(sent) - len(lat), got


async def _quality_stored(stack: Stack, project_id: str, sent: list[Sent]) -> list[float]:
    """Seconds from each rejection's send to the quality service's clock when it stored
    the score (ScoreChanged's time)."""
    pg = PostgresSettings.from_env(os.environ, service="quality")
    conn = await asyncpg.connect(pg.dsn)
    try:
        rows = await conn.fetch(
            "SELECT contractor_id, updated_at FROM scores WHERE project_id = $1"
            " AND measure = 'acceptance_rate' AND contractor_id = ANY($2::text[])",
            project_id,
            [s.contractor_id for s in sent],
        )
    finally:
        await conn.close()
    at = {r["contractor_id"]: r["updated_at"] for r in rows}
    return [(at[s.contractor_id] - s.wall).total_seconds() for s in sent if s.contractor_id in at]


def kafka_e2e(stack: Stack) -> str:
    """Kafka's EndToEndLatency on the same broker (acks=all): its p50 / p99."""
    if not any(TOOLS.glob("kafka-tools-*.jar")):
        return f"not run: no kafka-tools jar in {TOOLS} (make bench fetches it)"
    classpath = ":".join(f"{d}/*" for d in [*sorted(KAFKA_LIBS.glob("*/libs")), TOOLS])
    out = subprocess.run(
        [
            "java",
            "-Xmx256m",
            "-cp",
            classpath,
            "org.apache.kafka.tools.EndToEndLatency",
            stack.kafka_bootstrap,
            E2E_TOPIC,
            str(E2E_MESSAGES),
            "all",
            str(E2E_BYTES),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    avg = re.search(r"Avg latency: ([\d.]+) ms", out.stdout)
    pct = re.search(r"50th = ([\d.]+), 99th = ([\d.]+), 99.9th = ([\d.]+)", out.stdout)
    if not (avg and pct):
        return out.stdout.strip().splitlines()[-1]
    return (
        f"Kafka EndToEndLatency, one hop, {E2E_MESSAGES:,} messages of {E2E_BYTES} B, acks=all:"
        f" p50 {pct.group(1)} ms, p99 {pct.group(2)} ms, avg {float(avg.group(1)):.1f} ms"
    )


def _ms(lat: list[float]) -> str:
    return (
        f"p50 {percentile(lat, 50) * 1000:.0f} ms, p99 {percentile(lat, 99) * 1000:.0f} ms,"
        f" max {max(lat) * 1000:.0f} ms"
    )


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


async def run(stack: Stack, summary: Summary) -> None:
    ready = await setup(stack)
    step = STREAMS // (CHANGES + BLOCKS)  # spread over the streams (and both connections)
    picked = [i * step for i in range(CHANGES + BLOCKS)]
    changed, blocked = picked[0::3] + picked[1::3], picked[2::3]
    changed, blocked = changed[:CHANGES], blocked[:BLOCKS]
    client_id = stack.name("sw-client")
    matcher = pid_of("matcher")
    async with fanout.streams(stack, ready, [stack.addresses.matcher]) as fan:
        await wait_quiet()
        print(f"scorewithdraw: {len(changed)} score changes, one every {PACE}s ({_load()})")
        cpu = cpu_seconds(matcher)
        with HostShare() as host:
            sent = await _rejections(stack, ready.project_id, client_id, changed)
            lat, missing, _ = await _withdrawn(fan, sent)
        used = cpu_seconds(matcher) - cpu
        print(f"scorewithdraw: {_ms(lat)}; missing {missing} ({_load()})")
        stored = await _quality_stored(stack, ready.project_id, sent)
        await wait_quiet()
        print(f"scorewithdraw: {len(blocked)} operator blocks, one every {PACE}s")
        blocks = await _blocks(stack, ready.project_id, blocked)
        block_lat, block_missing, got = await _withdrawn(fan, blocks)
        print(f"scorewithdraw: blocks {_ms(block_lat)}; missing {block_missing}")
    others = sorted(set(got) - {str(i) for i in changed + blocked})
    await ensure_topics(
        KafkaSettings(bootstrap_servers=stack.kafka_bootstrap, topic_partitions=1), [E2E_TOPIC]
    )
    e2e = await asyncio.to_thread(kafka_e2e, stack)
    summary.add(
        f"score change -> NOT_ELIGIBLE on the stream ({len(lat)} rejections, one every"
        f" {PACE}s, {STREAMS:,} streams open on one matcher)",
        _ms(lat) + f"; {missing} missing",
        "goal p99 < 1 s",
    )
    summary.add("  of which: rejection sent -> quality stored the score", _ms(stored))
    summary.add(
        f"operator BlockContractor -> NOT_ELIGIBLE on the stream ({len(block_lat)} blocks)",
        _ms(block_lat) + f"; {block_missing} missing",
        e2e,
    )
    summary.add(
        "streams given a NOT_ELIGIBLE withdrawal that had no change", f"{len(others)}", "goal: 0"
    )
    summary.add(
        f"matcher CPU during the {len(sent)} changes",
        f"{used:.1f}s over {host.wall:.0f}s; other work on the host {host.others / host.wall:.2f}"
        " cores",
    )
