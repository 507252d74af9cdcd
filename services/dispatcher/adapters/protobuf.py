"""Dispatcher domain <-> protobuf (API messages and events)."""

from __future__ import annotations

from typing import Any

from crewline.auth.store import ApiKeyRecord
from crewline.errors import InvalidArgument
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms, pay_terms
from crewline.protobuf import (
    COMPARATORS,
    answer_spec_from_pb,
    answer_spec_to_pb,
    from_timestamp,
    pay_terms_to_pb,
    request_time,
    requirement_to_pb,
    timestamp,
)
from crewline.v1 import client_admin_service_pb2 as admin_api
from crewline.v1 import events_pb2, project_pb2, task_service_pb2
from dispatcher.domain.clients import Client, ListedClient
from dispatcher.domain.exams import ExamQuestion, exam_question
from dispatcher.domain.model import (
    ListTasks,
    SubmitTasks,
    TaskSpec,
    check_batch_size,
    gold_task,
    list_tasks,
    submit_tasks,
    task_spec,
)
from dispatcher.domain.projects import (
    CreateProject,
    Project,
    ProjectFields,
    ProjectState,
    RequirementSpec,
    UpdateProject,
    create_project,
    update_paths,
    update_project,
)
from dispatcher.domain.tasks import Task, TaskStatus

_TASK_STATUS = {
    TaskStatus.OPEN: task_service_pb2.TASK_STATUS_OPEN,
    TaskStatus.IN_PROGRESS: task_service_pb2.TASK_STATUS_IN_PROGRESS,
    TaskStatus.COMPLETED: task_service_pb2.TASK_STATUS_COMPLETED,
    TaskStatus.EXPIRED: task_service_pb2.TASK_STATUS_EXPIRED,
    TaskStatus.CANCELLED: task_service_pb2.TASK_STATUS_CANCELLED,
}
_PROJECT_STATE = {
    ProjectState.ACTIVE: project_pb2.PROJECT_STATE_ACTIVE,
    ProjectState.PAUSED: project_pb2.PROJECT_STATE_PAUSED,
    ProjectState.CLOSED: project_pb2.PROJECT_STATE_CLOSED,
}


_STATUS_FROM_PB = {v: k for k, v in _TASK_STATUS.items()}


def task_to_pb(task: Task) -> task_service_pb2.Task:
    pb = task_service_pb2.Task(
        task_id=str(task.task_id),
        client_id=task.client_id,
        project_id=task.project_id,
        status=_TASK_STATUS[task.status],
        slots=task.slots,
        claimed_count=task.claimed_count,
        submitted_count=task.submitted_count,
        accepted_count=task.accepted_count,
        created_at=timestamp(task.created_at),
        idempotency_key=task.idempotency_key,
        priority=task.priority,
        expires_at=timestamp(task.expires_at),
        updated_at=timestamp(task.updated_at),
        live_claims=task.live_claims,
        reserved_for=task.reserved_for,
    )
    if task.cancelled_at is not None:
        pb.cancelled_at.CopyFrom(timestamp(task.cancelled_at))
    _set_payload(pb, task)
    return pb


def _set_payload(pb: task_service_pb2.Task | events_pb2.TaskPublished, task: Task) -> None:
    if task.payload_json is not None:
        pb.payload_json = task.payload_json
    elif task.payload_bytes is not None:
        pb.payload_bytes = task.payload_bytes


def _task_spec(pb: task_service_pb2.TaskSpec, *, field: str, min_seconds: int) -> TaskSpec:
    which = pb.WhichOneof("payload")
    return task_spec(
        idempotency_key=pb.idempotency_key,
        payload_json=pb.payload_json if which == "payload_json" else None,
        payload_bytes=pb.payload_bytes if which == "payload_bytes" else None,
        slots=pb.slots,
        priority=pb.priority if pb.HasField("priority") else None,
        lifetime_seconds=pb.lifetime_seconds,
        field=field,
        min_seconds=min_seconds,
    )


def submit_tasks_command(
    req: task_service_pb2.SubmitTasksRequest, *, client_id: str, min_seconds: int
) -> SubmitTasks:
    """The batch, validated into a command for the calling client; the first bad field
    raises ``InvalidArgument`` naming it, with the task's index."""
    check_batch_size(len(req.tasks))  # before validating each of (maybe) very many
    specs = [
        _task_spec(t, field=f"tasks[{i}]", min_seconds=min_seconds) for i, t in enumerate(req.tasks)
    ]
    return submit_tasks(client_id=client_id, project_id=req.project_id, tasks=specs)


