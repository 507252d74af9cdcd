"""The real stack for integration and e2e tests, started by the test session itself.

Nothing here is a fake: PostgreSQL and Kafka are started by `deploy/local/infra.sh`,
the same scripts as `make up`, but as a second instance of their own (state in
`.local/test`, ports 55433 and 59094 by default). So `make test` never touches a
stack that `make up` started, and the tests that stop PostgreSQL or Kafka stop only
theirs. Within it, each run also gets its own databases and Kafka namespace.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from crewline.auth import local_secrets
from crewline.auth.local_secrets import LocalSecrets
from crewline.events import ALL_TOPICS, parse_envelope
from crewline.kafka import ensure_topics
from crewline.settings import KafkaSettings, PostgresSettings

ROOT = Path(__file__).resolve().parents[1]
PG_HOST = "127.0.0.1"
PG_PORT = int(os.environ.get("CREWLINE_TEST_PG_PORT", "55433"))
PG_USER = "crewline"
KAFKA_PORT = int(os.environ.get("CREWLINE_TEST_KAFKA_PORT", "59094"))
KAFKA_BOOTSTRAP = f"127.0.0.1:{KAFKA_PORT}"
# What deploy/local/*.sh need to run (and find) the test instance.
INFRA_ENV = {
    "CREWLINE_HOME": os.environ.get("CREWLINE_TEST_HOME", str(ROOT / ".local" / "test")),
    "CREWLINE_PG_HOST": PG_HOST,
    "CREWLINE_PG_PORT": str(PG_PORT),
    "CREWLINE_PG_USER": PG_USER,
    "CREWLINE_KAFKA_HOST": "127.0.0.1",
    "CREWLINE_KAFKA_PORT": str(KAFKA_PORT),
    "CREWLINE_KAFKA_CONTROLLER_PORT": str(KAFKA_PORT + 1),
    "CREWLINE_KAFKA_BOOTSTRAP": KAFKA_BOOTSTRAP,
}
RUN_ID = uuid.uuid4().hex[:8]
# This run's operator credential and token keys (see crewline.auth.local_secrets).
SECRETS_DIR = ROOT / ".local" / "test-secrets" / RUN_ID


def run_secrets() -> LocalSecrets:
    """This run's key material, made on first use and removed at the end of the session."""
    return local_secrets.ensure(SECRETS_DIR)


def remove_run_secrets() -> None:
    shutil.rmtree(SECRETS_DIR, ignore_errors=True)


def infra_command(script: str, action: str) -> list[str]:
    return ["bash", str(ROOT / "deploy" / "local" / script), action]


def infra_env() -> dict[str, str]:
    return {**os.environ, **INFRA_ENV}


def start_infra() -> None:
    """The test instance of PostgreSQL and Kafka up (a no-op when they already run)."""
    subprocess.run(infra_command("infra.sh", "up"), env=infra_env(), check=True)


def safe_name(text: str, *, limit: int = 40) -> str:
    """A test's name made fit for a database or topic name."""
    return re.sub(r"[^a-z0-9_]+", "_", text.lower())[:limit]


def kafka_settings(scope: str, *, partitions: int = 3) -> KafkaSettings:
    """Settings in a namespace of this run's own, one per ``scope``."""
    return KafkaSettings(
        bootstrap_servers=KAFKA_BOOTSTRAP,
        topic_partitions=partitions,
        namespace=f"t{RUN_ID}.{safe_name(scope)}.",
    )


async def create_topics(kafka: KafkaSettings, topics: tuple[str, ...] = ALL_TOPICS) -> None:
    await ensure_topics(kafka, topics)


_CREATED: list[str] = []


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")


async def fresh_database(name: str) -> PostgresSettings:
    """An empty database of this run's own: no other run, concurrent or orphaned, shares it."""
    db = f"crewline_t{RUN_ID}_{len(_CREATED)}_{safe_name(name, limit=36)}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{db}"')
    finally:
        await admin.close()
    _CREATED.append(db)
    return PostgresSettings(host=PG_HOST, port=PG_PORT, user=PG_USER, database=db)


async def drop_created_databases() -> None:
    """Drop the databases this run made (at the end of the session)."""
    if not _CREATED:
        return
    admin = await _admin()
    try:
        for db in _CREATED:
            await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    finally:
        await admin.close()
    _CREATED.clear()


async def outbox_types(pool: asyncpg.Pool) -> list[str]:
    """The payload types of the events a service's handlers wrote so far, in order."""
    rows = await pool.fetch("SELECT envelope FROM outbox ORDER BY id")
    return [parse_envelope(r["envelope"]).type for r in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_script(
    script: str, action: str, env: dict[str, str], *, timeout: float = 180
) -> tuple[int, str]:
    """``bash deploy/local/<script> <action>``: its exit code and its output (with stderr)."""
    proc = await asyncio.create_subprocess_exec(
        "bash",
        str(ROOT / "deploy" / "local" / script),
        action,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:  # bounded: a script whose background children hold its output open never returns
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    except TimeoutError:
        proc.kill()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def alive(pid: int) -> bool:
    """The process runs (a zombie, exited but not yet reaped, does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float = 60.0) -> None:
    """Poll ``check`` until true. ``timeout`` only bounds a broken run; it is no speed target."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


async def read_topic(kafka: KafkaSettings, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record now in ``topic`` (all partitions), read to the end offsets."""
    name = kafka.topic(topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(name, p) for p in range(kafka.topic_partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
        return records
    finally:
        await consumer.stop()


async def delete_run_topics() -> None:
    """Delete the topics of this run's namespaces (at the end of the session)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(f"t{RUN_ID}.")]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


def main(argv: list[str]) -> int:
    """``python tests/stack.py down|purge``: stop (and delete) the test instance."""
    if argv not in (["down"], ["purge"]):
        print("usage: python tests/stack.py down|purge", file=sys.stderr)
        return 2
    env = infra_env()
    code = subprocess.run(infra_command("infra.sh", "down"), env=env, check=False).returncode
    if argv == ["purge"]:
        code |= subprocess.run(infra_command("postgres.sh", "purge"), env=env).returncode
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
