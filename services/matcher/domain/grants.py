"""Granting a claim: the lease a granted claim gets, and what a refused one tells the
caller. Whether a slot is free, the contractor qualified and under their limits, is
decided atomically in the database (the claim_task() function); its outcome is mapped
here. Pure: no I/O, no protobuf."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from crewline.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
)
from crewline.pay_terms import Basis, PayTerms

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
