"""Liveness and readiness against real PostgreSQL and Kafka, checked over gRPC.

An in-process gRPC server carries only the health servicer; the monitor probes the
real test stack, or a closed port where a dependency must be unreachable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from crewline.clock import DeadlineClock
from crewline.consumer import EventConsumer
from crewline.db import KERNEL_MIGRATIONS, create_pool, migrate
from crewline.events import TASKS_TOPIC
from crewline.health import LIVENESS, READINESS, DependencyMonitor, WorkerHealth
from crewline.metrics import Metrics
from crewline.outbox import OutboxRelay
from crewline.settings import KafkaSettings, PostgresSettings
from crewline.timekeeping import SystemClock
from crewline.v1 import events_pb2

from stack import PG_HOST, PG_USER, eventually, free_port

SERVICE_NAME = "crewline.v1.TestService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
READY_NAMES = (READINESS, "", SERVICE_NAME)


class Probe:
    """The health names as a probe sees them, over a real gRPC channel."""

    def __init__(self, stub: health_pb2_grpc.HealthStub) -> None:
        self._stub = stub

    async def status(self, name: str) -> int:
        reply = await self._stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        return int(reply.status)

    async def readiness(self) -> set[int]:
        """The statuses of every name that means "ready" (one value when they agree)."""
        return {await self.status(name) for name in READY_NAMES}


@asynccontextmanager
async def health_server(
    servicer: health.aio.HealthServicer,
) -> AsyncIterator[Probe]:
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Probe(health_pb2_grpc.HealthStub(channel))
    finally:
        await server.stop(None)


@dataclass(frozen=True)
class Watched:
    """A monitor set up as the runtime sets it up, and a probe of what it says."""

    monitor: DependencyMonitor
    probe: Probe
    servicer: health.aio.HealthServicer


@asynccontextmanager
async def monitoring(
    pool: asyncpg.Pool,
    kafka: KafkaSettings,
    metrics: Metrics,
    *,
    workers: WorkerHealth | None = None,
    started: bool = True,
) -> AsyncIterator[Watched]:
    """Tests call ``monitor.check`` to probe once, or run ``monitor.run`` in a task."""
    servicer = health.aio.HealthServicer()
    monitor = DependencyMonitor(
        pool=pool,
        kafka=kafka,
        health_servicer=servicer,
        service_names=[SERVICE_NAME],
        metrics=metrics,
        worker_health=workers,
    )
    await monitor.not_serving()
    if started:
        monitor.mark_started()
    try:
        async with health_server(servicer) as probe:
            yield Watched(monitor, probe, servicer)
    finally:
        await monitor.close()


def unreachable_kafka() -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")


@pytest.fixture
async def unreachable_pool() -> AsyncIterator[asyncpg.Pool]:
    """A pool on a closed port (it connects lazily, so creating it succeeds)."""
    settings = PostgresSettings(host=PG_HOST, port=free_port(), user=PG_USER, database="absent")
    pool = await create_pool(settings)
    yield pool
    await pool.close()


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(f"crewline_test_{name}", labels)


class FlakyWorker:
    """A worker whose step fails on purpose when told to; it reports as kernel workers do."""

    name = "flaky"

    def __init__(self, workers: WorkerHealth) -> None:
        self._workers = workers
        workers.register(self.name)

    def step(self, *, fail: bool) -> None:
        try:
            if fail:
                raise RuntimeError("failing on purpose")
        except RuntimeError as exc:
            self._workers.failed(self.name, exc)
        else:
            self._workers.ok(self.name)


async def test_ready_with_database_up_and_kafka_unreachable(
    pool: asyncpg.Pool, metrics: Metrics
) -> None:
    async with monitoring(pool, unreachable_kafka(), metrics) as watched:
        assert await watched.monitor.check()
        assert await watched.probe.readiness() == {SERVING}
        assert await watched.probe.status(LIVENESS) == SERVING
        assert sample(metrics, "dependency_up", dependency="kafka") == 0
        assert sample(metrics, "dependency_up", dependency="postgres") == 1


async def test_not_ready_while_postgres_is_unreachable_but_alive(
    unreachable_pool: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    async with monitoring(unreachable_pool, kafka, metrics) as watched:
        assert not await watched.monitor.check()
        assert await watched.probe.readiness() == {NOT_SERVING}
        assert await watched.probe.status(LIVENESS) == SERVING
        assert sample(metrics, "dependency_up", dependency="postgres") == 0
        assert sample(metrics, "dependency_up", dependency="kafka") == 1


async def test_not_ready_during_startup_even_with_every_dependency_up(
    pool: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    async with monitoring(pool, kafka, metrics, started=False) as watched:
        assert await watched.probe.status(LIVENESS) == SERVING
        assert not await watched.monitor.check()
        assert sample(metrics, "dependency_up", dependency="postgres") == 1
        assert await watched.probe.readiness() == {NOT_SERVING}

        watched.monitor.mark_started()
        assert await watched.monitor.check()
        assert await watched.probe.readiness() == {SERVING}


async def test_the_monitor_loop_follows_the_probes(pool: asyncpg.Pool, metrics: Metrics) -> None:
    async with monitoring(pool, unreachable_kafka(), metrics) as watched:
        task = asyncio.create_task(watched.monitor.run())
        try:

            async def ready() -> bool:
                return await watched.probe.readiness() == {SERVING}

            await eventually(ready)
        finally:
            watched.monitor.stop()
            await task


async def test_graceful_shutdown_says_not_serving_everywhere_for_good(
    pool: asyncpg.Pool, metrics: Metrics
) -> None:
    async with monitoring(pool, unreachable_kafka(), metrics) as watched:
        assert await watched.monitor.check()
        await watched.servicer.enter_graceful_shutdown()
        await watched.monitor.check()  # a probe after SIGTERM changes nothing
        assert await watched.probe.readiness() == {NOT_SERVING}
        assert await watched.probe.status(LIVENESS) == NOT_SERVING


async def test_worker_failing_three_times_in_a_row_is_not_ready_until_one_success(
    pool: asyncpg.Pool, metrics: Metrics
) -> None:
    workers = WorkerHealth(metrics=metrics)
    worker = FlakyWorker(workers)
    async with monitoring(pool, unreachable_kafka(), metrics, workers=workers) as watched:
        worker.step(fail=True)
        worker.step(fail=True)
        assert await watched.monitor.check()  # two in a row: not yet
        assert sample(metrics, "worker_healthy", worker="flaky") == 1

        worker.step(fail=True)
        assert not await watched.monitor.check()
        assert await watched.probe.readiness() == {NOT_SERVING}
        assert await watched.probe.status(LIVENESS) == SERVING
        assert sample(metrics, "worker_healthy", worker="flaky") == 0
        assert sample(metrics, "worker_failures_total", worker="flaky") == 3
        assert workers.failing() == {"flaky": "RuntimeError('failing on purpose')"}

        worker.step(fail=False)
        assert await watched.monitor.check()
        assert await watched.probe.readiness() == {SERVING}
        assert sample(metrics, "worker_healthy", worker="flaky") == 1


async def test_failures_with_a_success_between_them_do_not_add_up(
    pool: asyncpg.Pool, metrics: Metrics
) -> None:
    workers = WorkerHealth(metrics=metrics)
    worker = FlakyWorker(workers)
    async with monitoring(pool, unreachable_kafka(), metrics, workers=workers) as watched:
        for fail in (True, True, False, True, True):
            worker.step(fail=fail)
        assert await watched.monitor.check()
        assert sample(metrics, "worker_healthy", worker="flaky") == 1
        assert sample(metrics, "worker_failures_total", worker="flaky") == 4


async def test_deadline_clock_that_keeps_failing_turns_readiness_off_until_it_recovers(
    pg: PostgresSettings, metrics: Metrics
) -> None:
    # A database without the kernel's tables: every pass of the clock fails, and not
    # for a transient reason. Creating the tables lets its next pass succeed.
    pool = await create_pool(pg)
    workers = WorkerHealth(metrics=metrics)
    clock = DeadlineClock(
        pool=pool,
        handlers={"test": lambda conn, deadline: asyncio.sleep(0)},
        metrics=metrics,
        clock=SystemClock(),
        worker_health=workers,
    )
    try:
        async with monitoring(pool, unreachable_kafka(), metrics, workers=workers) as watched:
            assert await watched.monitor.check()
            task = asyncio.create_task(clock.run())
            try:

                async def clock_keeps_failing() -> bool:
                    # Probe after the clock's state, so the answer is about the clock.
                    failing = "deadline_clock" in workers.failing()
                    return failing and not await watched.monitor.check()

                async def ready() -> bool:
                    return await watched.monitor.check()

                await eventually(clock_keeps_failing)
                assert await watched.probe.readiness() == {NOT_SERVING}
                assert sample(metrics, "worker_healthy", worker="deadline_clock") == 0
                assert (sample(metrics, "worker_failures_total", worker="deadline_clock") or 0) >= 3

                await migrate(pool, component="kernel", directory=KERNEL_MIGRATIONS)
                await eventually(ready)
                assert await watched.probe.readiness() == {SERVING}
                assert sample(metrics, "worker_healthy", worker="deadline_clock") == 1
            finally:
                clock.stop()
                await task
    finally:
        await pool.close()


class RefusingBroker:
    """A port that accepts connections and closes them at once: Kafka as a dead broker.

    It counts the connections, so a test knows how many times a worker tried again.
    """

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> KafkaSettings:
        async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self._server = await asyncio.start_server(refuse, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}")

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


async def test_kafka_errors_in_workers_are_not_failures(
    pool: asyncpg.Pool, metrics: Metrics
) -> None:
    workers = WorkerHealth(metrics=metrics)
    relay_broker, consumer_broker = RefusingBroker(), RefusingBroker()
    async with relay_broker as relay_kafka, consumer_broker as consumer_kafka:
        relay = OutboxRelay(
            pool=pool,
            kafka=relay_kafka,
            metrics=metrics,
            client_id="t-relay",
            drain_timeout=0,  # nothing to drain, and Kafka is away: leave at once
            worker_health=workers,
        )
        consumer = EventConsumer(
            group_id="test",
            topics=[TASKS_TOPIC],
            routes={events_pb2.TaskPublished: lambda conn, event, ctx: asyncio.sleep(0)},
            pool=pool,
            kafka=consumer_kafka,
            metrics=metrics,
            client_id="t-consumer",
            worker_health=workers,
        )
        tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
        try:

            async def each_tried_five_times() -> bool:
                return min(relay_broker.connections, consumer_broker.connections) >= 5

            await eventually(each_tried_five_times)
        finally:
            relay.stop()
            consumer.stop()
            await asyncio.gather(*tasks)

    assert workers.failing() == {}
    for name in ("outbox_relay", "consumer:test"):
        assert sample(metrics, "worker_healthy", worker=name) == 1
        assert sample(metrics, "worker_failures_total", worker=name) is None
    async with monitoring(pool, unreachable_kafka(), metrics, workers=workers) as watched:
        assert await watched.monitor.check()
