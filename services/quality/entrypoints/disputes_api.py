"""Disputes of gold keys over gRPC: parse, call a handler, map back.

``QualityServicer`` delegates its four dispute methods here with the caller, as a
``Principal`` taken from the call's context, and its deps, as ``appeals_api`` does. The
gold task a dispute names is shown to the project's client and operators (ResolveDispute,
ListDisputes), never to the contractor.
"""

from __future__ import annotations

from crewline.auth.principal import Principal
from crewline.v1 import quality_service_pb2 as api
from quality.adapters import disputes_pb
from quality.deps import Deps
from quality.domain import disputes
from quality.handlers import disputes as handlers


async def dispute_gold_key(
    request: api.DisputeGoldKeyRequest, caller: Principal, deps: Deps
) -> api.DisputeGoldKeyResponse:
    dispute = await handlers.file_dispute(disputes_pb.file_dispute(request, caller), deps)
    return api.DisputeGoldKeyResponse(dispute=disputes_pb.dispute_to_pb(dispute, gold=False))


async def list_my_disputes(
    request: api.ListMyDisputesRequest, caller: Principal, deps: Deps
) -> api.ListMyDisputesResponse:
    query = disputes.my_disputes(caller, page_size=request.page_size, page_token=request.page_token)
    found, token = await handlers.list_disputes(query, deps)
    return api.ListMyDisputesResponse(
        disputes=[disputes_pb.dispute_to_pb(d, gold=False) for d in found],
        next_page_token=token,
    )


async def list_disputes(
    request: api.ListDisputesRequest, caller: Principal, deps: Deps
) -> api.ListDisputesResponse:
    query = disputes.disputes(
        caller,
        project_id=request.project_id,
        state=disputes_pb.state_filter(request.state),
        page_size=request.page_size,
        page_token=request.page_token,
    )
    found, token = await handlers.list_disputes(query, deps)
    return api.ListDisputesResponse(
        disputes=[disputes_pb.dispute_to_pb(d, gold=True) for d in found], next_page_token=token
    )


async def resolve_dispute(
    request: api.ResolveDisputeRequest, caller: Principal, deps: Deps
) -> api.ResolveDisputeResponse:
    dispute = await handlers.resolve_dispute(disputes_pb.resolve_dispute(request, caller), deps)
    return api.ResolveDisputeResponse(dispute=disputes_pb.dispute_to_pb(dispute, gold=True))
