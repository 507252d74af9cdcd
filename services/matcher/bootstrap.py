"""The only place the matcher's parts are built and wired."""

from __future__ import annotations

from pathlib import Path

from crewline.events import PROJECTS_TOPIC, QUALITY_TOPIC, TASKS_TOPIC
from crewline.runtime import Runtime
from crewline.service import ServiceKit
from crewline.timekeeping import Clock
from matcher import handlers
from matcher.adapters.offer_hub import OfferHub
from matcher.deps import SERVICE, Deps
from matcher.entrypoints.contractor_admin import ContractorAdminServicer
from matcher.entrypoints.grpc_api import POLICY, SERVICE_NAMES, WorkServicer
from matcher.settings import MatcherSettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def bootstrap(settings: MatcherSettings, *, clock: Clock | None = None) -> Runtime:
    kit = await ServiceKit.create(settings.service, clock=clock)
    deps = Deps.build(
        pool=kit.pool, clock=kit.clock, settings=settings, registry=kit.metrics.registry
    )
    hub = OfferHub(
        pool=kit.pool,
        dsn=settings.service.postgres.dsn,
        clock=kit.clock,
        registry=kit.metrics.registry,
        service=SERVICE,
        worker_health=kit.worker_health,
        buffer=settings.offer_buffer,
        coalesce=settings.offer_coalesce_seconds,
        answer_specs=deps.answer_specs,
    )
    consumer = kit.consumer(
        topics=[TASKS_TOPIC, PROJECTS_TOPIC, QUALITY_TOPIC], routes=handlers.event_routes(deps)
    )
    pruner = kit.pruner(consumer)
    return kit.runtime(
        register=[WorkServicer(deps, hub).register, ContractorAdminServicer(deps).register],
        service_names=SERVICE_NAMES,
        policy=POLICY,
        migrations=MIGRATIONS,
        workers=[consumer, hub, pruner],
    )
