"""The only place the quality service's parts are built and wired."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from crewline.payloads import MAX_PAYLOAD_BYTES
from crewline.retention import PruneJob
from crewline.runtime import Runtime
from crewline.service import ServiceKit
from crewline.timekeeping import Clock
from quality import handlers
from quality.adapters.gold_instances import PRUNE_DRAWS
from quality.deps import Deps
from quality.domain.gold import MAX_BATCH
from quality.domain.gold_keys import MAX_KEY_BYTES
from quality.entrypoints.grpc_api import POLICY, SERVICE_NAMES, QualityServicer
from quality.settings import QualitySettings

MIGRATIONS = Path(__file__).parent / "migrations"
# A full AddGoldTasks request (1,000 gold tasks: a payload, a key and their rules each)
# and its framing.
MAX_REQUEST_BYTES = MAX_BATCH * (MAX_PAYLOAD_BYTES + MAX_KEY_BYTES + 16 * 1024) + 1024 * 1024


async def bootstrap(settings: QualitySettings, *, clock: Clock | None = None) -> Runtime:
    kit = await ServiceKit.create(settings.service, clock=clock)
    deps = Deps.build(
        pool=kit.pool, clock=kit.clock, settings=settings, registry=kit.metrics.registry
    )
    consumer = kit.consumer(topics=handlers.TOPICS, routes=handlers.event_routes(deps))
    # A claim's draw is kept while a copy of its ClaimGranted could come again: as long
    # as the inbox keeps an event.
    draws = PruneJob(
        table="gold_draws",
        sql=PRUNE_DRAWS,
        retention=timedelta(seconds=settings.service.retention.inbox_seconds),
    )
    pruner = kit.pruner(consumer, jobs=[draws])
    # Sanctions' ends (and appeals' deadlines): durable, so a restart loses none.
    deadlines = kit.deadlines(handlers.clock_handlers(deps))
    return kit.runtime(
        register=[QualityServicer(deps).register],
        service_names=SERVICE_NAMES,
        policy=POLICY,
        migrations=MIGRATIONS,
        workers=[consumer, deadlines, pruner],
        max_request_bytes=MAX_REQUEST_BYTES,
    )
