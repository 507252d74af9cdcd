"""``Client``: what a client system does, against the dispatcher's TaskService (and its
own ledger account; from the quality service, contractors' scores in its projects, its
gold tasks, its projects' quality policies and rules, the sanctions, appeals and
disputes of gold keys in them, and the exams that grant the qualification types that
name it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime

from google.protobuf import field_mask_pb2

from crewline.client import paging
from crewline.client.build import Payload, answer_spec_message, enum_number, task, timestamp
from crewline.client.config import CREDENTIAL_ENV, DEFAULT_TIMEOUT, Endpoints, credential_from
from crewline.client.disputes import ResolveDisputes
from crewline.client.exams import Exams
from crewline.client.gold import QualityControl
from crewline.client.ids import request_id_or_new
from crewline.client.results import (
    AnswerSpec,
    Page,
    Project,
    ProjectDetails,
    Task,
    TaskDetails,
    TaskStatus,
)
from crewline.client.review import Review
from crewline.client.sanctions import Sanctions
from crewline.client.scores import ContractorScores
from crewline.client.streams import Reconnect
from crewline.v1 import project_pb2
from crewline.v1 import task_service_pb2 as task_api


class Client(Review, ContractorScores, QualityControl, Sanctions, ResolveDisputes, Exams):
    """A client system's calls, authenticated by its API key.

    ``credential``: the API key (default ``CREWLINE_CREDENTIAL``); ``dispatcher``, ``ledger``
    and ``quality``: addresses (default from the environment, see ``crewline.client.config``).
    Use it as ``async with Client() as client: ...`` so its channels close.
    """

    def __init__(
        self,
        *,
        credential: str | None = None,
        dispatcher: str | None = None,
        ledger: str | None = None,
        quality: str | None = None,
        endpoints: Endpoints | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        reconnect: Reconnect | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            credential=credential_from(credential, variable=CREDENTIAL_ENV, env=env, who="Client"),
            endpoints=endpoints,
            addresses={"dispatcher": dispatcher, "ledger": ledger, "quality": quality},
            timeout=timeout,
            reconnect=reconnect,
            env=env,
        )

    # --- projects ------------------------------------------------------------

    async def create_project(
        self,
        *,
        title: str,
        pay_terms: project_pb2.PayTerms,
        instructions: str = "",
        requirements: Iterable[project_pb2.Requirement] = (),
        assignments_per_task: int = 0,
        claim_timeout_seconds: int = 0,
        task_lifetime_seconds: int = 0,
        auto_accept_delay_seconds: int = 0,
        priority: int = 0,
        max_claims_per_contractor: int = 0,
        answer_spec: AnswerSpec | project_pb2.AnswerSpec | None = None,
        request_id: str | None = None,
    ) -> Project:
        """A new project; the same ``request_id`` returns the same project forever (one is
        made when not given, and kept across retries). ``answer_spec``: the shape of a
        result (``crewline.client.answer_spec``); without one, any bytes are a result."""
        request = task_api.CreateProjectRequest(
            request_id=request_id_or_new(request_id),
            title=title,
            instructions=instructions,
            requirements=list(requirements),
            pay_terms=pay_terms,
            assignments_per_task=assignments_per_task,
            claim_timeout_seconds=claim_timeout_seconds,
            task_lifetime_seconds=task_lifetime_seconds,
            auto_accept_delay_seconds=auto_accept_delay_seconds,
            priority=priority,
            max_claims_per_contractor=max_claims_per_contractor,
        )
        if answer_spec is not None:
            request.answer_spec.CopyFrom(answer_spec_message(answer_spec))
        reply = await self._call("CreateProject", request, task_api.CreateProjectResponse)
        return Project.from_pb(reply.project)

    async def get_project(self, project_id: str) -> ProjectDetails:
        """The project and the history of its pay terms."""
        request = task_api.GetProjectRequest(project_id=project_id)
        reply = await self._call("GetProject", request, task_api.GetProjectResponse)
        return ProjectDetails.from_pb(reply)

    async def list_projects_page(
        self, *, page_size: int = 0, page_token: str = ""
    ) -> Page[Project]:
        request = task_api.ListProjectsRequest(page_size=page_size, page_token=page_token)
        reply = await self._call("ListProjects", request, task_api.ListProjectsResponse)
        return Page.from_pb(reply, Project.from_pb)

    def projects(self, *, page_size: int = 0) -> AsyncIterator[Project]:
        """Every project of the caller, newest first."""
        return paging.every(
            lambda token: self.list_projects_page(page_size=page_size, page_token=token)
        )

    async def update_project(
        self,
        project: project_pb2.Project,
        *,
        paths: Iterable[str],
        expected_revision: int = 0,
    ) -> Project:
        """Sets the fields named in ``paths`` (e.g. ``["title", "pay_terms"]``) to their
        values in ``project`` (whose ``project_id`` names it). Not retried: repeating it
        makes a new revision. The path ``answer_spec`` sets a new version of the spec
        (claims granted before keep theirs); a spec with no fields removes it."""
        request = task_api.UpdateProjectRequest(
            project=project,
            update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
            expected_revision=expected_revision,
        )
        reply = await self._call("UpdateProject", request, task_api.UpdateProjectResponse)
        return Project.from_pb(reply.project)

    async def pause_project(self, project_id: str) -> Project:
        request = task_api.PauseProjectRequest(project_id=project_id)
        reply = await self._call("PauseProject", request, task_api.PauseProjectResponse)
        return Project.from_pb(reply.project)

    async def resume_project(self, project_id: str) -> Project:
        request = task_api.ResumeProjectRequest(project_id=project_id)
        reply = await self._call("ResumeProject", request, task_api.ResumeProjectResponse)
        return Project.from_pb(reply.project)

    async def close_project(self, project_id: str) -> Project:
        """For good: a closed project takes no tasks and offers nothing again, and its
        unfinished tasks are cancelled (reason ``project closed``) moments later."""
        request = task_api.CloseProjectRequest(project_id=project_id)
        reply = await self._call("CloseProject", request, task_api.CloseProjectResponse)
        return Project.from_pb(reply.project)

    # --- tasks ---------------------------------------------------------------

    async def submit_tasks(self, project_id: str, tasks: Iterable[task_api.TaskSpec]) -> list[Task]:
        """Publishes up to 1,000 tasks (see ``crewline.client.task``), all or nothing; in
        request order. Each task's idempotency key returns the same task forever."""
        request = task_api.SubmitTasksRequest(project_id=project_id, tasks=list(tasks))
        reply = await self._call("SubmitTasks", request, task_api.SubmitTasksResponse)
        return [Task.from_pb(each) for each in reply.tasks]

    async def submit_task(
        self,
        project_id: str,
        payload: Payload,
        *,
        idempotency_key: str | None = None,
        slots: int = 0,
        priority: int | None = None,
        lifetime_seconds: int = 0,
        correlation_id: str | None = None,
    ) -> Task:
        """Publishes one task (``payload`` as in ``crewline.client.task``)."""
        spec = task(
            payload,
            idempotency_key=idempotency_key,
            slots=slots,
            priority=priority,
            lifetime_seconds=lifetime_seconds,
        )
        request = task_api.SubmitTaskRequest(project_id=project_id, task=spec)
        reply = await self._call(
            "SubmitTask", request, task_api.SubmitTaskResponse, correlation_id=correlation_id
        )
        return Task.from_pb(reply.task)

    async def get_task(self, task_id: str) -> TaskDetails:
        """The task, its counts and its submissions."""
        request = task_api.GetTaskRequest(task_id=task_id)
        return TaskDetails.from_pb(await self._call("GetTask", request, task_api.GetTaskResponse))

    async def list_tasks_page(
        self,
        *,
        project_id: str = "",
        status: TaskStatus | task_api.TaskStatus.ValueType = task_api.TASK_STATUS_UNSPECIFIED,
        updated_since: datetime | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[Task]:
        """One page of tasks; ``status``: only those in it (``TaskStatus.OPEN``)."""
        request = task_api.ListTasksRequest(
            project_id=project_id,
            status=enum_number(status, task_api.TaskStatus),
            page_size=page_size,
            page_token=page_token,
        )
        if updated_since is not None:
            request.updated_since.CopyFrom(timestamp(updated_since))
        reply = await self._call("ListTasks", request, task_api.ListTasksResponse)
        return Page.from_pb(reply, Task.from_pb)

    def tasks(
        self,
        *,
        project_id: str = "",
        status: TaskStatus | task_api.TaskStatus.ValueType = task_api.TASK_STATUS_UNSPECIFIED,
        updated_since: datetime | None = None,
        page_size: int = 0,
    ) -> AsyncIterator[Task]:
        """Every task matching the filters, least recently updated first."""
        return paging.every(
            lambda token: self.list_tasks_page(
                project_id=project_id,
                status=status,
                updated_since=updated_since,
                page_size=page_size,
                page_token=token,
            )
        )

    async def cancel_task(self, task_id: str, *, reason: str = "") -> Task:
        """Stops the task: its open slots are withdrawn. Cancelling again returns it."""
        request = task_api.CancelTaskRequest(task_id=task_id, reason=reason)
        reply = await self._call("CancelTask", request, task_api.CancelTaskResponse)
        return Task.from_pb(reply.task)

    async def add_slots(self, task_id: str, slots: int, *, request_id: str | None = None) -> Task:
        """Adds ``slots`` assignments to a live task; idempotent on ``request_id``."""
        request = task_api.AddSlotsRequest(
            request_id=request_id_or_new(request_id), task_id=task_id, slots=slots
        )
        reply = await self._call("AddSlots", request, task_api.AddSlotsResponse)
        return Task.from_pb(reply.task)

    async def update_task_lifetime(self, task_id: str, *, expires_at: datetime) -> Task:
        """Moves the end of a live task's lifetime to ``expires_at`` (timezone-aware)."""
        request = task_api.UpdateTaskLifetimeRequest(
            task_id=task_id, expires_at=timestamp(expires_at)
        )
        reply = await self._call("UpdateTaskLifetime", request, task_api.UpdateTaskLifetimeResponse)
        return Task.from_pb(reply.task)
