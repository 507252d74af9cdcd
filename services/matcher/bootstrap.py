"""The only place the matcher's parts are built and wired."""

from __future__ import annotations

from pathlib import Path

from crewline.events import TASKS_TOPIC
from crewline.runtime import Runtime
from crewline.service import ServiceKit
from matcher import handlers
from matcher.entrypoints.grpc_api import SERVICE_NAME, WorkServicer
from matcher.settings import MatcherSettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def bootstrap(settings: MatcherSettings) -> Runtime:
    kit = await ServiceKit.create(settings.service)
    return kit.runtime(
        register=[WorkServicer(pool=kit.pool).register],
        service_names=[SERVICE_NAME],
        migrations=MIGRATIONS,
        workers=[kit.consumer(topics=[TASKS_TOPIC], routes=handlers.EVENT_ROUTES)],
    )
