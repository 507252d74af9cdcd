"""Dependency probes that drive the gRPC health status.

A service is SERVING only while PostgreSQL answers a query and Kafka answers a
metadata request. Probes run every ``interval`` seconds, so health recovers by
itself when a dependency returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import asyncpg
from aiokafka import AIOKafkaClient
from grpc_health.v1 import health, health_pb2

from crewline.aio import sleep_unless
from crewline.log import get_logger
from crewline.metrics import Metrics
from crewline.settings import KafkaSettings

log = get_logger(__name__)

_PROBE_TIMEOUT = 2.0


async def probe_postgres(pool: asyncpg.Pool) -> bool:
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT):
            return bool(await pool.fetchval("SELECT 1") == 1)
    except Exception:
        return False


class KafkaProbe:
    """Asks the cluster for its metadata; reconnects from the bootstrap list after a failure."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self._client: AIOKafkaClient | None = None

    async def __call__(self) -> bool:
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT):
                if self._client is None:
                    client = AIOKafkaClient(
                        bootstrap_servers=self._settings.bootstrap_servers,
                        request_timeout_ms=int(_PROBE_TIMEOUT * 1000),
                    )
                    self._client = client
                    await client.bootstrap()
                metadata = await self._client.fetch_all_metadata()
            return bool(metadata.brokers())
        except Exception:
            await self.close()
            return False

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


class DependencyMonitor:
    """Sets SERVING / NOT_SERVING on the health servicer from the probes' answers."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        kafka: KafkaSettings,
        health_servicer: health.aio.HealthServicer,
        service_names: Iterable[str],
        metrics: Metrics,
        interval: float = 1.0,
    ) -> None:
        self._pool = pool
        self._kafka = kafka
        self._health = health_servicer
        self._names = ["", *service_names]
        self._metrics = metrics
        self._interval = interval
        self._stopping = asyncio.Event()
        self._serving: bool | None = None

    def stop(self) -> None:
        self._stopping.set()

    async def not_serving(self) -> None:
        """Say NOT_SERVING until the first probes have answered."""
        await self._set(False)

    async def run(self) -> None:
        probe_kafka = KafkaProbe(self._kafka)
        try:
            while not self._stopping.is_set():
                pg_ok = await probe_postgres(self._pool)
                kafka_ok = await probe_kafka()
                self._metrics.dependency_up.labels("postgres").set(int(pg_ok))
                self._metrics.dependency_up.labels("kafka").set(int(kafka_ok))
                await self._set(pg_ok and kafka_ok, postgres=pg_ok, kafka=kafka_ok)
                await sleep_unless(self._stopping, self._interval)
        finally:
            await probe_kafka.close()

    async def _set(self, serving: bool, **detail: bool) -> None:
        # Report only changes, so a steady state logs nothing.
        if serving == self._serving:
            return
        self._serving = serving
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in self._names:
            await self._health.set(name, status)
        log.info("health_changed", serving=serving, **detail)
