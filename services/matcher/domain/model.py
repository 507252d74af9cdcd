"""The matcher's rules for claims. Pure: no I/O, no protobuf.

The pool's invariant (never more live claims than slots) and "one slot per
contractor per task" are enforced atomically in the database; the rules here
are the validations and the claim's state machine.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from crewline import paging, validate
from crewline.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from crewline.money import Money
from crewline.pay_terms import PayTerms, worked_seconds
from crewline.qualifications import Requirement

# Well inside Kafka's 1 MiB record limit once wrapped in WorkSubmitted and its envelope.
MAX_RESULT_BYTES = 512 * 1024
# Each offer carries up to 20,000 characters of instructions: 100 of them stay
# well inside gRPC's default 4 MB message limit.
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
# StreamOffers sends at most this many offers at connect (each is its own message).
MAX_SNAPSHOT = 1000
DEFAULT_SNAPSHOT = 200

# ClaimTask refusals: the claim_task() SQL function's outcome -> what the caller gets.
# The reason travels as google.rpc.ErrorInfo, so an app acts on it without parsing text.
_REFUSALS: dict[str, tuple[type[DomainError], str]] = {
    "NOT_FOUND": (NotFound, "task not found, or no longer open"),
    "NOT_QUALIFIED": (PermissionDenied, "you do not meet this project's requirements"),
    "BLOCKED": (PermissionDenied, "you are blocked from this project"),
    "ALREADY_CLAIMED": (AlreadyExists, "you already hold a claim on this task"),
    "AT_CLAIM_LIMIT": (
        FailedPrecondition,
        "you are at your claim limit (claims held at once, or claims in this project)",
    ),
    "NO_FREE_SLOT": (FailedPrecondition, "the task has no free slot"),
}


def refusal(outcome: str, task_id: uuid.UUID) -> DomainError:
    """The error for a refused claim; NOT_FOUND keeps the default reason like every lookup."""
    cls, message = _REFUSALS[outcome]
    reason = None if outcome == "NOT_FOUND" else outcome
    return cls(f"task {task_id}: {message}", reason=reason)


class WithdrawalReason(enum.StrEnum):
    """Why an offer stream takes a task back."""

    FILLED = "filled"  # every slot is taken
    CLAIMED_BY_YOU = "claimed_by_you"
    NOT_ELIGIBLE = "not_eligible"  # a lost qualification, a block, a new requirement
    CLOSED = "closed"  # cancelled, expired, project paused or closed


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
class OfferCursor:
    """Where a page of offers ended: offers are ordered by priority (highest first),
    then age (oldest first), then task id."""

    priority: int
    published_at: datetime
    task_id: uuid.UUID

    def token(self) -> str:
        return paging.encode_token(
            str(self.priority), self.published_at.isoformat(), str(self.task_id)
        )

    @classmethod
    def from_token(cls, token: str) -> OfferCursor:
        priority, at, task_id = paging.decode_token(token, parts=3)
        try:
            return cls(int(priority), paging.token_time(at), uuid.UUID(task_id))
        except ValueError:
            raise paging.not_ours() from None


@dataclass(frozen=True, kw_only=True)
class ListOffers:
    contractor_id: str
    page_size: int
    after: OfferCursor | None = None
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


def list_offers(
    *, contractor_id: str, page_size: int, page_token: str = "", project_id: str = ""
) -> ListOffers:
    return ListOffers(
        contractor_id=validate.identifier(contractor_id, field="contractor_id"),
        page_size=paging.page_size(page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE),
        after=OfferCursor.from_token(page_token) if page_token else None,
        project_id=str(validate.uuid_id(project_id, field="project_id")) if project_id else None,
    )


def stream_offers(*, max_offers: int, project_id: str) -> tuple[int, str | None]:
    """The snapshot bound and the project filter of a StreamOffers request."""
    bound = max_offers or DEFAULT_SNAPSHOT
    return (
        validate.int_range(bound, field="max_offers", low=1, high=MAX_SNAPSHOT),
        str(validate.uuid_id(project_id, field="project_id")) if project_id else None,
    )


@dataclass(frozen=True, kw_only=True)
class Offer:
    """A task the contractor may claim now, with what a claim granted now would pay."""

    task_id: uuid.UUID
    project_id: str
    title: str
    instructions: str
    terms: PayTerms
    free_slots: int
    priority: int
    published_at: datetime
    expires_at: datetime | None

    @property
    def cursor(self) -> OfferCursor:
        return OfferCursor(self.priority, self.published_at, self.task_id)


@dataclass(frozen=True, kw_only=True)
class Payload:
    """The work, as the client gave it: JSON text or bytes."""

    json: str | None = None
    data: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class ProjectTerms:
    """What the matcher keeps of a project (from ProjectChanged): who, how much, in what order."""

    project_id: str
    client_id: str
    revision: int
    title: str
    instructions: str
    requirements: tuple[Requirement, ...]
    priority: int
    max_claims_per_contractor: int
    terms: PayTerms
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class Claim:
    claim_id: uuid.UUID
    task_id: uuid.UUID
    contractor_id: str
    request_id: str
    project_id: str
    status: ClaimStatus
    terms: PayTerms  # frozen when granted
    version: int
    granted_at: datetime
    submitted_at: datetime | None = None

    @property
    def earned(self) -> Money:
        """What the submitted work earns once accepted, under the frozen terms."""
        assert self.submitted_at is not None, "only submitted work earns"
        return self.terms.earned(worked_seconds(self.granted_at, self.submitted_at))

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
