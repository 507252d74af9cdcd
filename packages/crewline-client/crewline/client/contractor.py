"""``Contractor``: what a contractor app does, against the matcher's WorkService (and its
own ledger account and earnings)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence

from google.protobuf.message import Message

from crewline.client import paging
from crewline.client.base import LEDGER, LedgerReads
from crewline.client.config import CREDENTIAL_ENV, DEFAULT_TIMEOUT, Endpoints, credential_from
from crewline.client.ids import request_id_or_new
from crewline.client.offers import OfferStream
from crewline.client.streams import Reconnect, StreamCall
from crewline.client.transport import Reply
from crewline.v1 import claim_pb2
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import work_service_pb2 as work_api

WORK = "crewline.v1.WorkService"


class Contractor(LedgerReads):
    """A contractor's calls, authenticated by its token.

    ``credential``: the token (default ``CREWLINE_CREDENTIAL``); ``matcher`` and
    ``ledger``: addresses (default from the environment). ``async with`` closes it.
    """

    def __init__(
        self,
        *,
        credential: str | None = None,
        matcher: str | None = None,
        ledger: str | None = None,
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
            addresses={"matcher": matcher, "ledger": ledger},
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
    ) -> work_api.ListOffersResponse:
        request = work_api.ListOffersRequest(
            project_id=project_id, page_size=page_size, page_token=page_token
        )
        return await self._call("ListOffers", request, work_api.ListOffersResponse)

    def offers(self, *, project_id: str = "", page_size: int = 0) -> AsyncIterator[work_api.Offer]:
        """Every offer open to the contractor now (by priority, then age), page by page."""

        async def fetch(token: str) -> tuple[Sequence[work_api.Offer], str]:
            page = await self.list_offers_page(
                project_id=project_id, page_size=page_size, page_token=token
            )
            return page.offers, page.next_page_token

        return paging.items(fetch)

    # --- claims --------------------------------------------------------------

    async def claim(self, task_id: str, *, request_id: str | None = None) -> work_api.Claim:
        """Takes one slot of the task. Refusals are ``Refused``/``AlreadyExists`` with a
        ``reason``: NO_FREE_SLOT, NOT_QUALIFIED, BLOCKED, AT_CLAIM_LIMIT, ALREADY_CLAIMED.
        The same ``request_id`` returns the same claim (one is made when not given)."""
        request = work_api.ClaimTaskRequest(
            request_id=request_id_or_new(request_id), task_id=task_id
        )
        return (await self._call("ClaimTask", request, work_api.ClaimTaskResponse)).claim

    async def heartbeat(self, claim_id: str, *, worked_seconds: int = 0) -> work_api.Claim:
        """Extends the claim's lease and reports the total time worked so far."""
        request = work_api.HeartbeatClaimRequest(claim_id=claim_id, worked_seconds=worked_seconds)
        reply = await self._call("HeartbeatClaim", request, work_api.HeartbeatClaimResponse)
        return reply.claim

    async def release(self, claim_id: str) -> work_api.Claim:
        """Gives the slot back at once."""
        request = work_api.ReleaseClaimRequest(claim_id=claim_id)
        return (await self._call("ReleaseClaim", request, work_api.ReleaseClaimResponse)).claim

    async def submit(
        self,
        claim_id: str,
        result: bytes | str,
        *,
        worked_seconds: int = 0,
        segments: Iterable[claim_pb2.WorkSegment] = (),
    ) -> work_api.Claim:
        """Hands in the work (a str is sent as UTF-8) with the time worked: seconds, or
        tracked segments, or neither (the last heartbeat's report counts)."""
        request = work_api.SubmitWorkRequest(
            claim_id=claim_id,
            result=result.encode() if isinstance(result, str) else result,
            worked_seconds=worked_seconds,
            segments=list(segments),
        )
        return (await self._call("SubmitWork", request, work_api.SubmitWorkResponse)).claim

    async def get_claim(self, claim_id: str) -> work_api.Claim:
        request = work_api.GetClaimRequest(claim_id=claim_id)
        return (await self._call("GetClaim", request, work_api.GetClaimResponse)).claim

    async def list_claims_page(
        self,
        *,
        status: work_api.ClaimStatus.ValueType = work_api.CLAIM_STATUS_UNSPECIFIED,
        task_id: str = "",
        project_id: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> work_api.ListMyClaimsResponse:
        request = work_api.ListMyClaimsRequest(
            status=status,
            task_id=task_id,
            project_id=project_id,
            page_size=page_size,
            page_token=page_token,
        )
        return await self._call("ListMyClaims", request, work_api.ListMyClaimsResponse)

    def claims(
        self,
        *,
        status: work_api.ClaimStatus.ValueType = work_api.CLAIM_STATUS_UNSPECIFIED,
        task_id: str = "",
        project_id: str = "",
        page_size: int = 0,
    ) -> AsyncIterator[work_api.Claim]:
        """Every claim of the caller matching the filters, newest first."""

        async def fetch(token: str) -> tuple[Sequence[work_api.Claim], str]:
            page = await self.list_claims_page(
                status=status,
                task_id=task_id,
                project_id=project_id,
                page_size=page_size,
                page_token=token,
            )
            return page.claims, page.next_page_token

        return paging.items(fetch)

    # --- pay -----------------------------------------------------------------

    async def earnings(self, *, contractor_id: str = "") -> ledger_api.GetEarningsResponse:
        """The contractor's pay by project, by week and in total, with hourly figures.
        ``contractor_id``: empty, or the contractor's own id (another's is NOT_FOUND)."""
        return await self._rpc.unary(
            "ledger",
            f"{LEDGER}/GetEarnings",
            ledger_api.GetEarningsRequest(contractor_id=contractor_id),
            ledger_api.GetEarningsResponse,
        )

    async def _call(self, method: str, request: Message, reply: type[Reply]) -> Reply:
        return await self._rpc.unary("matcher", f"{WORK}/{method}", request, reply)
