"""What ``crewctl task ...`` and ``crewctl watch`` need from the dispatcher, in plain Python.

A client's calls, made with the client's API key; ``crewline.ctl.task_rpc.GrpcTasks``
is the real one, tests pass a fake. Records are JSON-ready dicts, like
``crewline.ctl.api``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol, TypedDict

from crewline.ctl.config import Addresses


class TaskRecord(TypedDict):
    task_id: str
    client_id: str
    project_id: str
    status: str | None  # open, in_progress, completed, expired or cancelled
    slots: int
    live_claims: int
    claimed_count: int
    submitted_count: int
    accepted_count: int
    priority: int
    idempotency_key: str
    payload_json: str | None
    payload_base64: str | None  # a binary payload, base64
    created_at: str | None
    updated_at: str | None
    expires_at: str | None
    cancelled_at: str | None


class SubmissionRecord(TypedDict):
    submission_id: str
    contractor_id: str
    status: str | None  # pending_review or accepted
    submitted_at: str | None


class TaskDetails(TypedDict):
    task: TaskRecord
    submissions: list[SubmissionRecord]


class TaskPage(TypedDict):
    tasks: list[TaskRecord]
    next_page_token: str  # empty on the last page


class NewSlots(TypedDict):
    # The idempotency key: the same request id never adds the slots twice.
    request_id: str
    task: TaskRecord


class WatchEventRecord(TypedDict):
    cursor: str  # pass it to `crewctl watch --from` to resume right after this event
    at: str | None
    task_id: str
    project_id: str
    type: str  # task_changed, claim_granted, claim_extended, claim_ended, ...
    event: dict[str, Any]  # the event's own fields (a task record for task_changed)


class TaskSpecRecord(TypedDict):
    """A task to submit: its idempotency key and its payload, JSON text."""

    idempotency_key: str
    payload_json: str


class Tasks(Protocol):
    """A client's task calls and its event stream. Each raises ``RpcFailed`` when refused."""

    def get_task(self, task_id: str) -> TaskDetails: ...

    def submit_tasks(self, project_id: str, specs: list[TaskSpecRecord]) -> list[TaskRecord]:
        """Submit 1-1,000 tasks, all or nothing; the tasks in order. A key already used
        returns the task it made."""
        ...

    def list_tasks(
        self, project_id: str, status: str | None, page_size: int, page_token: str
    ) -> TaskPage: ...

    def cancel_task(self, task_id: str, reason: str) -> TaskRecord: ...

    def add_slots(self, request_id: str, task_id: str, slots: int) -> TaskRecord: ...

    def update_task_lifetime(self, task_id: str, expires_at: datetime) -> TaskRecord: ...

    def watch(self, cursor: str, project_id: str) -> Iterator[list[WatchEventRecord]]:
        """Batches of events after ``cursor`` (empty: from now), live; an empty batch is a
        keepalive. Ends (or raises ``RpcFailed``) when the connection does."""
        ...


# Builds a Tasks for the resolved addresses and the client's API key.
TasksFactory = Callable[[Addresses, str], Tasks]
