"""Task lifecycle and Watch <-> protobuf: client commands, TaskChanged and
LeaseElapsed, and the events a client's Watch stream carries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from google.protobuf.message import Message

from crewline.protobuf import request_time, timestamp
from crewline.v1 import events_pb2, task_service_pb2
from dispatcher.adapters.protobuf import task_to_pb
from dispatcher.adapters.watch_log import Entry
from dispatcher.domain import lifecycle
from dispatcher.domain.leases import Lease
from dispatcher.domain.tasks import Lifecycle, Task

_LIFECYCLE = {
    Lifecycle.LIVE: events_pb2.TASK_LIFECYCLE_LIVE,
    Lifecycle.CANCELLED: events_pb2.TASK_LIFECYCLE_CANCELLED,
    Lifecycle.EXPIRED: events_pb2.TASK_LIFECYCLE_EXPIRED,
}


def cancel_task_command(
    req: task_service_pb2.CancelTaskRequest, *, client_id: str
) -> lifecycle.CancelTask:
    return lifecycle.cancel_task(client_id=client_id, task_id=req.task_id, reason=req.reason)


def add_slots_command(
    req: task_service_pb2.AddSlotsRequest, *, client_id: str
) -> lifecycle.AddSlots:
    return lifecycle.add_slots(
        client_id=client_id, request_id=req.request_id, task_id=req.task_id, slots=req.slots
    )


def update_task_lifetime_command(
    req: task_service_pb2.UpdateTaskLifetimeRequest, *, client_id: str
) -> lifecycle.UpdateTaskLifetime:
    return lifecycle.update_task_lifetime(
        client_id=client_id, task_id=req.task_id, expires_at=request_time(req, "expires_at")
    )


def watch_query(req: task_service_pb2.WatchRequest, *, client_id: str) -> lifecycle.Watch:
    return lifecycle.watch(client_id=client_id, cursor=req.cursor, project_id=req.project_id)


# --- events ------------------------------------------------------------------------------


def task_changed(task: Task) -> events_pb2.TaskChanged:
    return events_pb2.TaskChanged(
        task_id=str(task.task_id),
        client_id=task.client_id,
        project_id=task.project_id,
        lifecycle=_LIFECYCLE[task.lifecycle],
        slots=task.slots,
        expires_at=timestamp(task.expires_at),
        revision=task.revision,
        changed_at=timestamp(task.updated_at),
    )


def lease_elapsed(lease: Lease, deadline_at: datetime) -> events_pb2.LeaseElapsed:
    return events_pb2.LeaseElapsed(
        claim_id=str(lease.claim_id), task_id=str(lease.task_id), deadline_at=timestamp(deadline_at)
    )


# --- Watch -------------------------------------------------------------------------------


def watch_task(task: Task, *, at: datetime) -> Entry:
    """A snapshot of the task for its client's Watch log (without the payload, which
    the client has and which would make every snapshot as large as the task)."""
    snapshot = task_to_pb(task)
    snapshot.ClearField("payload")
    event = task_service_pb2.WatchEvent(at=timestamp(at), task_changed=snapshot)
    return _entry(task.client_id, task.project_id, task.task_id, event)


# The WatchEvent fields that carry a claim's or a submission's event.
ClaimEvent = Literal[
    "claim_granted",
    "claim_extended",
    "claim_ended",
    "work_submitted",
    "submission_accepted",
    "claim_settled",
    "submission_rejected",
    "bonus_granted",
]


def watch_claim(
    name: ClaimEvent,
    message: Message,
    *,
    client_id: str,
    project_id: str,
    task_id: uuid.UUID,
    at: datetime,
) -> Entry:
    """A claim or submission event for the task's client's Watch log."""
    event = task_service_pb2.WatchEvent(at=timestamp(at))
    getattr(event, name).CopyFrom(message)  # a message of another type is refused here
    return _entry(client_id, project_id, task_id, event)


# The WatchEvent fields that carry quality control in a project (no task).
ProjectEvent = Literal["sanction_changed", "appeal_changed", "dispute_changed"]


def watch_project(
    name: ProjectEvent, message: Message, *, client_id: str, project_id: str, at: datetime
) -> Entry:
    """A sanction's, an appeal's or a dispute's change for the project's client's Watch
    log: with the project, and task_id empty."""
    event = task_service_pb2.WatchEvent(at=timestamp(at), project_id=project_id)
    getattr(event, name).CopyFrom(message)  # a message of another type is refused here
    return Entry(client_id=client_id, project_id=project_id, task_id=None, event=event)


def _entry(
    client_id: str, project_id: str, task_id: uuid.UUID, event: task_service_pb2.WatchEvent
) -> Entry:
    event.task_id = str(task_id)
    event.project_id = project_id
    return Entry(client_id=client_id, project_id=project_id, task_id=task_id, event=event)


def watch_event(seq: int, body: bytes) -> task_service_pb2.WatchEvent:
    """A logged event as the stream sends it, with its cursor."""
    event = task_service_pb2.WatchEvent.FromString(body)
    event.cursor = lifecycle.watch_cursor(seq)
    return event
