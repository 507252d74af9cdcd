"""deploy/local/*.sh, as `make up` / `make down` and a chaos harness use them, on the test
instance: services.sh in homes of their own, restarts of the test instance's Kafka and
PostgreSQL, and the record that ties a stack's state to its ports."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from crewline.events import ALL_TOPICS

from harness import SERVICES, service_env
from stack import (
    INFRA_ENV,
    PG_HOST,
    PG_PORT,
    PG_USER,
    ROOT,
    RUN_ID,
    alive,
    create_topics,
    eventually,
    free_port,
    fresh_database,
    infra_env,
    kafka_settings,
    run_script,
    start_infra,
)

# Ports of other stacks on this machine (the main stack, other test instances): never
# chosen here, even while nothing listens on them.
OTHERS_PORTS = (
    range(55432, 55441),
    range(59090, 59101),
    range(50051, 50055),
    range(9101, 9105),
    range(51060, 51070),
    range(9120, 9140),
)


async def services_sh(action: str, env: dict[str, str]) -> str:
    code, out = await run_script("services.sh", action, env, timeout=120)
    assert code == 0, out
    return out


async def script(name: str, *args: str, env: dict[str, str]) -> tuple[int, str]:
    """``bash deploy/local/<name> <args>``: its exit code and its output (with stderr)."""
    proc = await asyncio.create_subprocess_exec(
        "bash",
        str(ROOT / "deploy" / "local" / name),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=180)
    except TimeoutError:
        proc.kill()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def succeeds(name: str, *args: str, env: dict[str, str]) -> str:
    code, out = await script(name, *args, env=env)
    assert code == 0, out
    return out


def pid_files(home: Path) -> dict[str, int]:
    return {n: int((home / "run" / f"{n}.pid").read_text()) for n in SERVICES}


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_text().replace("\x00", " ")


def stopped_cleanly(home: Path, name: str) -> bool:
    return '"event": "service_stopped"' in (home / "log" / f"{name}.log").read_text()


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def unclaimed_port(*, plus: int = 0) -> int:
    """A free port no other stack uses; with ``plus``, that port above it is so too."""
    while True:
        port = free_port()
        pair = (port, port + plus)
        if all(p < 65536 and port_free(p) and not any(p in r for r in OTHERS_PORTS) for p in pair):
            return port


@dataclass(frozen=True)
class Process:
    pid: int
    metrics: str


async def pids(script_name: str, env: dict[str, str]) -> dict[tuple[str, int], Process]:
    """``<script> pids``: each running process by part and number."""
    table = {}
    for line in (await succeeds(script_name, "pids", env=env)).splitlines():
        part, k, pid, metrics = line.split()
        table[(part, int(k))] = Process(int(pid), metrics)
    return table


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as page:
        return str(page.read().decode())


async def ready(name: str, process: Process) -> bool:
    """The process itself (not whichever answers on the shared port) says it is ready."""
    page = await asyncio.to_thread(fetch, f"http://{process.metrics}/metrics")
    return f"crewline_{name}_ready 1.0" in page.splitlines()


async def test_up_starts_healthy_services_and_down_sigterms_those_very_processes() -> None:
    start_infra()
    kafka = kafka_settings("scripts")
    await create_topics(kafka)
    home = ROOT / ".local" / "test" / f"scripts-{RUN_ID}"
    env = {**os.environ, "CREWLINE_HOME": str(home)}
    for name in SERVICES:
        db = await fresh_database(f"scripts_{name}")
        service, _, _ = service_env(name, kafka.namespace, db.database)
        env.update({k: v for k, v in service.items() if k.startswith("CREWLINE_")})

    try:
        up = await services_sh("up", env)
        assert up.count("SERVING") == len(SERVICES)
        pids = pid_files(home)
        for name, pid in pids.items():  # the pid file names the service itself, not a wrapper
            assert command_line(pid).endswith(f" -m {name} ")

        again = await services_sh("up", env)  # idempotent: nothing started twice
        assert "starting" not in again and again.count("SERVING") == len(SERVICES)
        assert pid_files(home) == pids
    finally:
        await services_sh("down", env)
    assert not any(alive(pid) for pid in pids.values())
    assert all(stopped_cleanly(home, n) for n in SERVICES)  # drained by SIGTERM, not killed


@dataclass(frozen=True)
class Scripts:
    home: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
async def two_of_each() -> AsyncIterator[Scripts]:
    """services.sh up with CREWLINE_SERVICE_PROCESSES=2, in a home of its own."""
    start_infra()
    kafka = kafka_settings("scripts_two")
    await create_topics(kafka)
    home = Path(INFRA_ENV["CREWLINE_HOME"]) / f"scripts-two-{RUN_ID}"
    env = {**os.environ, "CREWLINE_HOME": str(home), "CREWLINE_SERVICE_PROCESSES": "2"}
    for name in SERVICES:
        db = await fresh_database(f"scripts_two_{name}")
        service, _, _ = service_env(name, kafka.namespace, db.database)
        env.update({k: v for k, v in service.items() if k.startswith("CREWLINE_")})
        env[f"CREWLINE_{name.upper()}_GRPC_ADDR"] = f"127.0.0.1:{unclaimed_port()}"
        # The second process listens 100 ports above the first.
        env[f"CREWLINE_{name.upper()}_METRICS_ADDR"] = f"127.0.0.1:{unclaimed_port(plus=100)}"
    try:
        up = await services_sh("up", env)
        assert up.count("SERVING") == len(SERVICES), up
        assert up.count(" ready") == 2 * len(SERVICES), up
        yield Scripts(home, env)
    finally:
        await services_sh("down", env)


async def test_two_processes_of_each_service_run_and_pids_lists_each(two_of_each: Scripts) -> None:
    table = await pids("services.sh", two_of_each.env)
    assert sorted(table) == sorted((n, k) for n in SERVICES for k in (1, 2))
    for (name, k), process in table.items():
        assert command_line(process.pid).endswith(f" -m {name} ")
        first = two_of_each.env[f"CREWLINE_{name.upper()}_METRICS_ADDR"]
        host, port = first.rsplit(":", 1)
        assert process.metrics == f"{host}:{int(port) + 100 * (k - 1)}"
        assert await ready(name, process)
    run, log = two_of_each.home / "run", two_of_each.home / "log"
    assert int((run / "matcher-2.pid").read_text()) == table[("matcher", 2)].pid
    assert int((run / "matcher.pid").read_text()) == table[("matcher", 1)].pid
    assert (log / "matcher-2.log").exists()


async def test_up_after_a_process_is_killed_starts_that_one_alone(two_of_each: Scripts) -> None:
    before = await pids("services.sh", two_of_each.env)
    victim = before[("dispatcher", 2)].pid
    os.kill(victim, signal.SIGKILL)

    async def gone() -> bool:
        return not alive(victim)

    await eventually(gone)
    up = await services_sh("up", two_of_each.env)
    assert up.count("starting") == 1 and "starting dispatcher:2" in up, up

    after = await pids("services.sh", two_of_each.env)
    assert after[("dispatcher", 2)].pid != victim
    assert await ready("dispatcher", after[("dispatcher", 2)])
    assert {p: v for p, v in after.items() if p != ("dispatcher", 2)} == {
        p: v for p, v in before.items() if p != ("dispatcher", 2)
    }


async def test_restart_of_one_process_replaces_it_alone_and_it_serves_again(
    two_of_each: Scripts,
) -> None:
    before = await pids("services.sh", two_of_each.env)
    out = await succeeds("stack.sh", "restart", "matcher:2", env=two_of_each.env)
    assert "SERVING" in out and "matcher:2 ready" in out, out

    after = await pids("stack.sh", two_of_each.env)  # stack.sh pids: services.sh's lines first
    assert after[("matcher", 2)].pid != before[("matcher", 2)].pid
    assert not alive(before[("matcher", 2)].pid)
    assert await ready("matcher", after[("matcher", 2)])
    assert stopped_cleanly(two_of_each.home, "matcher-2")  # without --kill: SIGTERM and a drain
    services_after = {p: v for p, v in after.items() if p[0] in SERVICES}
    assert {p: v for p, v in services_after.items() if p != ("matcher", 2)} == {
        p: v for p, v in before.items() if p != ("matcher", 2)
    }


async def test_down_stops_every_process_even_when_fewer_are_asked_for(
    two_of_each: Scripts,
) -> None:
    before = await pids("services.sh", two_of_each.env)
    assert len(before) == 2 * len(SERVICES)
    await services_sh("down", {**two_of_each.env, "CREWLINE_SERVICE_PROCESSES": "1"})
    assert not any(alive(p.pid) for p in before.values())
    assert not list((two_of_each.home / "run").glob("*.pid"))
    assert not (two_of_each.home / "run" / "services.processes").exists()


async def test_up_with_another_pg_port_in_the_same_home_is_refused_and_changes_nothing() -> None:
    start_infra()
    record = Path(INFRA_ENV["CREWLINE_HOME"]) / "run" / "stack.env"
    remembered = record.read_text()
    before = await pids("stack.sh", infra_env())
    other = unclaimed_port()
    env = {**infra_env(), "CREWLINE_PG_PORT": str(other)}
    # Where a stack.sh up that went through anyway would put the rest: nowhere taken.
    for name in SERVICES:
        env[f"CREWLINE_{name.upper()}_GRPC_ADDR"] = f"127.0.0.1:{unclaimed_port()}"
        env[f"CREWLINE_{name.upper()}_METRICS_ADDR"] = f"127.0.0.1:{unclaimed_port()}"
    env["CREWLINE_PROMETHEUS_PORT"] = str(unclaimed_port())

    for args in (("up",), ("restart", "postgres")):
        code, out = await script("stack.sh", *args, env=env)
        assert code == 1, out
        assert f"CREWLINE_PG_PORT: remembered {PG_PORT}, given {other}" in out
        assert "CREWLINE_KAFKA_PORT" not in out  # only what differs is named
        assert "postgres.sh purge" in out  # and how to start over
    assert record.read_text() == remembered
    assert await pids("stack.sh", infra_env()) == before
    assert port_free(other)


@pytest.mark.disruptive
async def test_restart_kill_of_kafka_starts_a_new_broker_that_takes_requests() -> None:
    start_infra()
    before = (await pids("kafka.sh", infra_env()))[("kafka", 1)].pid
    out = await succeeds("stack.sh", "restart", "kafka", "--kill", env=infra_env())
    assert "SIGKILL" in out, out

    after = (await pids("kafka.sh", infra_env()))[("kafka", 1)].pid
    assert after != before and not alive(before)
    await create_topics(kafka_settings("after_kafka_restart"), ALL_TOPICS[:1])


@pytest.mark.disruptive
async def test_restart_kill_of_postgres_starts_a_new_postmaster_that_takes_connections() -> None:
    start_infra()
    before = (await pids("postgres.sh", infra_env()))[("postgres", 1)].pid
    out = await succeeds("stack.sh", "restart", "postgres", "--kill", env=infra_env())
    assert "-m immediate" in out, out

    after = (await pids("postgres.sh", infra_env()))[("postgres", 1)].pid
    assert after != before and not alive(before)
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()
