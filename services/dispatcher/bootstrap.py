"""The only place the dispatcher's parts are built and wired."""

from __future__ import annotations

from pathlib import Path

from crewline.events import CLAIMS_TOPIC
from crewline.runtime import Runtime
from crewline.service import ServiceKit
from crewline.timekeeping import Clock
from dispatcher import handlers
from dispatcher.deps import Deps
from dispatcher.entrypoints.grpc_api import (
    POLICY,
    SERVICE_NAMES,
    ClientAdminServicer,
    TaskServicer,
)
from dispatcher.settings import DispatcherSettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def bootstrap(settings: DispatcherSettings, *, clock: Clock | None = None) -> Runtime:
    kit = await ServiceKit.create(settings.service, clock=clock)
    deps = Deps.build(pool=kit.pool, clock=kit.clock, settings=settings)
    consumer = kit.consumer(topics=[CLAIMS_TOPIC], routes=handlers.event_routes(deps))
    return kit.runtime(
        register=[TaskServicer(deps).register, ClientAdminServicer(deps).register],
        service_names=SERVICE_NAMES,
        policy=POLICY,
        migrations=MIGRATIONS,
        workers=[consumer, kit.deadlines(handlers.deadlines(deps))],
    )
