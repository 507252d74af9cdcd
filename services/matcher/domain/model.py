"""The matcher's rules for claims. Pure: no I/O, no protobuf.

The pool's invariant (never more live claims than slots) and "one slot per
contractor per task" are enforced atomically in the database; the rules here
are the validations and the claim's state machine.
"""

from __future__ import annotations

import enum
import itertools
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

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
from crewline.pay_terms import Basis, PayTerms
from crewline.qualifications import Requirement

# Well inside Kafka's 1 MiB record limit once wrapped in WorkSubmitted and its envelope.
MAX_RESULT_BYTES = 512 * 1024
# Tracked segments per submission: each travels in WorkSubmitted (about 30 bytes).
MAX_SEGMENTS = 1000
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
    "NOT_FOUND": (NotFound, "task not found"),
    "TASK_CLOSED": (
        FailedPrecondition,
        "the task takes no claims (cancelled, expired, or its project paused or closed)",
    ),
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
    ACTIVE = "active"  # live: the contractor holds the slot
    SUBMITTED = "submitted"  # work handed in
    ENDED = "ended"  # ended without work: end_reason says why


class EndReason(enum.StrEnum):
    """Why a claim is no longer live; also why the client cut it short (``Claim.cut``).
    The upper-case name is the machine-readable reason a refused heartbeat carries."""

    SUBMITTED = "submitted"
    RELEASED = "released"
    EXPIRED = "expired"
    TASK_CANCELLED = "task_cancelled"
    TASK_EXPIRED = "task_expired"
    PROJECT_PAUSED = "project_paused"
    PROJECT_CLOSED = "project_closed"


