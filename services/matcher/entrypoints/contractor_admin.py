"""The matcher's operator service: contractors, tokens, qualifications and blocks."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from crewline import validate
from crewline.auth.principal import OPERATORS
from crewline.edge import AccessPolicy
from crewline.v1 import contractor_admin_service_pb2 as admin_api
from crewline.v1 import contractor_admin_service_pb2_grpc as admin_grpc
from matcher.adapters import contractor_protobuf as pb
from matcher.deps import Deps
from matcher.domain import blocks, contractor_list, contractors, qualifications
from matcher.handlers import blocks as block_handlers
from matcher.handlers import contractors as contractor_handlers
from matcher.handlers import qualifications as qualification_handlers

Context: TypeAlias = grpc.aio.ServicerContext


def _contractor_id(value: str) -> str:
    return validate.identifier(value, field="contractor_id")


class ContractorAdminServicer(admin_grpc.ContractorAdminServiceServicer):
    """For operators and the platform's login system: contractors and their tokens,
    qualifications and blocks."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def CreateContractor(
        self, request: admin_api.CreateContractorRequest, context: Context
    ) -> admin_api.CreateContractorResponse:
        cmd = contractors.create_contractor(
            contractor_id=request.contractor_id,
            display_name=request.display_name,
            domains=list(request.domains),
            languages=list(request.languages),
            locale=request.locale,
            max_concurrent_claims=request.max_concurrent_claims,
            referred_by=request.referred_by,
        )
        contractor = await contractor_handlers.create_contractor(cmd, self._deps)
        return admin_api.CreateContractorResponse(contractor=pb.contractor_to_pb(contractor))

    async def GetContractor(
        self, request: admin_api.GetContractorRequest, context: Context
    ) -> admin_api.GetContractorResponse:
        contractor_id = _contractor_id(request.contractor_id)
        contractor = await contractor_handlers.get_contractor(contractor_id, self._deps)
        return admin_api.GetContractorResponse(contractor=pb.contractor_to_pb(contractor))

    async def ListContractors(
        self, request: admin_api.ListContractorsRequest, context: Context
    ) -> admin_api.ListContractorsResponse:
        query = contractor_list.list_contractors(
            qualification=request.qualification,
            blocked=request.blocked if request.HasField("blocked") else None,
            active=request.active if request.HasField("active") else None,
            size=request.page_size,
            page_token=request.page_token,
        )
        found, token = await contractor_handlers.list_contractors(query, self._deps)
        return admin_api.ListContractorsResponse(
            contractors=[pb.listed_contractor_to_pb(c) for c in found], next_page_token=token
        )

    async def UpdateContractor(
        self, request: admin_api.UpdateContractorRequest, context: Context
    ) -> admin_api.UpdateContractorResponse:
        given = request.contractor
        cmd = contractors.update_contractor(
            contractor_id=given.contractor_id,
            paths=list(request.update_mask.paths),
            display_name=given.display_name,
            domains=list(given.domains),
            languages=list(given.languages),
            locale=given.locale,
            max_concurrent_claims=given.max_concurrent_claims,
        )
        contractor = await contractor_handlers.update_contractor(cmd, self._deps)
        return admin_api.UpdateContractorResponse(contractor=pb.contractor_to_pb(contractor))

    async def DeactivateContractor(
        self, request: admin_api.DeactivateContractorRequest, context: Context
    ) -> admin_api.DeactivateContractorResponse:
        cmd = contractors.deactivate_contractor(
            contractor_id=request.contractor_id, reason=request.reason
        )
        contractor = await contractor_handlers.deactivate_contractor(cmd, self._deps)
        return admin_api.DeactivateContractorResponse(contractor=pb.contractor_to_pb(contractor))

    async def IssueContractorToken(
        self, request: admin_api.IssueContractorTokenRequest, context: Context
    ) -> admin_api.IssueContractorTokenResponse:
        cmd = contractors.issue_token(
            contractor_id=request.contractor_id, ttl_seconds=request.ttl_seconds
        )
        token, secret = await contractor_handlers.issue_token(cmd, self._deps)
        return admin_api.IssueContractorTokenResponse(token=pb.token_to_pb(token), secret=secret)

    async def RevokeContractorToken(
        self, request: admin_api.RevokeContractorTokenRequest, context: Context
    ) -> admin_api.RevokeContractorTokenResponse:
        token_id = validate.identifier(request.token_id, field="token_id")
        token = await contractor_handlers.revoke_token(token_id, self._deps)
        return admin_api.RevokeContractorTokenResponse(token=pb.token_to_pb(token))

    async def DefineQualificationType(
        self, request: admin_api.DefineQualificationTypeRequest, context: Context
    ) -> admin_api.DefineQualificationTypeResponse:
        cmd = qualifications.define_qualification_type(
            name=request.name,
            kind=pb.kind_from_pb(request.kind),
            description=request.description,
            client_id=request.client_id,
        )
        qtype = await qualification_handlers.define_qualification_type(cmd, self._deps)
        return admin_api.DefineQualificationTypeResponse(
            qualification_type=pb.qualification_type_to_pb(qtype)
        )

    async def ListQualificationTypes(
        self, request: admin_api.ListQualificationTypesRequest, context: Context
    ) -> admin_api.ListQualificationTypesResponse:
        found = await qualification_handlers.list_qualification_types(self._deps)
        return admin_api.ListQualificationTypesResponse(
            qualification_types=[pb.qualification_type_to_pb(t) for t in found]
        )

    async def GrantQualification(
        self, request: admin_api.GrantQualificationRequest, context: Context
    ) -> admin_api.GrantQualificationResponse:
        cmd = qualifications.grant_qualification(
            contractor_id=request.contractor_id,
            qualification=request.qualification,
            score=request.score if request.HasField("score") else None,
            text=request.text if request.HasField("text") else None,
        )
        held = await qualification_handlers.grant_qualification(cmd, self._deps)
        return admin_api.GrantQualificationResponse(qualification=pb.held_to_pb(held))

    async def RevokeQualification(
        self, request: admin_api.RevokeQualificationRequest, context: Context
    ) -> admin_api.RevokeQualificationResponse:
        cmd = qualifications.revoke_qualification(
            contractor_id=request.contractor_id,
            qualification=request.qualification,
            reason=request.reason,
        )
        await qualification_handlers.revoke_qualification(cmd, self._deps)
        return admin_api.RevokeQualificationResponse()

    async def ListQualifications(
        self, request: admin_api.ListQualificationsRequest, context: Context
    ) -> admin_api.ListQualificationsResponse:
        contractor_id = _contractor_id(request.contractor_id)
        held, history = await qualification_handlers.list_qualifications(contractor_id, self._deps)
        return admin_api.ListQualificationsResponse(
            qualifications=[pb.held_to_pb(h) for h in held],
            history=[pb.history_entry_to_pb(e) for e in history],
        )

    async def BlockContractor(
        self, request: admin_api.BlockContractorRequest, context: Context
    ) -> admin_api.BlockContractorResponse:
        cmd = blocks.block_contractor(
            block_id=request.block_id,
            contractor_id=request.contractor_id,
            project_id=request.project_id,
            reason=request.reason,
        )
        block = await block_handlers.block_contractor(cmd, self._deps)
        return admin_api.BlockContractorResponse(block=pb.block_to_pb(block))

    async def LiftBlock(
        self, request: admin_api.LiftBlockRequest, context: Context
    ) -> admin_api.LiftBlockResponse:
        block_id = validate.identifier(request.block_id, field="block_id")
        block = await block_handlers.lift_block(block_id, self._deps)
        return admin_api.LiftBlockResponse(block=pb.block_to_pb(block))

    async def ListBlocks(
        self, request: admin_api.ListBlocksRequest, context: Context
    ) -> admin_api.ListBlocksResponse:
        contractor_id = _contractor_id(request.contractor_id)
        found = await block_handlers.list_blocks(contractor_id, self._deps)
        return admin_api.ListBlocksResponse(blocks=[pb.block_to_pb(b) for b in found])

    def register(self, server: grpc.aio.Server) -> None:
        admin_grpc.add_ContractorAdminServiceServicer_to_server(self, server)


SERVICE = admin_api.DESCRIPTOR.services_by_name["ContractorAdminService"]
POLICY = AccessPolicy.of(
    SERVICE,
    {
        "CreateContractor": OPERATORS,
        "GetContractor": OPERATORS,
        "ListContractors": OPERATORS,
        "UpdateContractor": OPERATORS,
        "DeactivateContractor": OPERATORS,
        "IssueContractorToken": OPERATORS,
        "RevokeContractorToken": OPERATORS,
        "DefineQualificationType": OPERATORS,
        "ListQualificationTypes": OPERATORS,
        "GrantQualification": OPERATORS,
        "RevokeQualification": OPERATORS,
        "ListQualifications": OPERATORS,
        "BlockContractor": OPERATORS,
        "LiftBlock": OPERATORS,
        "ListBlocks": OPERATORS,
    },
)
