"""The dispatcher's rules: what a valid task is, and how it moves through its life.

Pure: no I/O, no protobuf.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from crewline import validate
from crewline.errors import InvalidArgument
from crewline.money import Money

MAX_SLOTS = 1000
MAX_INSTRUCTIONS = 20_000


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"


class SubmissionStatus(enum.StrEnum):
    PENDING_REVIEW = "pending_review"
    ACCEPTED = "accepted"


@dataclass(frozen=True, kw_only=True)
class SubmitTask:
    """Command: publish a task. ``request_id`` makes it idempotent, forever."""

    request_id: str
    client_id: str
    project_id: str
    slots: int
    reward: Money
    instructions: str

    def fingerprint(self) -> str:
        """What must match when a request id is used again."""
        canonical = "\x1f".join(
            [
                self.client_id,
                self.project_id,
                str(self.slots),
                self.reward.currency,
                str(self.reward.amount_minor),
                self.instructions,
            ]
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def submit_task(
    *,
    request_id: str,
    client_id: str,
    project_id: str,
    slots: int,
    currency: str,
    amount_minor: int,
    instructions: str,
) -> SubmitTask:
    """Validate raw request fields into a command; the first bad field is named."""
    return SubmitTask(
        request_id=validate.identifier(request_id, field="request_id"),
        client_id=validate.identifier(client_id, field="client_id"),
        project_id=validate.identifier(project_id, field="project_id"),
        slots=validate.int_range(slots, field="slots", low=1, high=MAX_SLOTS),
        reward=Money.positive(currency=currency, amount_minor=amount_minor, field="reward"),
        instructions=validate.text(instructions, field="instructions", max_length=MAX_INSTRUCTIONS),
    )


@dataclass(frozen=True, kw_only=True)
class Task:
    task_id: uuid.UUID
    client_id: str
    project_id: str
    status: TaskStatus
    slots: int
    reward: Money
    instructions: str
    claimed_count: int
    submitted_count: int
    accepted_count: int
    created_at: datetime

    @classmethod
    def publish(cls, cmd: SubmitTask, *, task_id: uuid.UUID, now: datetime) -> Task:
        return cls(
            task_id=task_id,
            client_id=cmd.client_id,
            project_id=cmd.project_id,
            status=TaskStatus.OPEN,
            slots=cmd.slots,
            reward=cmd.reward,
            instructions=cmd.instructions,
            claimed_count=0,
            submitted_count=0,
            accepted_count=0,
            created_at=now,
        )

    def accept_one(self) -> Task:
        """One more submission accepted; the task completes when every slot has one."""
        accepted = self.accepted_count + 1
        if accepted > self.slots:
            raise ValueError(f"task {self.task_id} would have more accepted work than slots")
        status = TaskStatus.COMPLETED if accepted == self.slots else self.status
        return replace(self, accepted_count=accepted, status=status)


def check_same_request(existing_fingerprint: str, cmd: SubmitTask) -> None:
    """A request id reused for a different request is the caller's mistake."""
    if existing_fingerprint != cmd.fingerprint():
        raise InvalidArgument("request_id", "was already used for a different request")


@dataclass(frozen=True, kw_only=True)
class Submission:
    submission_id: uuid.UUID
    task_id: uuid.UUID
    contractor_id: str
    status: SubmissionStatus
    reward: Money
    submitted_at: datetime
