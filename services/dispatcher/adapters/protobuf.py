"""Dispatcher domain <-> protobuf (API messages and events)."""

from __future__ import annotations

from datetime import datetime

from crewline.auth.store import ApiKeyRecord
from crewline.protobuf import money_to_pb, timestamp
from crewline.v1 import client_admin_service_pb2 as admin_api
from crewline.v1 import events_pb2, task_service_pb2
from dispatcher.domain.clients import Client
from dispatcher.domain.model import (
    Submission,
    SubmissionStatus,
    SubmitTask,
    Task,
    TaskStatus,
    submit_task,
)

_TASK_STATUS = {
    TaskStatus.OPEN: task_service_pb2.TASK_STATUS_OPEN,
    TaskStatus.COMPLETED: task_service_pb2.TASK_STATUS_COMPLETED,
}
_SUBMISSION_STATUS = {
    SubmissionStatus.PENDING_REVIEW: task_service_pb2.SUBMISSION_STATUS_PENDING_REVIEW,
    SubmissionStatus.ACCEPTED: task_service_pb2.SUBMISSION_STATUS_ACCEPTED,
}


def task_to_pb(task: Task) -> task_service_pb2.Task:
    return task_service_pb2.Task(
        task_id=str(task.task_id),
        client_id=task.client_id,
        project_id=task.project_id,
        status=_TASK_STATUS[task.status],
        slots=task.slots,
        reward=money_to_pb(task.reward),
        instructions=task.instructions,
        claimed_count=task.claimed_count,
        submitted_count=task.submitted_count,
        accepted_count=task.accepted_count,
        created_at=timestamp(task.created_at),
    )


def submission_to_pb(sub: Submission) -> task_service_pb2.Submission:
    return task_service_pb2.Submission(
        submission_id=str(sub.submission_id),
        contractor_id=sub.contractor_id,
        status=_SUBMISSION_STATUS[sub.status],
        submitted_at=timestamp(sub.submitted_at),
    )


def submit_task_command(req: task_service_pb2.SubmitTaskRequest, *, client_id: str) -> SubmitTask:
    """The request, validated into a command for the calling client; a bad field raises
    ``InvalidArgument``."""
    return submit_task(
        request_id=req.request_id,
        client_id=client_id,
        project_id=req.project_id,
        slots=req.slots,
        currency=req.reward.currency_code,
        amount_minor=req.reward.amount_minor,
        instructions=req.instructions,
    )


def task_published(task: Task) -> events_pb2.TaskPublished:
    return events_pb2.TaskPublished(
        task_id=str(task.task_id),
        client_id=task.client_id,
        project_id=task.project_id,
        slots=task.slots,
        reward=money_to_pb(task.reward),
        instructions=task.instructions,
        published_at=timestamp(task.created_at),
    )


def submission_accepted(
    sub: Submission, task: Task, *, at: datetime, by: events_pb2.AcceptedBy.ValueType
) -> events_pb2.SubmissionAccepted:
    return events_pb2.SubmissionAccepted(
        submission_id=str(sub.submission_id),
        task_id=str(sub.task_id),
        contractor_id=sub.contractor_id,
        client_id=task.client_id,
        reward=money_to_pb(sub.reward),
        accepted_by=by,
        accepted_at=timestamp(at),
    )


def client_to_pb(client: Client) -> admin_api.Client:
    return admin_api.Client(
        client_id=client.client_id,
        display_name=client.display_name,
        created_at=timestamp(client.created_at),
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
