"""WorkService over gRPC: parse, call a handler, map back. Errors map at the kernel's edge."""

from __future__ import annotations

import asyncpg
import grpc

from crewline.v1 import work_service_pb2 as api
from crewline.v1 import work_service_pb2_grpc as api_grpc
from matcher import handlers
from matcher.adapters import protobuf as pb
from matcher.domain import model


class WorkServicer(api_grpc.WorkServiceServicer):
    def __init__(self, *, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def ListOpenTasks(
        self, request: api.ListOpenTasksRequest, context: grpc.aio.ServicerContext
    ) -> api.ListOpenTasksResponse:
        query = model.list_open_tasks(
            contractor_id=request.contractor_id,
            page_size=request.page_size,
            page_token=request.page_token,
            project_id=request.project_id,
        )
        tasks, more = await handlers.list_open_tasks(query, pool=self._pool)
        return api.ListOpenTasksResponse(
            tasks=[pb.open_task_to_pb(t) for t in tasks],
            next_page_token=more.token() if more else "",
        )

    async def ClaimTask(
        self, request: api.ClaimTaskRequest, context: grpc.aio.ServicerContext
    ) -> api.ClaimTaskResponse:
        cmd = model.claim_task(
            request_id=request.request_id,
            contractor_id=request.contractor_id,
            task_id=request.task_id,
        )
        claim = await handlers.claim_task(cmd, pool=self._pool)
        return api.ClaimTaskResponse(claim=pb.claim_to_pb(claim))

    async def SubmitWork(
        self, request: api.SubmitWorkRequest, context: grpc.aio.ServicerContext
    ) -> api.SubmitWorkResponse:
        cmd = model.submit_work(
            claim_id=request.claim_id, contractor_id=request.contractor_id, result=request.result
        )
        claim = await handlers.submit_work(cmd, pool=self._pool)
        return api.SubmitWorkResponse(claim=pb.claim_to_pb(claim))

    def register(self, server: grpc.aio.Server) -> None:
        api_grpc.add_WorkServiceServicer_to_server(self, server)


SERVICE_NAME = api.DESCRIPTOR.services_by_name["WorkService"].full_name
