"""TaskService over gRPC: parse, call a handler, map back. Errors map at the kernel's edge."""

from __future__ import annotations

import asyncpg
import grpc

from crewline import validate
from crewline.v1 import task_service_pb2 as api
from crewline.v1 import task_service_pb2_grpc as api_grpc
from dispatcher import handlers
from dispatcher.adapters import protobuf as pb


class TaskServicer(api_grpc.TaskServiceServicer):
    def __init__(self, *, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def SubmitTask(
        self, request: api.SubmitTaskRequest, context: grpc.aio.ServicerContext
    ) -> api.SubmitTaskResponse:
        task = await handlers.submit_task(pb.submit_task_command(request), pool=self._pool)
        return api.SubmitTaskResponse(task=pb.task_to_pb(task))

    async def GetTask(
        self, request: api.GetTaskRequest, context: grpc.aio.ServicerContext
    ) -> api.GetTaskResponse:
        task_id = validate.uuid_id(request.task_id, field="task_id")
        task, submissions = await handlers.get_task(task_id, pool=self._pool)
        return api.GetTaskResponse(
            task=pb.task_to_pb(task), submissions=[pb.submission_to_pb(s) for s in submissions]
        )

    def register(self, server: grpc.aio.Server) -> None:
        api_grpc.add_TaskServiceServicer_to_server(self, server)


SERVICE_NAME = api.DESCRIPTOR.services_by_name["TaskService"].full_name
