"""``Contractor``: what a contractor app does, against the matcher's WorkService (and its
own ledger account and earnings, and its own scores, sanctions, appeals, disputes of
gold keys and exams from the quality service)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping

from google.protobuf.message import Message

from crewline.client import paging
from crewline.client.base import LedgerReads
from crewline.client.build import Result, enum_number, result_bytes
from crewline.client.config import CREDENTIAL_ENV, DEFAULT_TIMEOUT, Endpoints, credential_from
from crewline.client.disputes import MyDisputes
from crewline.client.exams import MyExams
from crewline.client.ids import request_id_or_new
from crewline.client.offers import OfferStream
from crewline.client.results import Claim, ClaimStatus, Earnings, Offer, Page, WorkSegment
from crewline.client.sanctions import MySanctions
from crewline.client.scores import MyScores
from crewline.client.streams import Reconnect, StreamCall
from crewline.client.transport import Reply
from crewline.v1 import claim_pb2
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import work_service_pb2 as work_api

WORK = "crewline.v1.WorkService"


class Contractor(LedgerReads, MyScores, MySanctions, MyDisputes, MyExams):
    """A contractor's calls, authenticated by its token.

    ``credential``: the token (default ``CREWLINE_CREDENTIAL``); ``matcher``, ``ledger``
    and ``quality``: addresses (default from the environment). ``async with`` closes it.
    """

    def __init__(
        self,
        *,
        credential: str | None = None,
        matcher: str | None = None,
        ledger: str | None = None,
        quality: str | None = None,
        endpoints: Endpoints | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        reconnect: Reconnect | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            credential=credential_from(
                credential, variable=CREDENTIAL_ENV, env=env, who="Contractor"
            ),
            endpoints=endpoints,
            addresses={"matcher": matcher, "ledger": ledger, "quality": quality},
            timeout=timeout,
            reconnect=reconnect,
            env=env,
        )

    # --- offers --------------------------------------------------------------

    def stream_offers(self, *, project_id: str = "", max_offers: int = 0) -> OfferStream:
        """The offers the contractor may claim now, then every change, live, as
        ``Offered``/``Withdrawn``/``Resync``/``SnapshotEnd`` events (``crewline.client.offers``).
        Reconnects by itself; after a reconnection a ``Resync`` and a fresh snapshot come."""
        method = f"{WORK}/StreamOffers"
        request = work_api.StreamOffersRequest(max_offers=max_offers, project_id=project_id)

        def open_call() -> StreamCall[work_api.StreamOffersResponse]:
            return self._rpc.server_stream(
                "matcher", method, request, work_api.StreamOffersResponse
            )

        return OfferStream(
            open_call,
            method=method,
            policy=self._reconnect,
            service="matcher",
            address=self.endpoints.matcher,
        )

    async def list_offers_page(
        self, *, project_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> Page[Offer]:
        request = work_api.ListOffersRequest(
            project_id=project_id, page_size=page_size, page_token=page_token
        )
        reply = await self._call("ListOffers", request, work_api.ListOffersResponse)
        return Page.from_pb(reply, Offer.from_pb)

    def offers(self, *, project_id: str = "", page_size: int = 0) -> AsyncIterator[Offer]:
        """Every offer open to the contractor now (by priority, then age), page by page."""
        return paging.every(
            lambda token: self.list_offers_page(
                project_id=project_id, page_size=page_size, page_token=token
            )
        )

    # --- claims --------------------------------------------------------------

    async def claim(self, task_id: str, *, request_id: str | None = None) -> Claim:
        """Takes one slot of the task. Refusals are ``Refused``/``AlreadyExists`` with a
        ``reason``: NO_FREE_SLOT, NOT_QUALIFIED, BLOCKED, AT_CLAIM_LIMIT, ALREADY_CLAIMED.
        The same ``request_id`` returns the same claim (one is made when not given)."""
        request = work_api.ClaimTaskRequest(
            request_id=request_id_or_new(request_id), task_id=task_id
        )
        reply = await self._call("ClaimTask", request, work_api.ClaimTaskResponse)
        return Claim.from_pb(reply.claim)

    async def heartbeat(self, claim_id: str, *, worked_seconds: int = 0) -> Claim:
        """Extends the claim's lease and reports the total time worked so far."""
        request = work_api.HeartbeatClaimRequest(claim_id=claim_id, worked_seconds=worked_seconds)
        reply = await self._call("HeartbeatClaim", request, work_api.HeartbeatClaimResponse)
        return Claim.from_pb(reply.claim)

    async def release(self, claim_id: str) -> Claim:
        """Gives the slot back at once."""
        request = work_api.ReleaseClaimRequest(claim_id=claim_id)
        reply = await self._call("ReleaseClaim", request, work_api.ReleaseClaimResponse)
        return Claim.from_pb(reply.claim)

    async def submit(
        self,
        claim_id: str,
        result: Result,
        *,
        worked_seconds: int = 0,
        segments: Iterable[WorkSegment | claim_pb2.WorkSegment] = (),
    ) -> Claim:
        """Hands in the work with the time worked: seconds, or tracked ``segments``, or
        neither (the last heartbeat's report counts). ``result``: bytes as they are, a
        str as UTF-8, a dict as compact JSON: under a project's answer spec
        (``claim.answer_spec``), a JSON object of its fields. Work that does not fit the
        spec is refused (``InvalidArgument``, reason ANSWER_DOES_NOT_FIT, ``.field``
        naming the field, e.g. ``result.severity``) and nothing is stored."""
        request = work_api.SubmitWorkRequest(
            claim_id=claim_id,
            result=result_bytes(result),
            worked_seconds=worked_seconds,
            segments=[s.to_pb() if isinstance(s, WorkSegment) else s for s in segments],
        )
        reply = await self._call("SubmitWork", request, work_api.SubmitWorkResponse)
        return Claim.from_pb(reply.claim)

    async def get_claim(self, claim_id: str) -> Claim:
        request = work_api.GetClaimRequest(claim_id=claim_id)
        reply = await self._call("GetClaim", request, work_api.GetClaimResponse)
        return Claim.from_pb(reply.claim)

    async def list_claims_page(
        self,
        *,
        status: ClaimStatus | work_api.ClaimStatus.ValueType = work_api.CLAIM_STATUS_UNSPECIFIED,
        task_id: str = "",
        project_id: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[Claim]:
        """One page of the caller's claims; ``status``: only those in it
        (``ClaimStatus.ACTIVE``)."""
        request = work_api.ListMyClaimsRequest(
            status=enum_number(status, work_api.ClaimStatus),
            task_id=task_id,
            project_id=project_id,
            page_size=page_size,
            page_token=page_token,
        )
        reply = await self._call("ListMyClaims", request, work_api.ListMyClaimsResponse)
        return Page.from_pb(reply, Claim.from_pb)

    def claims(
        self,
        *,
        status: ClaimStatus | work_api.ClaimStatus.ValueType = work_api.CLAIM_STATUS_UNSPECIFIED,
        task_id: str = "",
        project_id: str = "",
        page_size: int = 0,
    ) -> AsyncIterator[Claim]:
        """Every claim of the caller matching the filters, newest first."""
        return paging.every(
            lambda token: self.list_claims_page(
                status=status,
                task_id=task_id,
                project_id=project_id,
                page_size=page_size,
                page_token=token,
            )
        )

    # --- pay -----------------------------------------------------------------

    async def earnings(self, *, contractor_id: str = "") -> Earnings:
        """The contractor's pay by project, by week and in total, with hourly figures.
        ``contractor_id``: empty, or the contractor's own id (another's is NOT_FOUND)."""
        request = ledger_api.GetEarningsRequest(contractor_id=contractor_id)
        reply = await self._ledger("GetEarnings", request, ledger_api.GetEarningsResponse)
        return Earnings.from_pb(reply)

    async def _call(self, method: str, request: Message, reply: type[Reply]) -> Reply:
        return await self._rpc.unary("matcher", f"{WORK}/{method}", request, reply)
