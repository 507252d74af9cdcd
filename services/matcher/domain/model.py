"""The matcher's rules for claims. Pure: no I/O, no protobuf.

The pool's invariant (never more live claims than slots) and "one slot per
contractor per task" are enforced atomically in the database; the rules here
are the validations and the claim's state machine.
"""

from __future__ import annotations

import base64
import enum
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from crewline import validate
from crewline.errors import FailedPrecondition, InvalidArgument
from crewline.money import Money

# Well inside Kafka's 1 MiB record limit once wrapped in WorkSubmitted and its envelope.
MAX_RESULT_BYTES = 512 * 1024
# Each open task carries up to 20,000 characters of instructions: 100 of them stay
# well inside gRPC's default 4 MB message limit.
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


class ClaimStatus(enum.StrEnum):
    ACTIVE = "active"
    SUBMITTED = "submitted"


@dataclass(frozen=True, kw_only=True)
class ClaimTask:
    request_id: str
    contractor_id: str
    task_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class SubmitWork:
    claim_id: uuid.UUID
    contractor_id: str
    result: bytes


@dataclass(frozen=True)
class PageCursor:
    """Where a page of open tasks ended: pages are ordered by (published_at, task_id)."""

    published_at: datetime
    task_id: uuid.UUID

    def token(self) -> str:
        raw = f"{self.published_at.isoformat()}|{self.task_id}"
        return base64.urlsafe_b64encode(raw.encode()).decode()

    @classmethod
    def from_token(cls, token: str) -> PageCursor:
        try:
            at, task_id = base64.urlsafe_b64decode(token.encode()).decode().split("|")
            cursor = cls(datetime.fromisoformat(at), uuid.UUID(task_id))
        except ValueError:
            raise InvalidArgument("page_token", "is not a token this service issued") from None
        if cursor.published_at.tzinfo is None:
            raise InvalidArgument("page_token", "is not a token this service issued")
        return cursor


@dataclass(frozen=True, kw_only=True)
class ListOpenTasks:
    contractor_id: str
    page_size: int
    after: PageCursor | None = None
    project_id: str | None = None


def claim_task(*, request_id: str, contractor_id: str, task_id: str) -> ClaimTask:
    return ClaimTask(
        request_id=validate.identifier(request_id, field="request_id"),
        contractor_id=validate.identifier(contractor_id, field="contractor_id"),
        task_id=validate.uuid_id(task_id, field="task_id"),
    )


def submit_work(*, claim_id: str, contractor_id: str, result: bytes) -> SubmitWork:
    if len(result) > MAX_RESULT_BYTES:
        raise InvalidArgument("result", f"must be at most {MAX_RESULT_BYTES} bytes")
    return SubmitWork(
        claim_id=validate.uuid_id(claim_id, field="claim_id"),
        contractor_id=validate.identifier(contractor_id, field="contractor_id"),
        result=result,
    )


def list_open_tasks(
    *, contractor_id: str, page_size: int, page_token: str = "", project_id: str = ""
) -> ListOpenTasks:
    size = page_size or DEFAULT_PAGE_SIZE
    return ListOpenTasks(
        contractor_id=validate.identifier(contractor_id, field="contractor_id"),
        page_size=validate.int_range(size, field="page_size", low=1, high=MAX_PAGE_SIZE),
        after=PageCursor.from_token(page_token) if page_token else None,
        project_id=validate.identifier(project_id, field="project_id") if project_id else None,
    )


@dataclass(frozen=True, kw_only=True)
class OpenTask:
    task_id: uuid.UUID
    project_id: str
    free_slots: int
    reward: Money
    instructions: str
    published_at: datetime

    @property
    def cursor(self) -> PageCursor:
        return PageCursor(self.published_at, self.task_id)


@dataclass(frozen=True, kw_only=True)
class Claim:
    claim_id: uuid.UUID
    task_id: uuid.UUID
    contractor_id: str
    request_id: str
    status: ClaimStatus
    reward: Money  # frozen when granted
    version: int
    granted_at: datetime
    submitted_at: datetime | None = None

    def answers(self, cmd: ClaimTask) -> Claim:
        """This claim, when ``cmd`` repeats the request that made it."""
        if cmd.task_id != self.task_id:
            raise InvalidArgument("request_id", "was already used for a different request")
        return self

    def submit(self, *, now: datetime) -> Claim:
        """Hand in work. Repeating it is a no-op; any other state refuses."""
        if self.status is ClaimStatus.SUBMITTED:
            return self
        if self.status is not ClaimStatus.ACTIVE:
            raise FailedPrecondition(f"claim {self.claim_id} is {self.status}, not active")
        return replace(
            self, status=ClaimStatus.SUBMITTED, submitted_at=now, version=self.version + 1
        )
