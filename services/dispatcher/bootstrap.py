"""The only place the dispatcher's parts are built and wired."""

from __future__ import annotations

from pathlib import Path

from crewline.events import CLAIMS_TOPIC
from crewline.runtime import Runtime
from crewline.service import ServiceKit
from dispatcher import handlers
from dispatcher.entrypoints.grpc_api import SERVICE_NAME, TaskServicer
from dispatcher.settings import DispatcherSettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def bootstrap(settings: DispatcherSettings) -> Runtime:
    kit = await ServiceKit.create(settings.service)
    consumer = kit.consumer(
        topics=[CLAIMS_TOPIC],
        routes=handlers.event_routes(auto_accept_delay=settings.auto_accept_delay),
    )
    return kit.runtime(
        register=[TaskServicer(pool=kit.pool).register],
        service_names=[SERVICE_NAME],
        migrations=MIGRATIONS,
        workers=[consumer, kit.clock(handlers.DEADLINES)],
    )
