"""The kit a service's bootstrap uses to assemble itself from kernel parts.

A bootstrap creates a ``ServiceKit``, builds its own servicers and handlers
with ``kit.pool``, asks the kit for consumers and clocks, and returns
``kit.runtime(...)``. Pools, producers and servers are built here and nowhere
else; tests call the same bootstrap with test settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import grpc
from google.protobuf.message import Message

from crewline.clock import DeadlineClock, DeadlineHandler
from crewline.consumer import EventConsumer, Handler
from crewline.db import create_pool
from crewline.grpc_server import build_server
from crewline.health import DependencyMonitor
from crewline.metrics import Metrics
from crewline.outbox import OutboxRelay
from crewline.runtime import Runtime, Worker
from crewline.settings import ServiceSettings


@dataclass(frozen=True)
class ServiceKit:
    settings: ServiceSettings
    metrics: Metrics
    pool: asyncpg.Pool

    @classmethod
    async def create(cls, settings: ServiceSettings) -> ServiceKit:
        """Metrics registry and a lazily connecting pool (nothing is contacted yet)."""
        return cls(settings, Metrics.create(settings.name), await create_pool(settings.postgres))

    def consumer(
        self, *, topics: Iterable[str], routes: Mapping[type[Message], Handler]
    ) -> EventConsumer:
        """An idempotent consumer in the service's own consumer group."""
        return EventConsumer(
            group_id=self.settings.name,
            topics=topics,
            routes=routes,
            pool=self.pool,
            kafka=self.settings.kafka,
            metrics=self.metrics,
            client_id=f"{self.settings.name}-consumer",
        )

    def clock(self, handlers: Mapping[str, DeadlineHandler]) -> DeadlineClock:
        return DeadlineClock(
            pool=self.pool,
            handlers=handlers,
            metrics=self.metrics,
            poll_interval=self.settings.poll_interval_seconds,
        )

    def runtime(
        self,
        *,
        register: Iterable[Callable[[grpc.aio.Server], None]],
        service_names: Sequence[str],
        migrations: Path,
        workers: Sequence[Worker] = (),
    ) -> Runtime:
        s = self.settings
        server, health_servicer = build_server(
            host=s.grpc_host,
            port=s.grpc_port,
            metrics=self.metrics,
            register=register,
            service_names=service_names,
        )
        relay = OutboxRelay(
            pool=self.pool,
            kafka=s.kafka,
            metrics=self.metrics,
            client_id=f"{s.name}-relay",
            poll_interval=s.poll_interval_seconds,
            drain_timeout=s.shutdown_grace_seconds,
        )
        monitor = DependencyMonitor(
            pool=self.pool,
            kafka=s.kafka,
            health_servicer=health_servicer,
            service_names=service_names,
            metrics=self.metrics,
        )
        return Runtime(
            settings=s,
            metrics=self.metrics,
            pool=self.pool,
            server=server,
            health_servicer=health_servicer,
            relay=relay,
            monitor=monitor,
            migrations=migrations,
            workers=workers,
        )
