"""A contractor's offers and claims, as ``Contractor.offers``, ``claim``, ``submit`` and the
rest return them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crewline.client.results.answers import AnswerSpec, answer_spec_of
from crewline.client.results.enums import ClaimEndReason, ClaimStatus, ReviewState
from crewline.client.results.money import Money
from crewline.client.results.terms import PayTerms, WorkSegment, terms_of
from crewline.client.results.wire import Payload, brief, money_of, payload_of, time_of, when
from crewline.v1 import work_service_pb2 as work_api


@dataclass(frozen=True, slots=True, kw_only=True)
class Offer:
    """A task the contractor may claim now.

    ``task_id``, ``project_id``, the project's ``title`` and ``instructions``;
    ``pay_terms``: what a claim granted now would be paid (None for unpaid work);
    ``unpaid``: the work is not paid (an unpaid exam's question); ``free_slots``;
    ``priority`` (0-100, higher first); ``published_at``, ``expires_at``; ``answer_spec``:
    the shape of a result a claim granted now would take (None: any bytes). ``pay``:
    what it pays, in words (``unpaid`` for unpaid work).
    """

    task_id: str
    project_id: str
    title: str
    instructions: str
    pay_terms: PayTerms | None
    free_slots: int
    priority: int
    published_at: datetime | None
    expires_at: datetime | None
    answer_spec: AnswerSpec | None = None
    unpaid: bool = False
    raw: work_api.Offer = field(default_factory=work_api.Offer, repr=False, compare=False)

    @classmethod
    def from_pb(cls, message: work_api.Offer) -> Offer:
        return cls(
            task_id=message.task_id,
            project_id=message.project_id,
            title=message.title,
            instructions=message.instructions,
            pay_terms=terms_of(message),
            free_slots=message.free_slots,
            priority=message.priority,
            published_at=time_of(message, "published_at"),
            expires_at=time_of(message, "expires_at"),
            answer_spec=answer_spec_of(message),
            unpaid=message.unpaid,
            raw=message,
        )

    @property
    def pay(self) -> str:
        """What the work pays, in words: its terms, ``unpaid``, or ``no pay terms``."""
        return pay_words(self.pay_terms, unpaid=self.unpaid)

    def __str__(self) -> str:
        return (
            f"offer {self.task_id} {self.title!r}: {self.pay}, {self.free_slots} free slots,"
            f" expires {when(self.expires_at)}"
        )

    def __repr__(self) -> str:
        return brief(self, "task_id", "title", "pay_terms", "free_slots", "priority")


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """One slot of a task, held by a contractor.

    ``claim_id`` (also its submission's id, ``submission_id``), ``task_id``,
    ``project_id`` and ``project_title`` (the project's current title; empty if the
    matcher does not know the project), ``contractor_id``; the work: ``payload`` (JSON
    text as str, opaque bytes as bytes) and ``instructions``; ``pay_terms`` and
    ``answer_spec`` (the shape of the result; None: any bytes), frozen when granted;
    ``unpaid``: the work is not paid (an unpaid exam's question: ``pay_terms`` and
    ``earned`` are then None; ``pay`` says ``unpaid``);
    ``status`` (ACTIVE, SUBMITTED, ENDED); the lease: ``granted_at``, ``deadline_at``
    (moved by heartbeats), ``max_deadline_at`` (no heartbeat moves it further);
    ``worked_seconds`` as last reported, and ``segments`` as submitted; ``cut``: set
    when the client cancelled the task or paused or closed its project while the claim
    was live (the reason it ends with if no work comes); once over: ``end_reason``,
    ``ended_at``; once submitted: ``review`` (PENDING, ACCEPTED, REJECTED),
    ``feedback``, ``earned``.
    """

    claim_id: str
    task_id: str
    project_id: str
    project_title: str
    contractor_id: str
    payload: Payload
    instructions: str
    pay_terms: PayTerms | None
    status: ClaimStatus | None
    granted_at: datetime | None
    deadline_at: datetime | None
    max_deadline_at: datetime | None
    worked_seconds: int
    segments: tuple[WorkSegment, ...]
    cut: ClaimEndReason | None
    end_reason: ClaimEndReason | None
    ended_at: datetime | None
    review: ReviewState | None
    feedback: str
    earned: Money | None
    answer_spec: AnswerSpec | None = None
    unpaid: bool = False
    raw: work_api.Claim = field(default_factory=work_api.Claim, repr=False, compare=False)

    @property
    def submission_id(self) -> str:
        """The id of the work submitted on this claim: the claim's own id."""
        return self.claim_id

    @classmethod
    def from_pb(cls, message: work_api.Claim) -> Claim:
        return cls(
            claim_id=message.claim_id,
            task_id=message.task_id,
            project_id=message.project_id,
            project_title=message.project_title,
            contractor_id=message.contractor_id,
            payload=payload_of(message),
            instructions=message.instructions,
            pay_terms=terms_of(message),
            status=ClaimStatus.from_pb(message.status),
            granted_at=time_of(message, "granted_at"),
            deadline_at=time_of(message, "deadline_at"),
            max_deadline_at=time_of(message, "max_deadline_at"),
            worked_seconds=message.worked_seconds,
            segments=tuple(map(WorkSegment.from_pb, message.segments)),
            cut=ClaimEndReason.from_pb(message.cut),
            end_reason=ClaimEndReason.from_pb(message.end_reason),
            ended_at=time_of(message, "ended_at"),
            review=ReviewState.from_pb(message.review),
            feedback=message.feedback,
            earned=money_of(message, "earned"),
            answer_spec=answer_spec_of(message),
            unpaid=message.unpaid,
            raw=message,
        )

    @property
    def pay(self) -> str:
        """What the work pays, in words: its frozen terms, ``unpaid``, or ``no pay terms``."""
        return pay_words(self.pay_terms, unpaid=self.unpaid)

    def __str__(self) -> str:
        return f"claim {self.claim_id} on {self.task_id}: {self._state()}"

    def _state(self) -> str:
        if self.status is ClaimStatus.ACTIVE:
            cut = f", cut ({self.cut})" if self.cut else ""
            return f"ACTIVE until {when(self.deadline_at)}{cut}"
        if self.status is ClaimStatus.SUBMITTED:
            accepted = self.review is ReviewState.ACCEPTED
            pay = ", unpaid" if self.unpaid else f", earned {self.earned}" if accepted else ""
            return f"SUBMITTED, review {self.review or 'UNKNOWN'}{pay}"
        if self.status is ClaimStatus.ENDED:
            return f"ENDED ({self.end_reason or 'UNKNOWN'}) at {when(self.ended_at)}"
        return "UNKNOWN"

    def __repr__(self) -> str:
        return brief(self, "claim_id", "task_id", "status", "review", "end_reason")


def pay_words(terms: PayTerms | None, *, unpaid: bool) -> str:
    """Pay terms in words; ``unpaid`` for unpaid work, which shows none."""
    if unpaid:
        return "unpaid"
    return str(terms) if terms is not None else "no pay terms"
