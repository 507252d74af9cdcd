"""What an operator does to keep the platform running: the ledger's payouts and
verification, each service's dead letters and deadlines (the kernel's OpsService), and
health. ``Operator`` has these calls; they live here to keep each module short."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2

from crewline.client import paging
from crewline.client.base import LedgerReads
from crewline.client.build import money_message, timestamp
from crewline.client.config import SERVICES, Service
from crewline.client.errors import CrewlineError
from crewline.client.ids import request_id_or_new
from crewline.client.results import (
    BooksCheck,
    Earnings,
    Money,
    Page,
    PayoutBatch,
    PayoutBatchPreview,
)
from crewline.client.transport import HEALTH, OPS, Reply
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import money_pb2, ops_service_pb2

UNREACHABLE = "UNREACHABLE"


@dataclass(frozen=True, kw_only=True)
class ServiceHealth:
    """One service's answers to the liveness and the readiness check: ``SERVING``,
    ``NOT_SERVING``, ..., ``UNREACHABLE``, or the status code of a refusal."""

    service: Service
    address: str
    liveness: str
    readiness: str

    @property
    def serving(self) -> bool:
        return self.liveness == self.readiness == "SERVING"


class Upkeep(LedgerReads):
    """The operator's ledger, dead-letter, deadline and health calls."""

    # --- ledger --------------------------------------------------------------

    async def earnings(self, contractor_id: str) -> Earnings:
        request = ledger_api.GetEarningsRequest(contractor_id=contractor_id)
        reply = await self._ledger("GetEarnings", request, ledger_api.GetEarningsResponse)
        return Earnings.from_pb(reply)

    async def verify_books(self) -> BooksCheck:
        """Whether the books balance, and every submission was paid exactly once."""
        request = ledger_api.VerifyBooksRequest()
        reply = await self._ledger("VerifyBooks", request, ledger_api.VerifyBooksResponse)
        return BooksCheck.from_pb(reply)

    async def run_payout_batch(
        self, *, threshold: Money | money_pb2.Money, batch_id: str | None = None
    ) -> PayoutBatch:
        """Pays out every contractor balance at or above ``threshold``
        (``Money.of("50", "USD")``); the same ``batch_id`` returns the same batch (one is
        made when not given)."""
        request = ledger_api.RunPayoutBatchRequest(
            batch_id=request_id_or_new(batch_id), threshold=money_message(threshold)
        )
        reply = await self._ledger("RunPayoutBatch", request, ledger_api.RunPayoutBatchResponse)
        return PayoutBatch.from_pb(reply.batch)

    async def get_payout_batch(self, batch_id: str) -> PayoutBatch:
        request = ledger_api.GetPayoutBatchRequest(batch_id=batch_id)
        reply = await self._ledger("GetPayoutBatch", request, ledger_api.GetPayoutBatchResponse)
        return PayoutBatch.from_pb(reply.batch)

    async def preview_payout_batch(
        self, *, threshold: Money | money_pb2.Money
    ) -> PayoutBatchPreview:
        """What ``run_payout_batch`` with ``threshold`` would pay if it ran now: each
        contractor and amount, and the total. Writes nothing; no batch id."""
        request = ledger_api.PreviewPayoutBatchRequest(threshold=money_message(threshold))
        reply = await self._ledger(
            "PreviewPayoutBatch", request, ledger_api.PreviewPayoutBatchResponse
        )
        return PayoutBatchPreview.from_pb(reply)

    async def list_payout_batches_page(
        self, *, page_size: int = 0, page_token: str = ""
    ) -> Page[PayoutBatch]:
        """One page of payout batches, newest first, each counted and summed but without
        its payouts (``get_payout_batch`` has them)."""
        request = ledger_api.ListPayoutBatchesRequest(page_size=page_size, page_token=page_token)
        reply = await self._ledger(
            "ListPayoutBatches", request, ledger_api.ListPayoutBatchesResponse
        )
        return Page.from_pb(reply, PayoutBatch.from_pb)

    def payout_batches(self, *, page_size: int = 0) -> AsyncIterator[PayoutBatch]:
        """Every payout batch, newest first, page by page."""
        return paging.every(
            lambda token: self.list_payout_batches_page(page_size=page_size, page_token=token)
        )

    # --- dead letters and deadlines (each service's OpsService) ---------------

    async def dead_letters_page(
        self, service: Service, *, topic: str = "", page_size: int = 0, page_token: str = ""
    ) -> ops_service_pb2.ListDeadLettersResponse:
        request = ops_service_pb2.ListDeadLettersRequest(
            topic=topic, page_size=page_size, page_token=page_token
        )
        return await self._ops(
            service, "ListDeadLetters", request, ops_service_pb2.ListDeadLettersResponse
        )

    def dead_letters(
        self, service: Service, *, topic: str = "", page_size: int = 0
    ) -> AsyncIterator[ops_service_pb2.DeadLetter]:
        """Every event ``service`` could not apply, page by page."""

        async def fetch(token: str) -> tuple[Sequence[ops_service_pb2.DeadLetter], str]:
            page = await self.dead_letters_page(
                service, topic=topic, page_size=page_size, page_token=token
            )
            return page.dead_letters, page.next_page_token

        return paging.items(fetch)

    async def replay_dead_letter(
        self, service: Service, event_id: str
    ) -> ops_service_pb2.ReplayDeadLetterResponse:
        request = ops_service_pb2.ReplayDeadLetterRequest(event_id=event_id)
        return await self._ops(
            service, "ReplayDeadLetter", request, ops_service_pb2.ReplayDeadLetterResponse
        )

    async def dead_lettered_deadlines_page(
        self, service: Service, *, kind: str = "", page_size: int = 0, page_token: str = ""
    ) -> ops_service_pb2.ListDeadLetteredDeadlinesResponse:
        request = ops_service_pb2.ListDeadLetteredDeadlinesRequest(
            kind=kind, page_size=page_size, page_token=page_token
        )
        return await self._ops(
            service,
            "ListDeadLetteredDeadlines",
            request,
            ops_service_pb2.ListDeadLetteredDeadlinesResponse,
        )

    def dead_lettered_deadlines(
        self, service: Service, *, kind: str = "", page_size: int = 0
    ) -> AsyncIterator[ops_service_pb2.Deadline]:
        """Every deadline of ``service`` that failed too often to fire, page by page."""

        async def fetch(token: str) -> tuple[Sequence[ops_service_pb2.Deadline], str]:
            page = await self.dead_lettered_deadlines_page(
                service, kind=kind, page_size=page_size, page_token=token
            )
            return page.deadlines, page.next_page_token

        return paging.items(fetch)

    async def rearm_deadline(
        self, service: Service, *, kind: str, ref: str, due_at: datetime | None = None
    ) -> ops_service_pb2.RearmDeadlineResponse:
        """Arms the deadline again, at ``due_at`` (timezone-aware) or now."""
        request = ops_service_pb2.RearmDeadlineRequest(kind=kind, ref=ref)
        if due_at is not None:
            request.due_at.CopyFrom(timestamp(due_at))
        return await self._ops(
            service, "RearmDeadline", request, ops_service_pb2.RearmDeadlineResponse
        )

    # --- health --------------------------------------------------------------

    async def health(self, service: Service, *, check: str = "readiness") -> str:
        """``SERVING``, ``NOT_SERVING``, ... for ``check`` ("liveness" or "readiness"),
        or ``UNREACHABLE``."""
        request = health_pb2.HealthCheckRequest(service=check)
        try:
            reply = await self._rpc.unary(
                service, f"{HEALTH}/Check", request, health_pb2.HealthCheckResponse, timeout=2.0
            )
        except CrewlineError as err:
            unreachable = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            return UNREACHABLE if err.code in unreachable else err.code_name
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))

    async def health_all(self, *, check: str = "readiness") -> dict[Service, str]:
        """Every service's ``health``."""
        return {service: await self.health(service, check=check) for service in SERVICES}

    async def health_report(self) -> list[ServiceHealth]:
        """Liveness and readiness of every service, the services checked side by side. A
        service whose liveness is UNREACHABLE is not asked again for its readiness."""
        return list(await asyncio.gather(*(self._service_health(s) for s in SERVICES)))

    async def _service_health(self, service: Service) -> ServiceHealth:
        liveness = await self.health(service, check="liveness")
        readiness = (
            liveness if liveness == UNREACHABLE else await self.health(service, check="readiness")
        )
        return ServiceHealth(
            service=service,
            address=self.endpoints.of(service),
            liveness=liveness,
            readiness=readiness,
        )

    # --- plumbing ------------------------------------------------------------

    async def _ops(
        self, service: Service, method: str, request: Message, reply: type[Reply]
    ) -> Reply:
        return await self._rpc.unary(service, f"{OPS}/{method}", request, reply)
