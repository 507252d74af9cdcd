"""What a contractor is offered: a task they may claim now, where a page of offers ends,
and why an offer stream takes one back. Pure: no I/O, no protobuf."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from crewline import paging
from crewline.answers import AnswerSpec
from crewline.pay_terms import PayTerms


class WithdrawalReason(enum.StrEnum):
    """Why an offer stream takes a task back."""

    FILLED = "filled"  # every slot is taken
    CLAIMED_BY_YOU = "claimed_by_you"
    NOT_ELIGIBLE = "not_eligible"  # a lost qualification, a block, a new requirement
    CLOSED = "closed"  # cancelled, expired, project paused or closed


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
    # The project's current answer spec, which a claim granted now would answer to (0:
    # none). The spec is attached when the offer is shown; left out of equality and the
    # hash: the version decides it, and a cached offer's message is found by hash.
    answer_spec_version: int = 0
    answer_spec: AnswerSpec | None = field(default=None, compare=False)
    # The one contractor a reserved (gold) task is offered to; None for any other task.
    # Never shown: to its contractor the offer is as any other (adapters/protobuf).
    reserved_for: str | None = None
    # An unpaid exam's question: shown as unpaid, with no pay terms (``terms`` are the
    # project's, which it does not pay).
    unpaid: bool = False

    def offered_to(self, contractor_id: str) -> bool:
        return self.reserved_for is None or self.reserved_for == contractor_id

    @property
    def cursor(self) -> OfferCursor:
        return OfferCursor(self.priority, self.published_at, self.task_id)
