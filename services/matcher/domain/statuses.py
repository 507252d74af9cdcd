"""Where a claim, a task and a project stand: the states the matcher's rules read. Pure."""

from __future__ import annotations

import enum


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
