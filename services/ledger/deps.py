"""What every ledger handler may use, built once in ``bootstrap.py``."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from google.protobuf.message import Message
from prometheus_client import CollectorRegistry

from crewline.events import PAY_TOPIC
from crewline.publisher import Publisher, Route
from crewline.timekeeping import Clock
from crewline.v1 import events_pb2
from ledger.adapters.metrics import LedgerMetrics
from ledger.settings import LedgerSettings

SERVICE = "ledger"

# Every event the ledger publishes, its topic and its key (the account credited).
PUBLISHES: dict[type[Message], Route] = {
    events_pb2.PayPosted: Route(PAY_TOPIC, key=lambda e: e.account_id)
}


@dataclass(frozen=True, kw_only=True)
class Deps:
    pool: asyncpg.Pool
    clock: Clock
    settings: LedgerSettings
    publisher: Publisher
    metrics: LedgerMetrics

    @classmethod
    def build(
        cls,
        *,
        pool: asyncpg.Pool,
        clock: Clock,
        settings: LedgerSettings,
        registry: CollectorRegistry | None = None,  # the service's; a fresh one in tests
    ) -> Deps:
        return cls(
            pool=pool,
            clock=clock,
            settings=settings,
            publisher=Publisher(producer=SERVICE, routes=PUBLISHES),
            metrics=LedgerMetrics(registry or CollectorRegistry(), SERVICE),
        )
