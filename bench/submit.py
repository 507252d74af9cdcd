"""SubmitTasks into Kafka: from the first SubmitTasks call until the last TaskPublished is
on crewline.tasks.v1, beside Kafka's own producer-perf-test with the same record size."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import (
    HOME,
    Stack,
    Summary,
    new_client,
    new_project,
    submit_tasks,
    task_specs,
    wait_quiet,
)
from crewline.events import TASKS_TOPIC, parse_envelope
from crewline.kafka import ensure_topics
from crewline.settings import KafkaSettings
from crewline.v1 import events_pb2

TASKS, BATCH, IN_FLIGHT = 20_000, 1000, 4
KAFKA_LIBS = HOME / "kafka"
PERF_TOPIC = "crewline.bench.perf.v1"
TOOLS = HOME / "bench" / "kafka-tools"  # kafka-tools + argparse4j jars (see bench/README)


def producer_perf_test(stack: Stack, *, records: int, size: int) -> str:
    """kafka-producer-perf-test (ProducerPerformance) with the services' producer settings."""
    jars = [*sorted(KAFKA_LIBS.glob("*/libs")), TOOLS]
    classpath = ":".join(f"{d}/*" for d in jars)
    out = subprocess.run(
        [
            "java",
            "-Xmx256m",
            "-cp",
            classpath,
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            PERF_TOPIC,
            "--num-records",
            str(records),
            "--record-size",
            str(size),
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={stack.kafka_bootstrap}",
            "acks=all",
            "enable.idempotence=true",
            "linger.ms=2",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    last = [line for line in out.stdout.splitlines() if "records sent" in line][-1]
    m = re.search(r"([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency", last)
    return f"{float(m.group(1)):,.0f} records/s ({m.group(2)} MB/s)" if m else last


async def run(stack: Stack, summary: Summary) -> None:
    client = await new_client(stack, stack.name("submit-client"))
    project = await new_project(stack, client, title=stack.name("submit"))
    specs = task_specs(stack.name("submit"), TASKS, slots=1)
    await wait_quiet()
    # The consumer knows the ids only after SubmitTasks returns; it collects every
    # TaskPublished from the topic's current end and matches them afterwards.
    ready = asyncio.Event()
    wanted: set[str] = set()
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def batch(at: int) -> list[str]:
        async with gate:
            return await submit_tasks(stack, client, project, specs[at : at + BATCH])

    collected: dict[str, float] = {}
    done = asyncio.Event()
    reader = asyncio.create_task(_collect(stack, collected, wanted, ready, done))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([reader, waiting], return_when=asyncio.FIRST_COMPLETED)
    if reader.done():
        reader.result()  # the reader failed before it was ready: say why
    print(f"submit: {TASKS} tasks in SubmitTasks batches of {BATCH}, {IN_FLIGHT} in flight")
    started = time.monotonic()
    replies = await asyncio.gather(*(batch(a) for a in range(0, TASKS, BATCH)))
    returned = time.monotonic() - started
    wanted.update(i for ids in replies for i in ids)
    try:
        await asyncio.wait_for(done.wait(), 120)
    except TimeoutError:
        pass
    reader.cancel()
    missing = len(wanted - collected.keys())
    last = max(collected[i] for i in wanted if i in collected)
    sizes = [int(collected.get(f"size:{i}", 0)) for i in wanted]
    size = sum(sizes) // max(1, len(sizes))
    took = last - started
    await ensure_topics(KafkaSettings(bootstrap_servers=stack.kafka_bootstrap), [PERF_TOPIC])
    if TOOLS.is_dir() and any(TOOLS.glob("kafka-tools-*.jar")):
        baseline = producer_perf_test(stack, records=TASKS, size=size)
        baseline = f"kafka-producer-perf-test {baseline}, {TASKS} x {size} B, acks=all"
    else:
        baseline = f"not run: no kafka-tools jar in {TOOLS}"
    summary.add(
        "SubmitTasks -> TaskPublished on crewline.tasks.v1 (goal >= 2,000/s)",
        f"{TASKS / took:,.0f} tasks/s ({TASKS - missing}/{TASKS} published in {took:.1f}s; "
        f"SubmitTasks returned after {returned:.1f}s; record {size} B)",
        baseline,
    )


async def _collect(
    stack: Stack,
    collected: dict[str, float],
    wanted: set[str],
    ready: asyncio.Event,
    done: asyncio.Event,
) -> None:
    """task id -> monotonic time its TaskPublished was read (and "size:<id>" -> bytes), from
    the topic's end when it started; ``done`` once every ``wanted`` id was read."""
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        # `make up` made the topics with this many partitions (crewline.cli topics).
        parts = [TopicPartition(TASKS_TOPIC, p) for p in range(stack.topic_partitions)]
        consumer.assign(parts)
        await consumer.seek_to_end(*parts)
        for p in parts:
            await consumer.position(p)
        ready.set()
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    env = parse_envelope(record.value)
                    if env.type == events_pb2.TaskPublished.DESCRIPTOR.full_name:
                        event = events_pb2.TaskPublished()
                        env.payload.Unpack(event)
                        collected[event.task_id] = now
                        collected[f"size:{event.task_id}"] = len(record.value or b"")
            if wanted and wanted <= collected.keys():
                done.set()
    finally:
        await consumer.stop()
