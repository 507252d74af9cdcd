"""A client's tasks, as ``Client.submit_task``, ``get_task``, ``tasks`` and the rest return them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crewline.client.results.enums import TaskStatus
from crewline.client.results.submissions import Submission
from crewline.client.results.wire import Payload, brief, payload_of, time_of, when
from crewline.v1 import task_service_pb2 as task_api


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One piece of work with ``slots`` assignments.

    ``task_id``, ``project_id``, ``client_id``; ``idempotency_key`` (the client's own
    key for it); ``payload``: the work as the client gave it (JSON text as str, opaque
    bytes as bytes); ``status`` (OPEN, IN_PROGRESS, COMPLETED, EXPIRED, CANCELLED);
    counts: ``slots``, ``claimed_count``, ``submitted_count``, ``accepted_count``,
    ``live_claims`` (granted, not yet submitted or ended); ``priority`` (0-100);
    ``created_at``, ``updated_at``, ``expires_at`` (no new claims after it),
    ``cancelled_at``; ``reserved_for``: on a gold task the quality service issued
    (``Client.add_gold_tasks``), the one contractor offered it, else empty.
    """

    task_id: str
    project_id: str
    client_id: str
    idempotency_key: str
    payload: Payload
    status: TaskStatus | None
    slots: int
    claimed_count: int
    submitted_count: int
    accepted_count: int
    live_claims: int
    priority: int
    created_at: datetime | None
    updated_at: datetime | None
    expires_at: datetime | None
    cancelled_at: datetime | None
    reserved_for: str = ""
    raw: task_api.Task = field(default_factory=task_api.Task, repr=False, compare=False)

    @classmethod
    def from_pb(cls, message: task_api.Task) -> Task:
        return cls(
            task_id=message.task_id,
            project_id=message.project_id,
            client_id=message.client_id,
            idempotency_key=message.idempotency_key,
            payload=payload_of(message),
            status=TaskStatus.from_pb(message.status),
            slots=message.slots,
            claimed_count=message.claimed_count,
            submitted_count=message.submitted_count,
            accepted_count=message.accepted_count,
            live_claims=message.live_claims,
            priority=message.priority,
            created_at=time_of(message, "created_at"),
            updated_at=time_of(message, "updated_at"),
            expires_at=time_of(message, "expires_at"),
            cancelled_at=time_of(message, "cancelled_at"),
            reserved_for=message.reserved_for,
            raw=message,
        )

    def __str__(self) -> str:
        reserved = f", reserved for {self.reserved_for}" if self.reserved_for else ""
        return (
            f"task {self.task_id} in {self.project_id}: {self.status or 'UNKNOWN'},"
            f" {self.slots} slots ({self.claimed_count} claimed, {self.submitted_count}"
            f" submitted, {self.accepted_count} accepted){reserved}, expires"
            f" {when(self.expires_at)}"
        )

    def __repr__(self) -> str:
        return brief(self, "task_id", "project_id", "status", "slots", "accepted_count")


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskDetails:
    """``task``, its counts, and its ``submissions``."""

    task: Task
    submissions: tuple[Submission, ...]
    raw: task_api.GetTaskResponse = field(
        default_factory=task_api.GetTaskResponse, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: task_api.GetTaskResponse) -> TaskDetails:
        return cls(
            task=Task.from_pb(message.task),
            submissions=tuple(map(Submission.from_pb, message.submissions)),
            raw=message,
        )

    def __str__(self) -> str:
        return f"{self.task}; {len(self.submissions)} submissions"

    def __repr__(self) -> str:
        return f"TaskDetails({self.task!r}, submissions=<{len(self.submissions)}>)"
