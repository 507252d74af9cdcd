"""The only place the dispatcher's parts are built and wired."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from crewline.events import CLAIMS_TOPIC, CONTRACTORS_TOPIC, QUALITY_TOPIC
from crewline.payloads import MAX_PAYLOAD_BYTES
from crewline.retention import PruneJob
from crewline.runtime import Runtime
from crewline.service import ServiceKit
from crewline.timekeeping import Clock
from dispatcher import handlers
from dispatcher.adapters import watch_log
from dispatcher.adapters.watch_hub import WatchHub
from dispatcher.deps import SERVICE, Deps
from dispatcher.domain.model import MAX_BATCH
from dispatcher.entrypoints.client_admin import ClientAdminServicer
from dispatcher.entrypoints.grpc_api import POLICY, SERVICE_NAMES, TaskServicer
from dispatcher.settings import DispatcherSettings

MIGRATIONS = Path(__file__).parent / "migrations"
# A full SubmitTasks batch (1,000 tasks of up to 64 KiB each) and its framing.
MAX_REQUEST_BYTES = MAX_BATCH * (MAX_PAYLOAD_BYTES + 1024) + 1024 * 1024


async def bootstrap(settings: DispatcherSettings, *, clock: Clock | None = None) -> Runtime:
    kit = await ServiceKit.create(settings.service, clock=clock)
    deps = Deps.build(pool=kit.pool, clock=kit.clock, settings=settings)
    consumer = kit.consumer(
        topics=[CLAIMS_TOPIC, CONTRACTORS_TOPIC, QUALITY_TOPIC], routes=handlers.event_routes(deps)
    )
    hub = WatchHub(
        dsn=settings.service.postgres.dsn,
        worker_health=kit.worker_health,
        registry=kit.metrics.registry,
        service=SERVICE,
    )
    watch_prune = PruneJob(
        table=watch_log.TABLE,
        sql=watch_log.PRUNE,
        retention=timedelta(seconds=settings.service.retention.watch_seconds),
    )
    pruner = kit.pruner(consumer, jobs=[watch_prune])
    deadlines = kit.deadlines(handlers.deadline_routes(deps))
    return kit.runtime(
        register=[TaskServicer(deps, hub).register, ClientAdminServicer(deps).register],
        service_names=SERVICE_NAMES,
        policy=POLICY,
        migrations=MIGRATIONS,
        workers=[consumer, deadlines, hub, pruner],
        max_request_bytes=MAX_REQUEST_BYTES,
    )
