"""The only place the quality service's parts are built and wired."""

from __future__ import annotations

from pathlib import Path

from crewline.runtime import Runtime
from crewline.service import ServiceKit
from crewline.timekeeping import Clock
from quality import handlers
from quality.deps import Deps
from quality.entrypoints.grpc_api import POLICY, SERVICE_NAMES, QualityServicer
from quality.settings import QualitySettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def bootstrap(settings: QualitySettings, *, clock: Clock | None = None) -> Runtime:
    kit = await ServiceKit.create(settings.service, clock=clock)
    deps = Deps.build(
        pool=kit.pool, clock=kit.clock, settings=settings, registry=kit.metrics.registry
    )
    consumer = kit.consumer(topics=handlers.TOPICS, routes=handlers.event_routes(deps))
    pruner = kit.pruner(consumer)
    return kit.runtime(
        register=[QualityServicer(deps).register],
        service_names=SERVICE_NAMES,
        policy=POLICY,
        migrations=MIGRATIONS,
        workers=[consumer, pruner],
    )
