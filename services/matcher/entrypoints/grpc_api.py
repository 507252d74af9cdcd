"""The matcher's gRPC services: parse, call a handler, map back.

Who may call what is the access policy at the bottom; the kernel's edge enforces
it, authenticates, and maps errors. The caller comes from ``principal_of``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from crewline.auth.principal import CONTRACTORS
from crewline.edge import AccessPolicy, principal_of
from crewline.protobuf import timestamp
from crewline.v1 import work_service_pb2 as api
from crewline.v1 import work_service_pb2_grpc as api_grpc
from matcher.adapters import protobuf as pb
from matcher.adapters.offer_hub import OfferHub, ResyncNeeded, Stream
from matcher.deps import Deps
from matcher.domain import commands
from matcher.entrypoints import contractor_admin
from matcher.handlers import claims, offers

# Offers per stream message: 100 offers with full instructions stay well inside 4 MiB.
_CHANGES_PER_MESSAGE = 100


class WorkServicer(api_grpc.WorkServiceServicer):
    """For contractors: their offers, and their own claims only."""

    def __init__(self, deps: Deps, hub: OfferHub) -> None:
        self._deps = deps
        self._hub = hub

    async def StreamOffers(
        self, request: api.StreamOffersRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[api.StreamOffersResponse]:
        limit, project_id = commands.stream_offers(
            max_offers=request.max_offers, project_id=request.project_id
        )
        keepalive = self._deps.settings.offer_keepalive_seconds
        stream = self._hub.open(principal_of(context).id, project_id)
        try:
            async for message in self._snapshot(stream, limit):
                yield message
            while True:
                try:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for makes a task per read.
                    async with asyncio.timeout(keepalive):
                        first = await stream.queue.get()
                except TimeoutError:
                    now = timestamp(self._deps.clock.now())
                    yield api.StreamOffersResponse(keepalive=api.Keepalive(sent_at=now))
                    continue
                batch = [first]  # and whatever else is queued: one message for the lot
                while len(batch) < _CHANGES_PER_MESSAGE and not stream.queue.empty():
                    batch.append(stream.queue.get_nowait())
                response = api.StreamOffersResponse()
                changes = response.changes.changes  # each change copied once, straight in
                for item in batch:
                    if not isinstance(item, ResyncNeeded):
                        changes.append(pb.offer_change(item))
                if changes:
                    yield response
                if any(isinstance(item, ResyncNeeded) for item in batch):
                    yield api.StreamOffersResponse(resync=api.Resync())
                    async for message in self._snapshot(stream, limit):
                        yield message
        finally:
            self._hub.close(stream)

    async def _snapshot(
        self, stream: Stream, limit: int
    ) -> AsyncIterator[api.StreamOffersResponse]:
        offers = await self._hub.snapshot(stream, limit)
        for start in range(0, len(offers), _CHANGES_PER_MESSAGE):
            chunk = offers[start : start + _CHANGES_PER_MESSAGE]
            changes = [api.OfferChange(offered=pb.offer_to_pb(o)) for o in chunk]
            yield api.StreamOffersResponse(changes=api.OfferChanges(changes=changes))
        yield api.StreamOffersResponse(snapshot_end=api.SnapshotEnd(offers=len(offers)))

    async def ListOffers(
        self, request: api.ListOffersRequest, context: grpc.aio.ServicerContext
    ) -> api.ListOffersResponse:
        query = commands.list_offers(
            contractor_id=principal_of(context).id,
            page_size=request.page_size,
            page_token=request.page_token,
            project_id=request.project_id,
        )
        offers_page, more = await offers.list_offers(query, self._deps)
        return api.ListOffersResponse(
            offers=[pb.offer_to_pb(o) for o in offers_page],
            next_page_token=more.token() if more else "",
        )

    async def ClaimTask(
        self, request: api.ClaimTaskRequest, context: grpc.aio.ServicerContext
    ) -> api.ClaimTaskResponse:
        cmd = commands.claim_task(
            request_id=request.request_id,
            contractor_id=principal_of(context).id,
            task_id=request.task_id,
        )
        granted = await claims.claim_task(cmd, self._deps)
        if granted.free_slots is not None:  # streams here learn at once; others by NOTIFY
            self._hub.claimed(cmd.task_id, cmd.contractor_id, granted.free_slots)
        return api.ClaimTaskResponse(
            claim=pb.claim_to_pb(granted.claim, granted.payload, granted.instructions)
        )

    async def SubmitWork(
        self, request: api.SubmitWorkRequest, context: grpc.aio.ServicerContext
    ) -> api.SubmitWorkResponse:
        cmd = commands.submit_work(
            claim_id=request.claim_id,
            contractor_id=principal_of(context).id,
            result=request.result,
            segments=pb.segments_from_pb(request.segments),
            worked_seconds=request.worked_seconds,
        )
        claim = await claims.submit_work(cmd, self._deps)
        return api.SubmitWorkResponse(claim=pb.claim_to_pb(claim))

    async def HeartbeatClaim(
        self, request: api.HeartbeatClaimRequest, context: grpc.aio.ServicerContext
    ) -> api.HeartbeatClaimResponse:
        cmd = commands.heartbeat_claim(
            claim_id=request.claim_id,
            contractor_id=principal_of(context).id,
            worked_seconds=request.worked_seconds,
        )
        claim = await claims.heartbeat_claim(cmd, self._deps)
        return api.HeartbeatClaimResponse(claim=pb.claim_to_pb(claim))

    async def ReleaseClaim(
        self, request: api.ReleaseClaimRequest, context: grpc.aio.ServicerContext
    ) -> api.ReleaseClaimResponse:
        cmd = commands.claim_ref(claim_id=request.claim_id, contractor_id=principal_of(context).id)
        claim = await claims.release_claim(cmd, self._deps)
        return api.ReleaseClaimResponse(claim=pb.claim_to_pb(claim))

    async def GetClaim(
        self, request: api.GetClaimRequest, context: grpc.aio.ServicerContext
    ) -> api.GetClaimResponse:
        cmd = commands.claim_ref(claim_id=request.claim_id, contractor_id=principal_of(context).id)
        claim, payload, instructions = await claims.get_claim(cmd, self._deps)
        return api.GetClaimResponse(claim=pb.claim_to_pb(claim, payload, instructions))

    async def ListMyClaims(
        self, request: api.ListMyClaimsRequest, context: grpc.aio.ServicerContext
    ) -> api.ListMyClaimsResponse:
        """Claims without their work (GetClaim has it): a page stays small."""
        query = commands.list_claims(
            contractor_id=principal_of(context).id,
            page_size=request.page_size,
            page_token=request.page_token,
            status=pb.status_filter(request.status),
            task_id=request.task_id,
            project_id=request.project_id,
        )
        page, more = await claims.list_my_claims(query, self._deps)
        return api.ListMyClaimsResponse(
            claims=[pb.claim_to_pb(c) for c in page],
            next_page_token=commands.claim_cursor(*more) if more else "",
        )

    def register(self, server: grpc.aio.Server) -> None:
        api_grpc.add_WorkServiceServicer_to_server(self, server)


_WORK = api.DESCRIPTOR.services_by_name["WorkService"]
SERVICE_NAMES = (_WORK.full_name, contractor_admin.SERVICE.full_name)
POLICY = (
    AccessPolicy.of(
        _WORK,
        {
            "StreamOffers": CONTRACTORS,
            "ListOffers": CONTRACTORS,
            "ClaimTask": CONTRACTORS,
            "SubmitWork": CONTRACTORS,
            "HeartbeatClaim": CONTRACTORS,
            "ReleaseClaim": CONTRACTORS,
            "GetClaim": CONTRACTORS,
            "ListMyClaims": CONTRACTORS,
        },
    )
    | contractor_admin.POLICY
)
