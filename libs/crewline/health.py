"""Liveness, readiness, and the health of the kernel's long-running workers.

The gRPC health service answers three kinds of names:

- ``liveness`` is SERVING while the process runs. The health servicer is
  answered by the event loop itself, so an answer proves the loop turns.
- ``readiness``, ``""`` and each of the service's own names are SERVING only
  after start-up (migrations applied), while PostgreSQL answers a query and no
  worker keeps failing.
- On SIGTERM the runtime calls ``enter_graceful_shutdown``: every name,
  liveness included, says NOT_SERVING for good.

Kafka is probed too, but only for ``dependency_up{dependency="kafka"}``: while
it is away the service still takes writes into its outbox, so it stays ready.

Workers (consumers, the outbox relay, deadline clocks) report to a
``WorkerHealth``: ``ok`` after a step that did its work, ``failed`` after an
unexpected error. Kafka being unreachable and transient database errors are not
reported as failures: the probes already say so. A worker that fails
``threshold`` times in a row is failing (``worker_healthy`` 0, readiness
NOT_SERVING) until its next ``ok``.

Probes run every ``interval`` seconds, so health recovers by itself. Only
changes are logged, each naming the checks that fail.
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

LIVENESS = "liveness"
READINESS = "readiness"

_PROBE_TIMEOUT = 2.0
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class WorkerHealth:
    """Whether each long-running worker, by name, is doing its work or keeps failing.

    Names are unique within a service (``outbox_relay``, ``consumer:<group>``,
    ``deadline_clock``); they label ``worker_healthy`` and ``worker_failures_total``.
    """

    def __init__(self, *, metrics: Metrics, threshold: int = 3) -> None:
        if threshold < 1:
            raise ValueError(f"threshold must be at least 1, not {threshold}")
        self._metrics = metrics
        self._threshold = threshold
        self._failures: dict[str, int] = {}  # consecutive, since the last ok
        self._errors: dict[str, str] = {}

    def register(self, name: str) -> None:
        """Show ``name`` as healthy before its first report; a known name is left as it is."""
        if name not in self._failures:
            self._failures[name] = 0
            self._metrics.worker_healthy.labels(name).set(1)

    def ok(self, name: str) -> None:
        """``name`` did its work: any run of failures is over."""
        failures = self._failures.get(name)
        if failures == 0:
            return  # the steady state, reported on every step: nothing changes
        self._failures[name] = 0
        self._metrics.worker_healthy.labels(name).set(1)
        if failures is not None and failures >= self._threshold:
            log.info("worker_recovered", worker=name, failures=failures)

    def failed(self, name: str, error: BaseException) -> None:
        """``name`` survived an unexpected error (not a dependency being away)."""
        failures = self._failures.get(name, 0) + 1
        self._failures[name] = failures
        self._errors[name] = repr(error)
        self._metrics.worker_failures.labels(name).inc()
        if failures == self._threshold:
            self._metrics.worker_healthy.labels(name).set(0)
            log.error("worker_failing", worker=name, failures=failures, error=repr(error))
        elif failures == 1:
            self._metrics.worker_healthy.labels(name).set(1)  # shown even if never registered

    def failing(self) -> dict[str, str]:
        """The workers failing now, each with its last error."""
        return {
            name: self._errors[name]
            for name, failures in sorted(self._failures.items())
            if failures >= self._threshold
        }


async def probe_postgres(pool: asyncpg.Pool) -> bool:
    """True when the pool answers a query within the probe timeout."""
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
    """Sets liveness and readiness on the health servicer from probes and worker reports.

    Readiness stays NOT_SERVING until ``mark_started`` (the runtime calls it once
    migrations are applied). ``worker_health`` is the registry the service's
    workers report to; without one, readiness ignores workers.
    """

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        kafka: KafkaSettings,
        health_servicer: health.aio.HealthServicer,
        service_names: Iterable[str],
        metrics: Metrics,
        interval: float = 1.0,
        worker_health: WorkerHealth | None = None,
    ) -> None:
        self._pool = pool
        self._probe_kafka = KafkaProbe(kafka)
        self._health = health_servicer
        self._ready_names = [READINESS, "", *service_names]
        self._metrics = metrics
        self._interval = interval
        self.worker_health = worker_health or WorkerHealth(metrics=metrics)
        self._started = False
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._serving: bool | None = None
        self._failing: list[str] | None = None
        self._shutting_down = False

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def mark_started(self) -> None:
        """Start-up is over (migrations applied): readiness may say SERVING from now on."""
        self._started = True
        self._wake.set()  # check now rather than at the next interval

    async def not_serving(self) -> None:
        """Liveness SERVING, readiness NOT_SERVING: what a starting service says."""
        await self._publish(False)

    async def run(self) -> None:
        """Probe every ``interval`` seconds until stopped."""
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                await self.check()
                await sleep_unless(self._wake, self._interval)
        finally:
            await self.close()

    async def close(self) -> None:
        """Drop the Kafka probe's connection (``run`` does this when it ends)."""
        await self._probe_kafka.close()

    async def check(self) -> bool:
        """Probe once, update metrics and health statuses; True when ready."""
        pg_ok, kafka_ok = await asyncio.gather(probe_postgres(self._pool), self._probe_kafka())
        self._metrics.dependency_up.labels("postgres").set(int(pg_ok))
        self._metrics.dependency_up.labels("kafka").set(int(kafka_ok))
        checks = {"startup": self._started, "postgres": pg_ok}
        blocking = [name for name, ok in checks.items() if not ok]
        blocking += [f"worker:{name}" for name in self.worker_health.failing()]
        ready = not blocking
        await self._publish(ready)
        # Kafka is listed while away, though it does not block readiness.
        failing = blocking if kafka_ok else [*blocking, "kafka"]
        if failing != self._failing:  # log changes only, so a steady state logs nothing
            self._failing = failing
            log.info("health_changed", serving=ready, failing=failing)
        return ready

    async def enter_graceful_shutdown(self) -> None:
        """SIGTERM: every name says NOT_SERVING for good, and ``ready`` 0."""
        self._shutting_down = True
        self._metrics.ready.set(0)
        await self._health.enter_graceful_shutdown()

    async def _publish(self, ready: bool) -> None:
        self._metrics.ready.set(int(ready and not self._shutting_down))
        if ready == self._serving:
            return
        if self._serving is None:
            await self._health.set(LIVENESS, _SERVING)
        self._serving = ready
        for name in self._ready_names:
            await self._health.set(name, _SERVING if ready else _NOT_SERVING)
