"""The only place the ledger's parts are built and wired."""

from __future__ import annotations

from pathlib import Path

from crewline.events import TASKS_TOPIC
from crewline.runtime import Runtime
from crewline.service import ServiceKit
from ledger import handlers
from ledger.entrypoints.grpc_api import SERVICE_NAME, LedgerServicer
from ledger.settings import LedgerSettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def bootstrap(settings: LedgerSettings) -> Runtime:
    kit = await ServiceKit.create(settings.service)
    return kit.runtime(
        register=[LedgerServicer(pool=kit.pool).register],
        service_names=[SERVICE_NAME],
        migrations=MIGRATIONS,
        workers=[kit.consumer(topics=[TASKS_TOPIC], routes=handlers.EVENT_ROUTES)],
    )
