"""The dispatcher's gRPC services: parse, call a handler, map back.

Who may call what is the access policy at the bottom; the kernel's edge enforces
it, authenticates, and maps errors. The caller comes from ``principal_of``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from crewline import validate
from crewline.auth.principal import CLIENTS
from crewline.edge import AccessPolicy, principal_of
from crewline.protobuf import pay_terms_to_pb
from crewline.v1 import project_pb2
from crewline.v1 import task_service_pb2 as api
from crewline.v1 import task_service_pb2_grpc as api_grpc
from dispatcher.adapters import lifecycle_pb, review_pb
from dispatcher.adapters import protobuf as pb
from dispatcher.adapters.watch_hub import WatchHub
from dispatcher.deps import Deps
from dispatcher.domain import projects
from dispatcher.domain.projects import ProjectState
from dispatcher.entrypoints import client_admin, watch
from dispatcher.handlers import projects as project_handlers
from dispatcher.handlers import review as review_handlers
from dispatcher.handlers import tasks as task_handlers


class TaskServicer(api_grpc.TaskServiceServicer):
    """For clients: their own projects and tasks only."""

    def __init__(self, deps: Deps, hub: WatchHub) -> None:
        self._deps = deps
        self._hub = hub
        self._min = deps.settings.min_duration_seconds

    async def CreateProject(
        self, request: api.CreateProjectRequest, context: grpc.aio.ServicerContext
    ) -> api.CreateProjectResponse:
        cmd = pb.create_project_command(
            request, client_id=principal_of(context).id, min_seconds=self._min
        )
        project = await project_handlers.create_project(cmd, self._deps)
        return api.CreateProjectResponse(project=pb.project_to_pb(project))

    async def GetProject(
        self, request: api.GetProjectRequest, context: grpc.aio.ServicerContext
    ) -> api.GetProjectResponse:
        project_id = projects.project_ref(request.project_id, field="project_id")
        project, history = await project_handlers.get_project(
            project_id, principal_of(context), self._deps
        )
        return api.GetProjectResponse(
            project=pb.project_to_pb(project),
            pay_terms_history=[pay_terms_to_pb(t) for t in history],
        )

    async def ListProjects(
        self, request: api.ListProjectsRequest, context: grpc.aio.ServicerContext
    ) -> api.ListProjectsResponse:
        query = projects.list_projects(
            client_id=principal_of(context).id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        page, more = await project_handlers.list_projects(query, self._deps)
        return api.ListProjectsResponse(
            projects=[pb.project_to_pb(p) for p in page],
            next_page_token=more.token() if more else "",
        )

    async def UpdateProject(
        self, request: api.UpdateProjectRequest, context: grpc.aio.ServicerContext
    ) -> api.UpdateProjectResponse:
        cmd = pb.update_project_command(
            request, client_id=principal_of(context).id, min_seconds=self._min
        )
        project = await project_handlers.update_project(cmd, self._deps)
        return api.UpdateProjectResponse(project=pb.project_to_pb(project))

    async def SubmitTasks(
        self, request: api.SubmitTasksRequest, context: grpc.aio.ServicerContext
    ) -> api.SubmitTasksResponse:
        cmd = pb.submit_tasks_command(
            request, client_id=principal_of(context).id, min_seconds=self._min
        )
        tasks = await task_handlers.submit_tasks(cmd, self._deps)
        return api.SubmitTasksResponse(tasks=[pb.task_to_pb(t) for t in tasks])

    async def SubmitTask(
        self, request: api.SubmitTaskRequest, context: grpc.aio.ServicerContext
    ) -> api.SubmitTaskResponse:
        cmd = pb.submit_task_command(
            request, client_id=principal_of(context).id, min_seconds=self._min
        )
        [task] = await task_handlers.submit_tasks(cmd, self._deps)
        return api.SubmitTaskResponse(task=pb.task_to_pb(task))

    async def GetTask(
        self, request: api.GetTaskRequest, context: grpc.aio.ServicerContext
    ) -> api.GetTaskResponse:
        task_id = validate.uuid_id(request.task_id, field="task_id")
        task, submissions = await task_handlers.get_task(task_id, principal_of(context), self._deps)
        return api.GetTaskResponse(
            task=pb.task_to_pb(task),
            submissions=[review_pb.submission_to_pb(s, b) for s, b in submissions],
        )

    async def ListTasks(
        self, request: api.ListTasksRequest, context: grpc.aio.ServicerContext
    ) -> api.ListTasksResponse:
        query = pb.list_tasks_query(request, client_id=principal_of(context).id)
        page, more = await task_handlers.list_tasks(query, self._deps)
        return api.ListTasksResponse(
            tasks=[pb.task_to_pb(t) for t in page],
            next_page_token=more.token() if more else "",
        )

    async def CancelTask(
        self, request: api.CancelTaskRequest, context: grpc.aio.ServicerContext
    ) -> api.CancelTaskResponse:
        cmd = lifecycle_pb.cancel_task_command(request, client_id=principal_of(context).id)
        task = await task_handlers.cancel_task(cmd, self._deps)
        return api.CancelTaskResponse(task=pb.task_to_pb(task))

    async def AddSlots(
        self, request: api.AddSlotsRequest, context: grpc.aio.ServicerContext
    ) -> api.AddSlotsResponse:
        cmd = lifecycle_pb.add_slots_command(request, client_id=principal_of(context).id)
        task = await task_handlers.add_slots(cmd, self._deps)
        return api.AddSlotsResponse(task=pb.task_to_pb(task))

    async def UpdateTaskLifetime(
        self, request: api.UpdateTaskLifetimeRequest, context: grpc.aio.ServicerContext
    ) -> api.UpdateTaskLifetimeResponse:
        cmd = lifecycle_pb.update_task_lifetime_command(request, client_id=principal_of(context).id)
        task = await task_handlers.update_task_lifetime(cmd, self._deps)
        return api.UpdateTaskLifetimeResponse(task=pb.task_to_pb(task))

    async def PauseProject(
        self, request: api.PauseProjectRequest, context: grpc.aio.ServicerContext
    ) -> api.PauseProjectResponse:
        project = await self._move(request.project_id, ProjectState.PAUSED, context)
        return api.PauseProjectResponse(project=project)

    async def ResumeProject(
        self, request: api.ResumeProjectRequest, context: grpc.aio.ServicerContext
    ) -> api.ResumeProjectResponse:
        project = await self._move(request.project_id, ProjectState.ACTIVE, context)
        return api.ResumeProjectResponse(project=project)

    async def CloseProject(
        self, request: api.CloseProjectRequest, context: grpc.aio.ServicerContext
    ) -> api.CloseProjectResponse:
        project = await self._move(request.project_id, ProjectState.CLOSED, context)
        return api.CloseProjectResponse(project=project)

    async def _move(
        self, project_id: str, state: ProjectState, context: grpc.aio.ServicerContext
    ) -> project_pb2.Project:
        cmd = projects.change_project_state(
            project_id=project_id, client_id=principal_of(context).id, state=state
        )
        return pb.project_to_pb(await project_handlers.change_state(cmd, self._deps))

    async def Watch(
        self, request: api.WatchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[api.WatchResponse]:
        query = lifecycle_pb.watch_query(request, client_id=principal_of(context).id)
        async for response in watch.stream(query, self._deps, self._hub):
            yield response

    # --- review ---------------------------------------------------------------------------

    async def ListSubmissions(
        self, request: api.ListSubmissionsRequest, context: grpc.aio.ServicerContext
    ) -> api.ListSubmissionsResponse:
        query = review_pb.list_submissions_query(request, client_id=principal_of(context).id)
        page, more = await review_handlers.list_submissions(query, self._deps)
        return api.ListSubmissionsResponse(
            submissions=[review_pb.submission_to_pb(s, b) for s, b in page],
            next_page_token=more.token() if more else "",
        )

    async def GetSubmission(
        self, request: api.GetSubmissionRequest, context: grpc.aio.ServicerContext
    ) -> api.GetSubmissionResponse:
        submission_id = validate.uuid_id(request.submission_id, field="submission_id")
        sub, bonuses = await review_handlers.get_submission(
            submission_id, principal_of(context).id, self._deps
        )
        return api.GetSubmissionResponse(submission=review_pb.submission_to_pb(sub, bonuses))

    async def AcceptSubmission(
        self, request: api.AcceptSubmissionRequest, context: grpc.aio.ServicerContext
    ) -> api.AcceptSubmissionResponse:
        cmd = review_pb.accept_command(request, client_id=principal_of(context).id)
        sub, bonuses = await review_handlers.accept_submission(cmd, self._deps)
        return api.AcceptSubmissionResponse(submission=review_pb.submission_to_pb(sub, bonuses))

    async def RejectSubmission(
        self, request: api.RejectSubmissionRequest, context: grpc.aio.ServicerContext
    ) -> api.RejectSubmissionResponse:
        cmd = review_pb.reject_command(request, client_id=principal_of(context).id)
        sub, bonuses = await review_handlers.reject_submission(cmd, self._deps)
        return api.RejectSubmissionResponse(submission=review_pb.submission_to_pb(sub, bonuses))

    async def GrantBonus(
        self, request: api.GrantBonusRequest, context: grpc.aio.ServicerContext
    ) -> api.GrantBonusResponse:
        cmd = review_pb.grant_bonus_command(request, client_id=principal_of(context).id)
        bonus, (sub, bonuses) = await review_handlers.grant_bonus(cmd, self._deps)
        return api.GrantBonusResponse(
            bonus=review_pb.bonus_to_pb(bonus), submission=review_pb.submission_to_pb(sub, bonuses)
        )

    def register(self, server: grpc.aio.Server) -> None:
        api_grpc.add_TaskServiceServicer_to_server(self, server)


_TASKS = api.DESCRIPTOR.services_by_name["TaskService"]
SERVICE_NAMES = (_TASKS.full_name, client_admin.SERVICE.full_name)
POLICY = (
    AccessPolicy.of(
        _TASKS,
        {
            "CreateProject": CLIENTS,
            "GetProject": CLIENTS,
            "ListProjects": CLIENTS,
            "UpdateProject": CLIENTS,
            "SubmitTasks": CLIENTS,
            "SubmitTask": CLIENTS,
            "GetTask": CLIENTS,
            "ListTasks": CLIENTS,
            "CancelTask": CLIENTS,
            "AddSlots": CLIENTS,
            "UpdateTaskLifetime": CLIENTS,
            "PauseProject": CLIENTS,
            "ResumeProject": CLIENTS,
            "CloseProject": CLIENTS,
            "Watch": CLIENTS,
            "ListSubmissions": CLIENTS,
            "GetSubmission": CLIENTS,
            "AcceptSubmission": CLIENTS,
            "RejectSubmission": CLIENTS,
            "GrantBonus": CLIENTS,
        },
    )
    | client_admin.POLICY
)