class ReviewState(enum.StrEnum):
    """A submitted claim's review, as the dispatcher's SubmissionAccepted/Rejected say."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class WorkSegment:
    """A stretch of time worked on a claim: ``ended_at`` after ``started_at``."""

    started_at: datetime
    ended_at: datetime

    @property
    def duration(self) -> timedelta:
        return self.ended_at - self.started_at


class TaskLifecycle(enum.StrEnum):
    """A task as the pool sees it (the dispatcher's TaskChanged)."""

    LIVE = "live"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class ProjectState(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


# A pause or close cuts the project's live claims short with this reason.
CUT_BY_PROJECT = {
    ProjectState.PAUSED: EndReason.PROJECT_PAUSED,
    ProjectState.CLOSED: EndReason.PROJECT_CLOSED,
}

# Heartbeats extend a lease by the claim timeout, up to this many timeouts in all (on
# hourly terms, at least the paid maximum plus one timeout).
MAX_LEASE_TIMEOUTS = 4


def lease(
    *, granted_at: datetime, claim_timeout_seconds: int, terms: PayTerms
) -> tuple[datetime, datetime]:
    """A claim's first deadline and the latest any heartbeat may move it to."""
    total = MAX_LEASE_TIMEOUTS * claim_timeout_seconds
    if terms.basis is Basis.HOURLY:
        total = max(total, terms.max_paid_seconds + claim_timeout_seconds)
    return (
        granted_at + timedelta(seconds=claim_timeout_seconds),
        granted_at + timedelta(seconds=total),
    )


@dataclass(frozen=True, kw_only=True)
class TaskState:
    """What decides whether a freed slot is offered again, and why a lapsed claim ended."""

    task_id: uuid.UUID
    lifecycle: TaskLifecycle
    expires_at: datetime | None
    project_state: ProjectState | None  # None: the project is not known here

    def over(self, now: datetime) -> bool:
        """The task's lifetime is over (it may be extended: not necessarily for good)."""
        return self.lifecycle is TaskLifecycle.EXPIRED or (
            self.expires_at is not None and self.expires_at <= now
        )

    def claimable(self, now: datetime) -> bool:
        return (
            self.lifecycle is TaskLifecycle.LIVE
            and not self.over(now)
            and self.project_state is ProjectState.ACTIVE
        )


@dataclass(frozen=True, kw_only=True)
class ClaimTask:
    request_id: str
    contractor_id: str
    task_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class SubmitWork:
    """Work handed in, with the time worked: tracked ``segments`` (in the order given,
    well-formed and not overlapping), or ``worked_seconds``, or neither (None and no
    segments: the last heartbeat's report counts)."""

    claim_id: uuid.UUID
    contractor_id: str
    result: bytes
    segments: tuple[WorkSegment, ...] = ()
    worked_seconds: int | None = None


@dataclass(frozen=True, kw_only=True)
class HeartbeatClaim:
    claim_id: uuid.UUID
    contractor_id: str
    worked_seconds: int


@dataclass(frozen=True, kw_only=True)
class ClaimRef:
    """A contractor's own claim (GetClaim, ReleaseClaim)."""

    claim_id: uuid.UUID
    contractor_id: str


@dataclass(frozen=True, kw_only=True)
class ListClaims:
    """ListMyClaims: newest first, after the cursor (granted_at, claim_id)."""

    contractor_id: str
    page_size: int
    after: tuple[datetime, uuid.UUID] | None = None
    status: ClaimStatus | None = None
    task_id: uuid.UUID | None = None
    project_id: str | None = None


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
        return cls(
            paging.token_uint(priority, maximum=paging.MAX_INTEGER),
            paging.token_time(at),
            uuid.UUID(paging.token_uuid(task_id)),
        )


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


def submit_work(
    *,
    claim_id: str,
    contractor_id: str,
    result: bytes,
    segments: Sequence[tuple[datetime | None, datetime | None]] = (),
    worked_seconds: int = 0,
) -> SubmitWork:
    """Validate a submission's own fields; a segment is (started_at, ended_at), None when
    unset. ``worked_seconds`` 0 means not given (the proto field has no presence). Whether
    the time fits the claim's life is the claim's to say (``Claim.submit``)."""
    if len(result) > MAX_RESULT_BYTES:
        raise InvalidArgument("result", f"must be at most {MAX_RESULT_BYTES} bytes")
    if worked_seconds < 0:
        raise InvalidArgument("worked_seconds", "must be 0 or more")
    if segments and worked_seconds:
        raise InvalidArgument("worked_seconds", "give segments or worked_seconds, not both")
    return SubmitWork(
        claim_id=validate.uuid_id(claim_id, field="claim_id"),
        contractor_id=validate.identifier(contractor_id, field="contractor_id"),
        result=result,
        segments=work_segments(segments),
        worked_seconds=worked_seconds or None,
    )


def work_segments(
    given: Sequence[tuple[datetime | None, datetime | None]],
) -> tuple[WorkSegment, ...]:
    """Segments that each end after they start and do not overlap (touching is fine);
    errors name the segment and its field, e.g. ``segments[2].ended_at``."""
    if len(given) > MAX_SEGMENTS:
        raise InvalidArgument("segments", f"must be at most {MAX_SEGMENTS}")
    segments: list[WorkSegment] = []
    for i, (started, ended) in enumerate(given):
        if started is None:
            raise InvalidArgument(f"segments[{i}].started_at", "is required")
        if ended is None:
            raise InvalidArgument(f"segments[{i}].ended_at", "is required")
        if ended <= started:
            raise InvalidArgument(f"segments[{i}].ended_at", "must be after its started_at")
        segments.append(WorkSegment(started, ended))
    order = sorted(range(len(segments)), key=lambda i: segments[i].started_at)
    for before, later in itertools.pairwise(order):
        if segments[later].started_at < segments[before].ended_at:
            raise InvalidArgument(f"segments[{later}].started_at", f"overlaps segments[{before}]")
    return tuple(segments)


def tracked_seconds(segments: Sequence[WorkSegment]) -> int:
    """The segments' total, in whole seconds (rounded down)."""
    return sum((s.duration for s in segments), timedelta()) // timedelta(seconds=1)


def heartbeat_claim(*, claim_id: str, contractor_id: str, worked_seconds: int) -> HeartbeatClaim:
    if worked_seconds < 0:
        raise InvalidArgument("worked_seconds", "must be 0 or more")
    return HeartbeatClaim(
        claim_id=validate.uuid_id(claim_id, field="claim_id"),
        contractor_id=validate.identifier(contractor_id, field="contractor_id"),
        worked_seconds=worked_seconds,
    )


def claim_ref(*, claim_id: str, contractor_id: str) -> ClaimRef:
    return ClaimRef(
        claim_id=validate.uuid_id(claim_id, field="claim_id"),
        contractor_id=validate.identifier(contractor_id, field="contractor_id"),
    )


def claim_cursor(granted_at: datetime, claim_id: uuid.UUID) -> str:
    return paging.PageCursor(granted_at, str(claim_id)).token()


def list_claims(
    *,
    contractor_id: str,
    page_size: int,
    page_token: str = "",
    status: ClaimStatus | None = None,
    task_id: str = "",
    project_id: str = "",
) -> ListClaims:
    cursor = paging.cursor_of(page_token)
    return ListClaims(
        contractor_id=validate.identifier(contractor_id, field="contractor_id"),
        page_size=paging.page_size(page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE),
        after=(cursor.at, uuid.UUID(cursor.id)) if cursor else None,
        status=status,
        task_id=validate.uuid_id(task_id, field="task_id") if task_id else None,
        project_id=str(validate.uuid_id(project_id, field="project_id")) if project_id else None,
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
    claim_timeout_seconds: int
    state: ProjectState


@dataclass(frozen=True, kw_only=True)
class Claim:
    """A contractor's hold on one slot of a task, and its lease.

    Every change returns a new Claim with ``version`` + 1; the repository writes it
    only over the version it was made from (compare-and-set), under the row's lock.
    """

    claim_id: uuid.UUID
    task_id: uuid.UUID
    contractor_id: str
    request_id: str
    project_id: str
    client_id: str
    status: ClaimStatus
    terms: PayTerms  # frozen when granted
    version: int
    granted_at: datetime
    lease_seconds: int  # the project's claim timeout when granted: what a heartbeat adds
    deadline_at: datetime
    max_deadline_at: datetime
    worked_seconds: int = 0  # as last reported; once submitted, the time worked
    submitted_at: datetime | None = None
    end_reason: EndReason | None = None
    ended_at: datetime | None = None
    cut: EndReason | None = None  # cut short by the client: the reason it will end with
    segments: tuple[WorkSegment, ...] = ()  # tracked, as submitted
    review: ReviewState | None = None  # set once submitted
    feedback: str = ""  # the client's, with a rejection
    reviewed_at: datetime | None = None

    @property
    def earned(self) -> Money:
        """What the submitted work earns once accepted, under the frozen terms: hourly,
        the rate x min(time worked, the cap), never today's rate."""
        assert self.submitted_at is not None, "only submitted work earns"
        return self.terms.earned(self.worked_seconds)

    @property
    def settlement(self) -> Money | None:
        """What the contractor is owed for a claim the client cut short that ended with no
        work: on hourly terms, the time last reported (capped, rounded up to a minor
        unit); nothing when none was reported, or on per-submission terms."""
        if (
            self.status is not ClaimStatus.ENDED
            or self.cut is None
            or self.terms.basis is not Basis.HOURLY
            or self.worked_seconds <= 0
        ):
            return None
        return self.terms.earned(self.worked_seconds)

    def answers(self, cmd: ClaimTask) -> Claim:
        """This claim, when ``cmd`` repeats the request that made it."""
        if cmd.task_id != self.task_id:
            raise InvalidArgument("request_id", "was already used for a different request")
        return self

    def _refuse_unless_live(self, now: datetime) -> None:
        """A claim that has ended, or whose deadline has passed, takes nothing more."""
        if self.status is not ClaimStatus.ACTIVE:
            assert self.end_reason is not None
            lapsed = self.end_reason is not EndReason.SUBMITTED and not self.released
            raise FailedPrecondition(
                f"claim {self.claim_id} has ended ({self.end_reason})",
                reason="CLAIM_EXPIRED" if lapsed else "CLAIM_ENDED",
            )
        if now >= self.deadline_at:
            raise FailedPrecondition(
                f"claim {self.claim_id}: its lease ran out at {self.deadline_at.isoformat()}",
                reason="CLAIM_EXPIRED",
            )

    def submit(
        self,
        *,
        now: datetime,
        segments: Sequence[WorkSegment] = (),
        worked: int | None = None,
    ) -> Claim:
        """Hand in work before the deadline, with the time worked: the tracked
        ``segments`` (within the claim's life: from its grant to now), or ``worked``
        seconds (at most the time it has been live), or else the last heartbeat's report.
        Repeating it is a no-op (the first submission's time stands)."""
        if self.status is ClaimStatus.SUBMITTED:
            return self
        self._refuse_unless_live(now)
        for i, segment in enumerate(segments):
            if segment.started_at < self.granted_at:
                raise InvalidArgument(
                    f"segments[{i}].started_at",
                    f"must not be before the claim was granted, {self.granted_at.isoformat()}",
                )
            if segment.ended_at > now:
                raise InvalidArgument(
                    f"segments[{i}].ended_at", f"must not be after now, {now.isoformat()}"
                )
        if worked is not None:
            live_for = math.ceil((now - self.granted_at).total_seconds())
            if not 0 <= worked <= live_for:
                raise InvalidArgument(
                    "worked_seconds",
                    f"must be between 0 and the {live_for} s the claim has been live",
                )
        if segments:
            worked = tracked_seconds(segments)
        return replace(
            self,
            status=ClaimStatus.SUBMITTED,
            submitted_at=now,
            end_reason=EndReason.SUBMITTED,
            ended_at=now,
            worked_seconds=self.worked_seconds if worked is None else worked,
            segments=tuple(segments),
            review=ReviewState.PENDING,
            version=self.version + 1,
        )

    def resubmitted(self, cmd: SubmitWork, *, kept: bytes) -> Claim:
        """This submitted claim, when ``cmd`` hands in the same work again (``kept`` is
        the result stored): the same result bytes and the same time worked (the same
        segments, and worked_seconds unset or equal to the seconds recorded). Other
        work is refused: a submission is final, and its first work stands."""
        assert self.status is ClaimStatus.SUBMITTED, "only submitted work is repeated"
        same_time = cmd.segments == self.segments and cmd.worked_seconds in (
            None,
            self.worked_seconds,
        )
        if cmd.result != kept or not same_time:
            raise FailedPrecondition(
                f"claim {self.claim_id} was already submitted with other work or time;"
                " a submission is final and the first one stands",
                reason="ALREADY_SUBMITTED",
            )
        return self

    def reviewed(self, review: ReviewState, *, feedback: str, at: datetime) -> Claim | None:
        """The client's review of the submitted work (from the dispatcher's events): None
        when it changes nothing. Accepted is final; a rejection may later be overridden by
        an acceptance (which clears its feedback); a repeat changes nothing. The version
        stays: a review is not a change of the claim's lease or state."""
        if self.review is None or self.review is ReviewState.ACCEPTED or review is self.review:
            return None
        if review is ReviewState.PENDING:
            return None  # never back to unreviewed
        return replace(self, review=review, feedback=feedback, reviewed_at=at)

    def heartbeat(self, *, now: datetime, worked: int) -> Claim:
        """Move the deadline to now + the claim timeout (at most ``max_deadline_at``) and
        record the time worked. The same report again changes nothing."""
        self._refuse_unless_live(now)
        if self.cut is not None:
            raise FailedPrecondition(
                f"claim {self.claim_id} was cut short ({self.cut}): its lease is not extended;"
                f" submit before {self.deadline_at.isoformat()}",
                reason=self.cut.name,
            )
        live_for = math.ceil((now - self.granted_at).total_seconds())
        if worked > live_for:
            raise InvalidArgument(
                "worked_seconds", f"must be at most the {live_for} s the claim has been live"
            )
        if worked < self.worked_seconds:
            raise InvalidArgument(
                "worked_seconds",
                f"must not be less than the {self.worked_seconds} s reported before",
            )
        if self.deadline_at >= self.max_deadline_at:
            raise FailedPrecondition(
                f"claim {self.claim_id}: its lease is at its maximum,"
                f" {self.max_deadline_at.isoformat()}",
                reason="LEASE_AT_MAXIMUM",
            )
        moved = min(now + timedelta(seconds=self.lease_seconds), self.max_deadline_at)
        deadline = max(moved, self.deadline_at)  # never earlier than the clock already set
        if deadline == self.deadline_at and worked == self.worked_seconds:
            return self
        return replace(self, deadline_at=deadline, worked_seconds=worked, version=self.version + 1)

    @property
    def released(self) -> bool:
        """Whether the contractor gave the slot back. A cut claim released ends with the
        cut's reason, before its deadline; one that lapsed ends at or after it."""
        if self.status is not ClaimStatus.ENDED or self.ended_at is None:
            return False
        if self.end_reason is EndReason.RELEASED:
            return True
        return self.cut is not None and self.ended_at < self.deadline_at

    def release(self, *, now: datetime) -> Claim:
        """Give the slot back: the claim ends as released, or with the cut's reason when
        the client cut it short (it ended without work, as a lapse would). Repeating it
        is a no-op."""
        if self.released:
            return self
        self._refuse_unless_live(now)
        return replace(
            self,
            status=ClaimStatus.ENDED,
            end_reason=self.cut or EndReason.RELEASED,
            ended_at=now,
            version=self.version + 1,
        )

    def expire(self, *, now: datetime, fired_for: datetime, task_over: bool) -> Claim | None:
        """End the claim when its lease clock fired: only if it is live and its current
        deadline has passed by our clock, or is the very deadline the clock fired for (a
        heartbeat that moved it wins). None when it does not end."""
        if self.status is not ClaimStatus.ACTIVE or self.deadline_at > max(now, fired_for):
            return None
        reason = self.cut or (EndReason.TASK_EXPIRED if task_over else EndReason.EXPIRED)
        return replace(
            self,
            status=ClaimStatus.ENDED,
            end_reason=reason,
            ended_at=max(now, self.deadline_at),  # never before the deadline
            version=self.version + 1,
        )
