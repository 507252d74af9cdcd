"""What every quality handler may use, built once in ``bootstrap.py``."""

from __future__ import annotations

import random
from dataclasses import dataclass

import asyncpg
from google.protobuf.message import Message
from prometheus_client import CollectorRegistry

from crewline.events import QUALITY_TOPIC
from crewline.publisher import Publisher, Route
from crewline.timekeeping import Clock
from crewline.v1 import events_pb2
from quality.adapters.metrics import QualityMetrics
from quality.domain.issuing import RandomSource
from quality.settings import QualitySettings

SERVICE = "quality"

# Every event the quality service publishes, its topic and its key: a contractor's
# score changes, gold, sanctions, appeals, disputes and exams, in order, whichever
# project they are in.
PUBLISHES: dict[type[Message], Route] = {
    events_pb2.ScoreChanged: Route(QUALITY_TOPIC, key=lambda e: e.contractor_id),
    events_pb2.GoldIssued: Route(QUALITY_TOPIC, key=lambda e: e.contractor_id),
    events_pb2.SanctionChanged: Route(QUALITY_TOPIC, key=lambda e: e.sanction.contractor_id),
    events_pb2.AppealChanged: Route(QUALITY_TOPIC, key=lambda e: e.appeal.contractor_id),
    events_pb2.DisputeChanged: Route(QUALITY_TOPIC, key=lambda e: e.dispute.contractor_id),
    events_pb2.ExamAttemptChanged: Route(QUALITY_TOPIC, key=lambda e: e.attempt.contractor_id),
}


@dataclass(frozen=True, kw_only=True)
class Deps:
    pool: asyncpg.Pool
    clock: Clock
    settings: QualitySettings
    metrics: QualityMetrics
    publisher: Publisher
    # Whether an ordinary claim brings gold, and which: unpredictable in the service, so
    # nobody can tell gold from its timing; a seeded one in tests.
    random: RandomSource

    @classmethod
    def build(
        cls,
        *,
        pool: asyncpg.Pool,
        clock: Clock,
        settings: QualitySettings,
        registry: CollectorRegistry | None = None,  # the service's; a fresh one in tests
        rng: RandomSource | None = None,
    ) -> Deps:
        return cls(
            pool=pool,
            clock=clock,
            settings=settings,
            metrics=QualityMetrics(registry or CollectorRegistry(), SERVICE),
            publisher=Publisher(producer=SERVICE, routes=PUBLISHES),
            random=rng or random.SystemRandom(),
        )
