"""What every matcher handler may use, built once in ``bootstrap.py``."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from google.protobuf.message import Message
from prometheus_client import CollectorRegistry

from crewline.auth.credentials import TokenSigner
from crewline.events import CLAIMS_TOPIC, CONTRACTORS_TOPIC, IDENTITY_TOPIC
from crewline.publisher import Publisher, Route
from crewline.timekeeping import Clock
from crewline.v1 import events_pb2
from matcher.adapters.claim_terms import ClaimTerms
from matcher.adapters.metrics import ClaimMetrics
from matcher.settings import MatcherSettings

SERVICE = "matcher"

# Every event the matcher publishes, its topic and its key (one entity's events in order).
PUBLISHES: dict[type[Message], Route] = {
    events_pb2.ClaimGranted: Route(CLAIMS_TOPIC, key=lambda e: e.task_id),
    events_pb2.WorkSubmitted: Route(CLAIMS_TOPIC, key=lambda e: e.task_id),
    events_pb2.ClaimExtended: Route(CLAIMS_TOPIC, key=lambda e: e.task_id),
    events_pb2.ClaimEnded: Route(CLAIMS_TOPIC, key=lambda e: e.task_id),
    events_pb2.ClaimSettled: Route(CLAIMS_TOPIC, key=lambda e: e.task_id),
    events_pb2.ContractorCreated: Route(IDENTITY_TOPIC, key=lambda e: e.contractor_id),
    events_pb2.ContractorTokenRevoked: Route(IDENTITY_TOPIC, key=lambda e: e.contractor_id),
    events_pb2.ContractorChanged: Route(
        CONTRACTORS_TOPIC, key=lambda e: e.contractor.contractor_id
    ),
    events_pb2.QualificationTypeDefined: Route(
        CONTRACTORS_TOPIC, key=lambda e: e.qualification_type.name
    ),
    events_pb2.QualificationChanged: Route(CONTRACTORS_TOPIC, key=lambda e: e.contractor_id),
    events_pb2.BlockChanged: Route(CONTRACTORS_TOPIC, key=lambda e: e.block.contractor_id),
}


@dataclass(frozen=True, kw_only=True)
class Deps:
    pool: asyncpg.Pool
    clock: Clock
    settings: MatcherSettings
    publisher: Publisher
    signer: TokenSigner | None  # None when no signing key is configured
    claim_terms: ClaimTerms  # what a claim on a task would be granted under, cached
    metrics: ClaimMetrics

    @classmethod
    def build(
        cls,
        *,
        pool: asyncpg.Pool,
        clock: Clock,
        settings: MatcherSettings,
        registry: CollectorRegistry | None = None,  # the service's; a fresh one in tests
    ) -> Deps:
        key = settings.token_signing_key
        return cls(
            pool=pool,
            clock=clock,
            settings=settings,
            publisher=Publisher(producer=SERVICE, routes=PUBLISHES),
            signer=TokenSigner(key) if key else None,
            claim_terms=ClaimTerms(),
            metrics=ClaimMetrics(registry or CollectorRegistry(), SERVICE),
        )
