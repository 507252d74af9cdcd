"""The gold bench's stage (see ``bench.gold``): a project with gold added through
AddGoldTasks on the running stack; the bench's own quality process (the running one's
command and environment, with its own database and Kafka topic namespace); answers to
gold, their instances seeded by SQL and their WorkSubmitted published as a backlog.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import grpc

from bench import gold_raw
from bench.answers_seed import VERDICTS, result, spec
from bench.common import HOME, Stack, new_client, new_project, pid_of
from bench.replicas import _partitions_assigned
from crewline.cli import wait_healthy
from crewline.client.errors import error_reason
from crewline.events import CLAIMS_TOPIC, wrap
from crewline.kafka import make_producer
from crewline.protobuf import timestamp
from crewline.settings import KafkaSettings, PostgresSettings, env_addr
from crewline.v1 import events_pb2, quality_service_pb2_grpc
from crewline.v1 import quality_service_pb2 as quality_api
from tools.demo_rpc import Metadata, call

GOLD_TASKS = 50
CONTRACTORS = 1_000
DATABASE = "crewline_bench_gold"
POLL = 0.1
PORT_OFFSET = 10  # the bench's quality process listens 10 ports above the stack's


@dataclass(frozen=True)
class Stage:
    project_id: str
    client_id: str
    gold: list[tuple[uuid.UUID, str]]  # each gold task's id and key verdict


def _verdict(k: int) -> str:
    return VERDICTS[k % len(VERDICTS)]


def _key(k: int) -> dict[str, object]:
    return {"verdict": _verdict(k), "issues": ["none"], "confidence": 0.5}


async def stage(stack: Stack) -> Stage:
    """A client's project with a spec, and its gold, added through AddGoldTasks (retried
    while the quality service has not yet heard of the client's key or the project)."""
    client_id = stack.name("gold-client")
    client: Metadata = await new_client(stack, client_id)
    project = await new_project(stack, client, title=stack.name("gold"), answer_spec=spec())
    host, port = env_addr(os.environ, "CREWLINE_QUALITY_GRPC_ADDR", "127.0.0.1:50054")
    quality = quality_service_pb2_grpc.QualityServiceStub(stack.channel(f"{host}:{port}"))
    request = quality_api.AddGoldTasksRequest(
        project_id=project,
        gold_tasks=[
            quality_api.GoldTask(
                idempotency_key=f"g{k}",
                payload_json=json.dumps({"case": k}),
                answer_json=json.dumps(_key(k)),
                rules=[quality_api.GoldFieldRule(field="confidence", tolerance=0.1)],
            )
            for k in range(GOLD_TASKS)
        ],
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            reply: quality_api.AddGoldTasksResponse = await call(
                quality.AddGoldTasks, request, client
            )
            break
        except grpc.aio.AioRpcError as err:
            # The quality service learns API keys and projects by events: a moment late.
            waiting = err.code() in (
                grpc.StatusCode.NOT_FOUND,
                grpc.StatusCode.UNAUTHENTICATED,
            ) or (error_reason(err) == "NO_ANSWER_SPEC")
            if not waiting or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    gold = [(uuid.UUID(g.gold_id), _verdict(k)) for k, g in enumerate(reply.gold_tasks)]
    return Stage(project_id=project, client_id=client_id, gold=gold)


# --- the bench's own quality process ---------------------------------------------------


def pg(database: str | None = None) -> PostgresSettings:
    pg = PostgresSettings.from_env(os.environ, service="quality")
    if database is None:
        return pg
    return PostgresSettings(
        host=pg.host, port=pg.port, user=pg.user, password=pg.password, database=database
    )


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(pg("postgres").dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fresh_database() -> None:
    """DATABASE made afresh (the process migrates it when it starts)."""
    await admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await admin(f"CREATE DATABASE {DATABASE}")


async def copy_gold(stage: Stage) -> None:
    """The project's row and its gold, from the stack's quality database to DATABASE."""
    src = await asyncpg.connect(pg().dsn)
    dst = await asyncpg.connect(pg(DATABASE).dsn)
    try:
        for table, where in (("projects", "project_id = $1"), ("gold_tasks", "project_id = $1")):
            rows = await src.fetch(f"SELECT * FROM {table} WHERE {where}", stage.project_id)
            columns = [c for c in rows[0].keys() if c != "seq"]  # an identity: made anew
            await dst.copy_records_to_table(
                table, records=[tuple(r[c] for c in columns) for r in rows], columns=columns
            )
    finally:
        await src.close()
        await dst.close()


@dataclass
class Process:
    pid: int
    addr: str
    log: Path
    process: subprocess.Popen[bytes]


def _spawn(namespace: str, run: int) -> Process:
    primary = pid_of("quality")
    raw = Path(f"/proc/{primary}/environ").read_bytes().split(b"\0")
    env = dict(e.decode().split("=", 1) for e in raw if b"=" in e)
    argv = [a.decode() for a in Path(f"/proc/{primary}/cmdline").read_bytes().split(b"\0") if a]
    host, port = env_addr(env, "CREWLINE_QUALITY_GRPC_ADDR", "127.0.0.1:50054")
    mhost, mport = env_addr(env, "CREWLINE_QUALITY_METRICS_ADDR", "127.0.0.1:9104")
    addr = f"{host}:{port + PORT_OFFSET}"
    env.update(
        CREWLINE_QUALITY_PG_DB=DATABASE,
        CREWLINE_KAFKA_NAMESPACE=namespace,
        CREWLINE_QUALITY_GRPC_ADDR=addr,
        CREWLINE_QUALITY_METRICS_ADDR=f"{mhost}:{mport + PORT_OFFSET}",
        CREWLINE_LOG_FORMAT="json",
    )
    env.pop("CREWLINE_QUALITY_PG_DSN", None)
    log = HOME / "log" / f"quality-bench-gold-{run}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env=env, cwd=os.readlink(f"/proc/{primary}/cwd"), stdout=out, stderr=out
        )
    return Process(pid=process.pid, addr=addr, log=log, process=process)


@asynccontextmanager
async def quality_process(namespace: str, run: int) -> AsyncIterator[Process]:
    """The bench's quality process, healthy and holding its partitions, until exit; its
    log is quality-bench-gold-<run>.log."""
    proc = await asyncio.to_thread(_spawn, namespace, run)
    try:
        statuses = await wait_healthy([proc.addr], timeout=90)
        if statuses[proc.addr] != "SERVING":
            raise RuntimeError(f"the bench's quality process is not healthy; see {proc.log}")
        deadline = time.monotonic() + 90
        while not _partitions_assigned(proc.log):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bench's quality process got no partitions: {proc.log}")
            await asyncio.sleep(0.25)
        yield proc
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.process.wait, 60)
        except subprocess.TimeoutExpired:
            proc.process.kill()
            await asyncio.to_thread(proc.process.wait)


