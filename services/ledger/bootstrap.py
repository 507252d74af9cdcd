"""The only place the ledger's parts are built and wired."""

from __future__ import annotations

from pathlib import Path

from crewline.runtime import Runtime
from crewline.service import ServiceKit
from crewline.timekeeping import Clock
from ledger import handlers
from ledger.deps import Deps
from ledger.entrypoints.grpc_api import POLICY, SERVICE_NAMES, LedgerServicer
from ledger.settings import LedgerSettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def bootstrap(settings: LedgerSettings, *, clock: Clock | None = None) -> Runtime:
    kit = await ServiceKit.create(settings.service, clock=clock)
    deps = Deps.build(
        pool=kit.pool, clock=kit.clock, settings=settings, registry=kit.metrics.registry
    )
    consumer = kit.consumer(topics=handlers.TOPICS, routes=handlers.event_routes(deps))
    pruner = kit.pruner(consumer)
    return kit.runtime(
        register=[LedgerServicer(deps).register],
        service_names=SERVICE_NAMES,
        policy=POLICY,
        migrations=MIGRATIONS,
        workers=[consumer, pruner],
    )