def submit_task_command(
    req: task_service_pb2.SubmitTaskRequest, *, client_id: str, min_seconds: int
) -> SubmitTasks:
    """One task: a batch of one, whose errors name ``task.<field>``."""
    spec = _task_spec(req.task, field="task", min_seconds=min_seconds)
    return submit_tasks(client_id=client_id, project_id=req.project_id, tasks=[spec], field="task")


def list_tasks_query(req: task_service_pb2.ListTasksRequest, *, client_id: str) -> ListTasks:
    if req.status and req.status not in _STATUS_FROM_PB:
        raise InvalidArgument("status", "is not a task status")
    return list_tasks(
        client_id=client_id,
        page_size=req.page_size,
        page_token=req.page_token,
        project_id=req.project_id,
        status=_STATUS_FROM_PB.get(req.status),
        updated_since=request_time(req, "updated_since"),
    )


def task_published(task: Task, *, unpaid: bool = False) -> events_pb2.TaskPublished:
    """``unpaid``: an unpaid exam's question (its spec's, as the task keeps no such
    field: only its announcement needs it)."""
    pb = events_pb2.TaskPublished(
        task_id=str(task.task_id),
        client_id=task.client_id,
        project_id=task.project_id,
        slots=task.slots,
        published_at=timestamp(task.created_at),
        priority=task.priority,
        own_priority=task.own_priority,
        expires_at=timestamp(task.expires_at),
        reserved_for=task.reserved_for,
        unpaid=unpaid,
    )
    _set_payload(pb, task)
    return pb


def gold_task_command(event: events_pb2.GoldIssued) -> tuple[SubmitTasks, ExamQuestion | None]:
    """The quality service's gold task, validated into a batch of one, and the exam's
    question it is, if it is one (errors name the event's fields)."""
    which = event.WhichOneof("payload")
    ends_by = from_timestamp(event.ends_by) if event.HasField("ends_by") else None
    question = exam_question(
        task_id=event.task_id,
        attempt_id=event.exam_attempt_id,
        unpaid=event.unpaid,
        ends_by=ends_by,
    )
    cmd = gold_task(
        task_id=event.task_id,
        project_id=event.project_id,
        client_id=event.client_id,
        contractor_id=event.contractor_id,
        payload_json=event.payload_json if which == "payload_json" else None,
        payload_bytes=event.payload_bytes if which == "payload_bytes" else None,
        ends_by=ends_by if question is not None else None,
        unpaid=question is not None and question.unpaid,
    )
    return cmd, question


def client_to_pb(client: Client) -> admin_api.Client:
    return admin_api.Client(
        client_id=client.client_id,
        display_name=client.display_name,
        created_at=timestamp(client.created_at),
    )


def listed_client_to_pb(listed: ListedClient) -> admin_api.ListedClient:
    return admin_api.ListedClient(
        client=client_to_pb(listed.client), active_api_keys=listed.active_api_keys
    )


def api_key_to_pb(key: ApiKeyRecord) -> admin_api.ApiKey:
    pb = admin_api.ApiKey(
        key_id=key.key_id, client_id=key.client_id, created_at=timestamp(key.created_at)
    )
    if key.revoked_at is not None:
        pb.revoked_at.CopyFrom(timestamp(key.revoked_at))
    return pb


def client_created(client: Client) -> events_pb2.ClientCreated:
    return events_pb2.ClientCreated(
        client_id=client.client_id,
        display_name=client.display_name,
        created_at=timestamp(client.created_at),
    )


def api_key_created(key: ApiKeyRecord) -> events_pb2.ApiKeyCreated:
    return events_pb2.ApiKeyCreated(
        key_id=key.key_id,
        client_id=key.client_id,
        secret_sha256=key.secret_sha256,
        created_at=timestamp(key.created_at),
    )


def api_key_revoked(key: ApiKeyRecord) -> events_pb2.ApiKeyRevoked:
    assert key.revoked_at is not None
    return events_pb2.ApiKeyRevoked(
        key_id=key.key_id, client_id=key.client_id, revoked_at=timestamp(key.revoked_at)
    )


# --- projects --------------------------------------------------------------------------


def _requirement_spec(pb: project_pb2.Requirement) -> RequirementSpec:
    return RequirementSpec(
        pb.qualification,
        COMPARATORS.get(pb.comparator),
        tuple(pb.scores),
        tuple(pb.strings),
        pb.project_id,
    )


