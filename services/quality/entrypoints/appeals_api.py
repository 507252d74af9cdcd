"""Appeals over gRPC: parse, call a handler, map back.

``QualityServicer`` delegates its four appeal methods here with the caller, as a
``Principal`` taken from the call's context, and its deps (tests call them so too).
"""

from __future__ import annotations

from crewline.auth.principal import Principal
from crewline.v1 import quality_service_pb2 as api
from quality.adapters import appeals_pb
from quality.deps import Deps
from quality.domain import appeals
from quality.handlers import appeals as handlers


async def file_appeal(
    request: api.FileAppealRequest, caller: Principal, deps: Deps
) -> api.FileAppealResponse:
    appeal = await handlers.file_appeal(appeals_pb.file_appeal(request, caller), deps)
    return api.FileAppealResponse(appeal=appeals_pb.appeal_to_pb(appeal))


async def list_my_appeals(
    request: api.ListMyAppealsRequest, caller: Principal, deps: Deps
) -> api.ListMyAppealsResponse:
    query = appeals.my_appeals(caller, page_size=request.page_size, page_token=request.page_token)
    found, token = await handlers.list_appeals(query, deps)
    return api.ListMyAppealsResponse(
        appeals=[appeals_pb.appeal_to_pb(a) for a in found], next_page_token=token
    )


async def list_appeals(
    request: api.ListAppealsRequest, caller: Principal, deps: Deps
) -> api.ListAppealsResponse:
    query = appeals.appeals(
        caller,
        project_id=request.project_id,
        state=appeals_pb.state_filter(request.state),
        page_size=request.page_size,
        page_token=request.page_token,
    )
    found, token = await handlers.list_appeals(query, deps)
    return api.ListAppealsResponse(
        appeals=[appeals_pb.appeal_to_pb(a) for a in found], next_page_token=token
    )


async def decide_appeal(
    request: api.DecideAppealRequest, caller: Principal, deps: Deps
) -> api.DecideAppealResponse:
    cmd = appeals.decide_appeal(
        caller, appeal_id=request.appeal_id, uphold=request.uphold, note=request.note
    )
    appeal = await handlers.decide_appeal(cmd, deps)
    return api.DecideAppealResponse(appeal=appeals_pb.appeal_to_pb(appeal))
