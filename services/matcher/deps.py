"""What every matcher handler may use, built once in ``bootstrap.py``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from google.protobuf.message import Message
from prometheus_client import CollectorRegistry

from crewline.auth.credentials import TokenSigner
from crewline.db import TRANSIENT_DB_ERRORS
from crewline.events import CLAIMS_TOPIC, CONTRACTORS_TOPIC, IDENTITY_TOPIC
from crewline.group_commit import GroupCommit
from crewline.log import get_logger
from crewline.publisher import Publisher, Route
from crewline.timekeeping import Clock
from crewline.v1 import events_pb2
from matcher.adapters import repository as repo
from matcher.adapters.answer_specs import AnswerSpecs
from matcher.adapters.claim_terms import ClaimTerms
from matcher.adapters.metrics import ClaimMetrics
from matcher.settings import MatcherSettings

log = get_logger(__name__)

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
    answer_specs: AnswerSpecs  # projects' answer specs by version, cached
    metrics: ClaimMetrics
    claims: GroupCommit[repo.ClaimRequest, asyncpg.Record]  # claim_task(), group-committed

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
        metrics = ClaimMetrics(registry or CollectorRegistry(), SERVICE)
        return cls(
            pool=pool,
            clock=clock,
            settings=settings,
            publisher=Publisher(producer=SERVICE, routes=PUBLISHES),
            signer=TokenSigner(key) if key else None,
            claim_terms=ClaimTerms(),
            answer_specs=AnswerSpecs(),
            metrics=metrics,
            claims=_claims(pool, metrics, settings.claim_batch_max),
        )


def _claims(
    pool: asyncpg.Pool, metrics: ClaimMetrics, max_batch: int
) -> GroupCommit[repo.ClaimRequest, asyncpg.Record]:
    async def one(request: repo.ClaimRequest) -> asyncpg.Record:
        async with pool.acquire() as conn:
            return await repo.claim(conn, request)

    async def many(requests: Sequence[repo.ClaimRequest]) -> list[asyncpg.Record]:
        async with pool.acquire() as conn:
            return await repo.claim_many(conn, requests)

    def split(exc: BaseException) -> None:
        metrics.batch_splits.inc()
        log.warning("claim_batch_split", error=repr(exc))

    return GroupCommit(
        run_batch=many,
        run_one=one,
        split=_one_claims_or_a_deadlock,
        max_batch=max_batch,
        observe=metrics.batch_size.observe,
        on_split=split,
    )


def _one_claims_or_a_deadlock(exc: BaseException) -> bool:
    """Whether a failed batch may go again one claim at a time: PostgreSQL aborted its
    transaction for a deadlock with another batch, or for an error one claim may have
    caused. Not when the database is away: each claim would only fail again."""
    if isinstance(exc, asyncpg.DeadlockDetectedError | asyncpg.SerializationError):
        return True
    return isinstance(exc, asyncpg.PostgresError) and not isinstance(exc, TRANSIENT_DB_ERRORS)
