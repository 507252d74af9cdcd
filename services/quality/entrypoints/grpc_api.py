"""QualityService over gRPC: parse, call a handler, map back.

Who may call what is the access policy at the bottom; the kernel's edge enforces
it, authenticates, and maps errors. The caller comes from ``principal_of``.
"""

from __future__ import annotations

import grpc

from crewline.auth.principal import CLIENTS, CONTRACTORS, OPERATORS
from crewline.edge import AccessPolicy, principal_of
from crewline.v1 import quality_service_pb2 as api
from crewline.v1 import quality_service_pb2_grpc as api_grpc
from quality.adapters import protobuf as pb
from quality.deps import Deps
from quality.domain import queries
from quality.handlers.scores import find_scores


class QualityServicer(api_grpc.QualityServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def ListMyScores(
        self, request: api.ListMyScoresRequest, context: grpc.aio.ServicerContext
    ) -> api.ListMyScoresResponse:
        query = queries.my_scores(
            principal_of(context),
            project_id=request.project_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        found, token = await find_scores(query, self._deps)
        return api.ListMyScoresResponse(
            scores=[pb.score_to_pb(s) for s in found], next_page_token=token
        )

    async def GetContractorScores(
        self, request: api.GetContractorScoresRequest, context: grpc.aio.ServicerContext
    ) -> api.GetContractorScoresResponse:
        query = queries.contractor_scores(
            principal_of(context),
            request.contractor_id,
            project_id=request.project_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        found, token = await find_scores(query, self._deps)
        return api.GetContractorScoresResponse(
            scores=[pb.score_to_pb(s) for s in found], next_page_token=token
        )

    def register(self, server: grpc.aio.Server) -> None:
        api_grpc.add_QualityServiceServicer_to_server(self, server)


_QUALITY = api.DESCRIPTOR.services_by_name["QualityService"]
SERVICE_NAMES = (_QUALITY.full_name,)
POLICY = AccessPolicy.of(
    _QUALITY,
    {
        "ListMyScores": CONTRACTORS,  # their own
        "GetContractorScores": CLIENTS | OPERATORS,  # clients: their own projects' only
    },
)
