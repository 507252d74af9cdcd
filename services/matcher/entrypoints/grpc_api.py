"""The matcher's gRPC services: parse, call a handler, map back.

Who may call what is the access policy at the bottom; the kernel's edge enforces
it, authenticates, and maps errors. The caller comes from ``principal_of``.
"""

from __future__ import annotations

import grpc

from crewline import validate
from crewline.auth.principal import CONTRACTORS, OPERATORS
from crewline.edge import AccessPolicy, principal_of
from crewline.v1 import contractor_admin_service_pb2 as admin_api
from crewline.v1 import contractor_admin_service_pb2_grpc as admin_grpc
from crewline.v1 import work_service_pb2 as api
from crewline.v1 import work_service_pb2_grpc as api_grpc
from matcher.adapters import protobuf as pb
from matcher.deps import Deps
from matcher.domain import contractors, model
from matcher.handlers import claims
from matcher.handlers import contractors as contractor_handlers


class WorkServicer(api_grpc.WorkServiceServicer):
    """For contractors: the pool, and their own claims only."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def ListOpenTasks(
        self, request: api.ListOpenTasksRequest, context: grpc.aio.ServicerContext
    ) -> api.ListOpenTasksResponse:
        query = model.list_open_tasks(
            contractor_id=principal_of(context).id,
            page_size=request.page_size,
            page_token=request.page_token,
            project_id=request.project_id,
        )
        tasks, more = await claims.list_open_tasks(query, self._deps)
        return api.ListOpenTasksResponse(
            tasks=[pb.open_task_to_pb(t) for t in tasks],
            next_page_token=more.token() if more else "",
        )

    async def ClaimTask(
        self, request: api.ClaimTaskRequest, context: grpc.aio.ServicerContext
    ) -> api.ClaimTaskResponse:
        cmd = model.claim_task(
            request_id=request.request_id,
            contractor_id=principal_of(context).id,
            task_id=request.task_id,
        )
        claim = await claims.claim_task(cmd, self._deps)
        return api.ClaimTaskResponse(claim=pb.claim_to_pb(claim))

    async def SubmitWork(
        self, request: api.SubmitWorkRequest, context: grpc.aio.ServicerContext
    ) -> api.SubmitWorkResponse:
        cmd = model.submit_work(
            claim_id=request.claim_id, contractor_id=principal_of(context).id, result=request.result
        )
        claim = await claims.submit_work(cmd, self._deps)
        return api.SubmitWorkResponse(claim=pb.claim_to_pb(claim))

    def register(self, server: grpc.aio.Server) -> None:
        api_grpc.add_WorkServiceServicer_to_server(self, server)


class ContractorAdminServicer(admin_grpc.ContractorAdminServiceServicer):
    """For operators and the platform's login system: contractors and their tokens."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def CreateContractor(
        self, request: admin_api.CreateContractorRequest, context: grpc.aio.ServicerContext
    ) -> admin_api.CreateContractorResponse:
        cmd = contractors.create_contractor(
            contractor_id=request.contractor_id, display_name=request.display_name
        )
        contractor = await contractor_handlers.create_contractor(cmd, self._deps)
        return admin_api.CreateContractorResponse(contractor=pb.contractor_to_pb(contractor))

    async def IssueContractorToken(
        self, request: admin_api.IssueContractorTokenRequest, context: grpc.aio.ServicerContext
    ) -> admin_api.IssueContractorTokenResponse:
        cmd = contractors.issue_token(
            contractor_id=request.contractor_id, ttl_seconds=request.ttl_seconds
        )
        token, secret = await contractor_handlers.issue_token(cmd, self._deps)
        return admin_api.IssueContractorTokenResponse(token=pb.token_to_pb(token), secret=secret)

    async def RevokeContractorToken(
        self, request: admin_api.RevokeContractorTokenRequest, context: grpc.aio.ServicerContext
    ) -> admin_api.RevokeContractorTokenResponse:
        token_id = validate.identifier(request.token_id, field="token_id")
        token = await contractor_handlers.revoke_token(token_id, self._deps)
        return admin_api.RevokeContractorTokenResponse(token=pb.token_to_pb(token))

    def register(self, server: grpc.aio.Server) -> None:
        admin_grpc.add_ContractorAdminServiceServicer_to_server(self, server)


_WORK = api.DESCRIPTOR.services_by_name["WorkService"]
_ADMIN = admin_api.DESCRIPTOR.services_by_name["ContractorAdminService"]
SERVICE_NAMES = (_WORK.full_name, _ADMIN.full_name)
POLICY = AccessPolicy.of(
    _WORK, {"ListOpenTasks": CONTRACTORS, "ClaimTask": CONTRACTORS, "SubmitWork": CONTRACTORS}
) | AccessPolicy.of(
    _ADMIN,
    {
        "CreateContractor": OPERATORS,
        "IssueContractorToken": OPERATORS,
        "RevokeContractorToken": OPERATORS,
    },
)
