"""What every quality handler may use, built once in ``bootstrap.py``."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from prometheus_client import CollectorRegistry

from crewline.timekeeping import Clock
from quality.adapters.metrics import QualityMetrics
from quality.settings import QualitySettings

SERVICE = "quality"


@dataclass(frozen=True, kw_only=True)
class Deps:
    pool: asyncpg.Pool
    clock: Clock
    settings: QualitySettings
    metrics: QualityMetrics

    @classmethod
    def build(
        cls,
        *,
        pool: asyncpg.Pool,
        clock: Clock,
        settings: QualitySettings,
        registry: CollectorRegistry | None = None,  # the service's; a fresh one in tests
    ) -> Deps:
        return cls(
            pool=pool,
            clock=clock,
            settings=settings,
            metrics=QualityMetrics(registry or CollectorRegistry(), SERVICE),
        )
