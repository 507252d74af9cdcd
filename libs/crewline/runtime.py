"""Runs one service: its parts under a task group, drained in order on SIGTERM.

Start: metrics page, dependency monitor (liveness SERVING, readiness
NOT_SERVING), migrations (retried until PostgreSQL answers), outbox relay,
consumers and clocks, then the gRPC server; readiness may say SERVING from then
on, while PostgreSQL answers and no worker keeps failing (see ``crewline.health``).
Stop (SIGTERM/SIGINT): health goes NOT_SERVING (liveness too) and stays so, still
listening, for ``shutdown_delay_seconds``; then the server stops
taking requests and finishes those in flight, consumers finish the record in
hand and commit, clocks stop, the relay publishes what is left, then the pool
closes. If any part fails, the group cancels the rest and the error propagates.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import asyncpg
import grpc
from grpc_health.v1 import health

from crewline.aio import Backoff, sleep_unless
from crewline.db import TRANSIENT_DB_ERRORS, migrate_service
from crewline.health import DependencyMonitor
from crewline.log import configure_logging, get_logger
from crewline.metrics import Metrics
from crewline.outbox import OutboxRelay
from crewline.settings import ServiceSettings

log = get_logger(__name__)


class Worker(Protocol):
    """A long-running part: ``run`` until ``stop`` is called."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Runtime:
    """Everything a service's bootstrap built, ready to run."""

    settings: ServiceSettings
    metrics: Metrics
    pool: asyncpg.Pool
    server: grpc.aio.Server
    health_servicer: health.aio.HealthServicer
    relay: OutboxRelay
    monitor: DependencyMonitor
    migrations: Path
    workers: Sequence[Worker] = field(default_factory=tuple)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set (or SIGTERM/SIGINT when ``stop`` is None)."""
        stop = stop or _stop_on_signals()
        metrics_server = self.metrics.serve(
            host=self.settings.metrics_host, port=self.settings.metrics_port
        )
        try:
            async with asyncio.TaskGroup() as tg:
                # grpc's servicer starts "" as SERVING: say NOT_SERVING until started.
                await self.monitor.not_serving()
                monitor_task = tg.create_task(self.monitor.run())
                if not await self._migrate(stop):
                    self.monitor.stop()
                    return
                relay_task = tg.create_task(self.relay.run())
                worker_tasks = [tg.create_task(w.run()) for w in self.workers]
                await self.server.start()
                self.monitor.mark_started()
                log.info(
                    "service_started",
                    grpc=f"{self.settings.grpc_host}:{self.settings.grpc_port}",
                    metrics=f"{self.settings.metrics_host}:{self.settings.metrics_port}",
                )
                await stop.wait()
                log.info("service_stopping")
                await self.monitor.enter_graceful_shutdown()
                # Still listening, saying NOT_SERVING: callers and probes move away first.
                await asyncio.sleep(self.settings.shutdown_delay_seconds)
                await self.server.stop(self.settings.shutdown_grace_seconds)
                for w in self.workers:
                    w.stop()
                await asyncio.gather(*worker_tasks)
                self.relay.stop()
                await relay_task
                self.monitor.stop()
                await monitor_task
        finally:
            await self.server.stop(None)
            await self.pool.close()
            metrics_server.shutdown()
            log.info("service_stopped")

    async def _migrate(self, stop: asyncio.Event) -> bool:
        backoff = Backoff(initial=0.2)
        while not stop.is_set():
            try:
                await migrate_service(
                    self.pool, service=self.settings.name, directory=self.migrations
                )
                return True
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("database_unavailable_at_start", error=repr(exc))
                await sleep_unless(stop, backoff.next())
        return False


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _log_tasks)
    return stop


def _log_tasks() -> None:
    """SIGUSR1: log where every asyncio task is waiting (for a service that seems stuck)."""
    for task in asyncio.all_tasks():
        frames = [
            f"{f.f_code.co_filename}:{f.f_lineno} {f.f_code.co_name}" for f in task.get_stack()
        ]
        log.info("task_stack", task=task.get_name(), frames=frames)


class _HasServiceSettings(Protocol):
    @property
    def service(self) -> ServiceSettings: ...


S = TypeVar("S", bound=_HasServiceSettings)


def main(load_settings: Callable[[], S], bootstrap: Callable[[S], Awaitable[Runtime]]) -> None:
    """A service's ``__main__``: settings from the environment, logging, bootstrap, run."""

    async def run() -> None:
        settings = load_settings()
        configure_logging(service=settings.service.name, log_format=settings.service.log_format)
        runtime = await bootstrap(settings)
        await runtime.run()

    asyncio.run(run())