def _pay_terms(pb: project_pb2.PayTerms, *, field: str) -> PayTerms:
    """Request pay terms, validated (version and effective_at are output only)."""
    match pb.WhichOneof("basis"):
        case "per_submission":
            reward = pb.per_submission.reward
            rate = Money.positive(
                currency=reward.currency_code,
                amount_minor=reward.amount_minor,
                field=f"{field}.per_submission.reward",
            )
            return pay_terms(basis=Basis.PER_SUBMISSION, rate=rate, max_paid_seconds=0, field=field)
        case "hourly":
            hourly = pb.hourly
            rate = Money.positive(
                currency=hourly.rate.currency_code,
                amount_minor=hourly.rate.amount_minor,
                field=f"{field}.hourly.rate",
            )
            return pay_terms(
                basis=Basis.HOURLY,
                rate=rate,
                max_paid_seconds=hourly.max_paid_seconds,
                field=field,
            )
    return pay_terms(basis=None, rate=None, max_paid_seconds=0, field=field)


def create_project_command(
    req: task_service_pb2.CreateProjectRequest, *, client_id: str, min_seconds: int
) -> CreateProject:
    """The request, validated (all but requirements' types) into a command for the caller."""
    fields = ProjectFields(
        title=req.title,
        instructions=req.instructions,
        requirements=tuple(_requirement_spec(r) for r in req.requirements),
        pay_terms=_pay_terms(req.pay_terms, field="pay_terms"),
        assignments_per_task=req.assignments_per_task,
        claim_timeout_seconds=req.claim_timeout_seconds,
        task_lifetime_seconds=req.task_lifetime_seconds,
        auto_accept_delay_seconds=req.auto_accept_delay_seconds,
        priority=req.priority,
        max_claims_per_contractor=req.max_claims_per_contractor,
        # Unset: no spec. Unchecked here; check_fields names its errors answer_spec.*.
        answer_spec=answer_spec_from_pb(req.answer_spec) if req.HasField("answer_spec") else None,
    )
    return create_project(
        request_id=req.request_id, client_id=client_id, fields=fields, min_seconds=min_seconds
    )


def update_project_command(
    req: task_service_pb2.UpdateProjectRequest, *, client_id: str, min_seconds: int
) -> UpdateProject:
    """Only the fields the update mask names are read (and validated)."""
    paths = update_paths(list(req.update_mask.paths))
    p = req.project
    messages = ("requirements", "pay_terms", "answer_spec")
    given: dict[str, Any] = {name: getattr(p, name) for name in paths if name not in messages}
    if "requirements" in paths:
        given["requirements"] = tuple(_requirement_spec(r) for r in p.requirements)
    if "pay_terms" in paths:
        given["pay_terms"] = _pay_terms(p.pay_terms, field="project.pay_terms")
    if "answer_spec" in paths:
        # Unset or without fields: the spec is removed (a new version with none).
        given["answer_spec"] = answer_spec_from_pb(p.answer_spec)
    return update_project(
        project_id=p.project_id,
        client_id=client_id,
        changes=ProjectFields(**given),
        expected_revision=req.expected_revision,
        min_seconds=min_seconds,
    )


def project_to_pb(project: Project) -> project_pb2.Project:
    pb = project_pb2.Project(
        project_id=project.project_id,
        client_id=project.client_id,
        title=project.title,
        instructions=project.instructions,
        requirements=[requirement_to_pb(r) for r in project.requirements],
        pay_terms=pay_terms_to_pb(project.pay_terms),
        assignments_per_task=project.assignments_per_task,
        claim_timeout_seconds=project.claim_timeout_seconds,
        task_lifetime_seconds=project.task_lifetime_seconds,
        auto_accept_delay_seconds=project.auto_accept_delay_seconds,
        priority=project.priority,
        max_claims_per_contractor=project.max_claims_per_contractor,
        revision=project.revision,
        created_at=timestamp(project.created_at),
        updated_at=timestamp(project.updated_at),
        state=_PROJECT_STATE[project.state],
    )
    # Unset only for a project that never had a spec. A removed one is set, at its
    # version with no fields, so a reader (the matcher, keeping the spec a claim is
    # granted under) sees the removal as the next version, as any other change.
    if project.answer_spec.version:
        pb.answer_spec.CopyFrom(answer_spec_to_pb(project.answer_spec))
    return pb


def project_changed(project: Project) -> events_pb2.ProjectChanged:
    return events_pb2.ProjectChanged(project=project_to_pb(project))
