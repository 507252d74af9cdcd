"""The kit a service's bootstrap uses to assemble itself from kernel parts.

A bootstrap creates a ``ServiceKit``, builds its dependencies object and its
servicers with ``kit.pool`` and ``kit.clock``, asks the kit for consumers and
deadline clocks, and returns ``kit.runtime(...)`` with its access policy. Pools,
producers and servers are built here and nowhere else; tests call the same
bootstrap with test settings (and may pass a fake clock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import grpc
from google.protobuf.message import Message

from crewline.auth.authenticator import Authenticator
from crewline.auth.replica import IDENTITY_ROUTES
from crewline.clock import DeadlineClock, DeadlineHandler
from crewline.consumer import EventConsumer, Handler
from crewline.db import create_pool
from crewline.edge import AccessPolicy, EdgeInterceptor
from crewline.events import IDENTITY_TOPIC
from crewline.grpc_server import build_server
from crewline.health import DependencyMonitor, WorkerHealth
from crewline.metrics import Metrics
from crewline.ops import POLICY as OPS_POLICY
from crewline.ops import SERVICE_NAME as OPS_SERVICE
from crewline.ops import OpsServicer
from crewline.outbox import OutboxRelay
from crewline.retention import PruneJob, Pruner
from crewline.runtime import Runtime, Worker
from crewline.settings import ServiceSettings
from crewline.timekeeping import Clock, SystemClock


@dataclass(frozen=True)
class ServiceKit:
    settings: ServiceSettings
    metrics: Metrics
    pool: asyncpg.Pool
    clock: Clock
    worker_health: WorkerHealth  # every worker reports here; readiness reads it

    @classmethod
    async def create(cls, settings: ServiceSettings, *, clock: Clock | None = None) -> ServiceKit:
        """Metrics registry and a lazily connecting pool (nothing is contacted yet)."""
        pool = await create_pool(settings.postgres)
        metrics = Metrics.create(settings.name)
        return cls(settings, metrics, pool, clock or SystemClock(), WorkerHealth(metrics=metrics))

    def consumer(
        self, *, topics: Iterable[str], routes: Mapping[type[Message], Handler]
    ) -> EventConsumer:
        """An idempotent consumer in the service's own consumer group.

        Every service also copies key hashes and revocations from the identity topic,
        so that it can authenticate every caller by itself.
        """
        return EventConsumer(
            group_id=self.settings.name,
            topics=[*topics, IDENTITY_TOPIC],
            routes={**routes, **IDENTITY_ROUTES},
            pool=self.pool,
            kafka=self.settings.kafka,
            metrics=self.metrics,
            client_id=f"{self.settings.name}-consumer",
            worker_health=self.worker_health,
        )

    def deadlines(
        self,
        handlers: Mapping[str, DeadlineHandler],
        *,
        max_attempts: int = 8,
    ) -> DeadlineClock:
        """The service's deadline clock, on the kit's clock (a fake one in tests); it
        prunes its fired deadlines after ``CREWLINE_RETENTION_DEADLINES_SECONDS``."""
        return DeadlineClock(
            pool=self.pool,
            handlers=handlers,
            metrics=self.metrics,
            clock=self.clock,
            poll_interval=self.settings.poll_interval_seconds,
            max_attempts=max_attempts,
            retention=timedelta(seconds=self.settings.retention.deadlines_seconds),
            worker_health=self.worker_health,
        )

    def pruner(self, consumer: EventConsumer, jobs: Sequence[PruneJob] = ()) -> Pruner:
        """The retention worker: the kernel's outbox and inbox jobs (the inbox guarded by the
        configuration of the topics ``consumer`` reads) and the service's own ``jobs``."""
        return Pruner.for_service(
            pool=self.pool,
            settings=self.settings.retention,
            metrics=self.metrics,
            worker_health=self.worker_health,
            kafka=self.settings.kafka,
            consumed=consumer.topics,
            jobs=jobs,
        )

    def edge(self, policy: AccessPolicy) -> EdgeInterceptor:
        """The kernel's edge: admission, authentication, access rules, logs, metrics, errors."""
        return EdgeInterceptor(
            metrics=self.metrics,
            authenticator=Authenticator(
                pool=self.pool, settings=self.settings.auth, clock=self.clock
            ),
            policy=policy,
            max_in_flight=self.settings.max_in_flight,
            max_streams=self.settings.max_streams,
        )

    def runtime(
        self,
        *,
        register: Iterable[Callable[[grpc.aio.Server], None]],
        service_names: Sequence[str],
        policy: AccessPolicy,
        migrations: Path,
        workers: Sequence[Worker] = (),
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        max_request_bytes: int | None = None,
    ) -> Runtime:
        """The service, ready to run; ``interceptors`` run after the kernel's edge.

        Every service also serves the kernel's ``OpsService`` to operators.
        ``max_request_bytes``: the largest request message taken (default gRPC's 4 MiB).
        """
        s = self.settings
        # Dead letters are replayed through the consumer whose handler failed them.
        consumers = [w for w in workers if isinstance(w, EventConsumer)]
        ops = OpsServicer(pool=self.pool, clock=self.clock, consumers=consumers)
        service_names = [*service_names, OPS_SERVICE]
        server, health_servicer = build_server(
            host=s.grpc_host,
            port=s.grpc_port,
            interceptors=[self.edge(policy | OPS_POLICY), *interceptors],
            register=[*register, ops.register],
            service_names=service_names,
            max_request_bytes=max_request_bytes,
            tls=s.grpc_tls,
            reuse_port=s.grpc_reuse_port,
        )
        relay = OutboxRelay(
            pool=self.pool,
            kafka=s.kafka,
            metrics=self.metrics,
            client_id=f"{s.name}-relay",
            poll_interval=s.poll_interval_seconds,
            drain_timeout=s.shutdown_grace_seconds,
            worker_health=self.worker_health,
        )
        monitor = DependencyMonitor(
            pool=self.pool,
            kafka=s.kafka,
            health_servicer=health_servicer,
            service_names=service_names,
            metrics=self.metrics,
            worker_health=self.worker_health,
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