# --- answers --------------------------------------------------------------------------


def answers(stack: Stack, stage: Stage, count: int, tag: str) -> list[gold_raw.Answer]:
    """``count`` answers of CONTRACTORS contractors, each to a gold task of their own,
    half right; submitted a millisecond apart, so each window's order is the publish
    order."""
    at = datetime.now(UTC)
    out = []
    for i in range(count):
        gold_id, verdict = stage.gold[i % len(stage.gold)]
        right = i % 2 == 0
        answer = json.loads(result(i))
        answer["verdict"] = verdict if right else next(v for v in VERDICTS if v != verdict)
        answer.update(issues=["none"], confidence=0.55)
        out.append(
            gold_raw.Answer(
                claim_id=str(uuid.uuid4()),
                task_id=str(uuid.uuid4()),
                gold_id=gold_id,
                contractor_id=stack.name(f"gold-{tag}-c{i % CONTRACTORS}"),
                project_id=stage.project_id,
                client_id=stage.client_id,
                submitted_at=at + timedelta(milliseconds=i),
                result=json.dumps(answer, separators=(",", ":")),
                correct=right,
            )
        )
    return out


async def seed(batch: list[gold_raw.Answer]) -> None:
    """Each answer's gold instance, issued and claimed (as ClaimGranted leaves it)."""
    conn = await asyncpg.connect(pg(DATABASE).dsn)
    try:
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "gold_instances",
            records=[
                (
                    a.task_id,
                    a.gold_id,
                    a.project_id,
                    a.client_id,
                    a.contractor_id,
                    now,
                    now + timedelta(hours=1),
                    a.claim_id,
                )
                for a in batch
            ],
            columns=[
                "task_id",
                "gold_id",
                "project_id",
                "client_id",
                "contractor_id",
                "issued_at",
                "lapses_at",
                "claim_id",
            ],
        )
        await conn.execute("ANALYZE gold_instances")
    finally:
        await conn.close()


async def publish(kafka: KafkaSettings, batch: list[gold_raw.Answer]) -> None:
    producer = make_producer(kafka, client_id="bench-gold")
    await producer.start()
    try:
        topic = kafka.topic(CLAIMS_TOPIC)
        for n, a in enumerate(batch):
            event = events_pb2.WorkSubmitted(
                claim_id=a.claim_id,
                task_id=a.task_id,
                contractor_id=a.contractor_id,
                project_id=a.project_id,
                client_id=a.client_id,
                result=a.result.encode(),
                submitted_at=timestamp(a.submitted_at),
                worked_seconds=60,
            )
            value = wrap(event, producer="bench", correlation_id=f"bench-gold-{n}")
            await producer.send(topic, value.SerializeToString(), key=a.task_id.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def wait_answered(total: int, *, timeout: float = 600.0) -> float:
    """Until ``gold_answers`` holds ``total`` rows; monotonic time then."""
    conn = await asyncpg.connect(pg(DATABASE).dsn)
    try:
        deadline = time.monotonic() + timeout
        while (n := await conn.fetchval("SELECT count(*) FROM gold_answers")) < total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} of {total} gold answers stored")
            await asyncio.sleep(POLL)
        return time.monotonic()
    finally:
        await conn.close()


async def count() -> int:
    conn = await asyncpg.connect(pg(DATABASE).dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM gold_answers"))
    finally:
        await conn.close()


async def backlog(proc: Process, kafka: KafkaSettings, batch: list[gold_raw.Answer]) -> float:
    """Publish ``batch`` while the process is stopped, resume it; the monotonic time of
    the resumption."""
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        await publish(kafka, batch)
    finally:
        resumed = time.monotonic()
        os.kill(proc.pid, signal.SIGCONT)
    return resumed
