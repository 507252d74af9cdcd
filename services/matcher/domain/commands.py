"""A contractor's commands: claim a task, submit work (and the time worked), heartbeat,
get or release a claim, list their claims, list or stream offers. Each is validated from
what the caller sent, and an error names the field. Whether a claim takes it is
``claims.Claim``'s to say.

Pure: no I/O, no protobuf.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from crewline import paging, validate
from crewline.errors import InvalidArgument
from matcher.domain.offers import OfferCursor
from matcher.domain.statuses import ClaimStatus

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


@dataclass(frozen=True)
class WorkSegment:
    """A stretch of time worked on a claim: ``ended_at`` after ``started_at``."""

    started_at: datetime
    ended_at: datetime

    @property
    def duration(self) -> timedelta:
        return self.ended_at - self.started_at


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
