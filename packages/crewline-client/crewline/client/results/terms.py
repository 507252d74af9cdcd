"""What projects, offers and claims share: pay terms, requirements, and time worked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crewline.client.build import timestamp
from crewline.client.results.enums import Comparator
from crewline.client.results.money import Money
from crewline.client.results.wire import brief, money_of, time_of
from crewline.v1 import claim_pb2, project_pb2
from crewline.v1 import work_service_pb2 as work_api


@dataclass(frozen=True, slots=True, kw_only=True)
class PayTerms:
    """A version of a project's pay terms.

    Exactly one of ``reward`` (pay per accepted submission) and ``rate`` (pay per hour
    worked, for at most ``max_paid_seconds`` per claim; 0 for per-submission terms) is
    set. ``version``: 1 for the project's first terms, +1 for each change;
    ``effective_at``: when this version replaced the one before.
    """

    reward: Money | None
    rate: Money | None
    max_paid_seconds: int
    version: int
    effective_at: datetime | None
    raw: project_pb2.PayTerms = field(
        default_factory=project_pb2.PayTerms, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: project_pb2.PayTerms) -> PayTerms:
        return cls(
            # An unset oneof branch reads as its default, whose money field is unset too.
            reward=money_of(message.per_submission, "reward"),
            rate=money_of(message.hourly, "rate"),
            max_paid_seconds=message.hourly.max_paid_seconds,
            version=message.version,
            effective_at=time_of(message, "effective_at"),
            raw=message,
        )

    def __str__(self) -> str:
        if self.rate is not None:
            hours = self.max_paid_seconds / 3600
            return f"{self.rate} an hour, at most {hours:g} h per claim"
        if self.reward is not None:
            return f"{self.reward} per submission"
        return "no pay terms"

    def __repr__(self) -> str:
        return f"PayTerms({str(self)!r}, version={self.version})"


def terms_of(message: project_pb2.Project | work_api.Offer | work_api.Claim) -> PayTerms | None:
    """The message's ``pay_terms``; None when unset."""
    return PayTerms.from_pb(message.pay_terms) if message.HasField("pay_terms") else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Requirement:
    """A condition on a contractor's qualifications: ``qualification`` (a type's name,
    or a quality measure such as ``quality.acceptance_rate``) compared by ``comparator``
    with ``scores`` (SCORE types) or ``strings`` (STRING types); EXISTS and NOT_EXISTS
    take no values. ``project_id``: for a quality measure, the project it is measured
    in (a project reads its own id here for a measure of itself); empty for any other
    qualification."""

    qualification: str
    comparator: Comparator | None
    scores: tuple[int, ...]
    strings: tuple[str, ...]
    project_id: str = ""
    raw: project_pb2.Requirement = field(
        default_factory=project_pb2.Requirement, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: project_pb2.Requirement) -> Requirement:
        return cls(
            qualification=message.qualification,
            comparator=Comparator.from_pb(message.comparator),
            scores=tuple(message.scores),
            strings=tuple(message.strings),
            project_id=message.project_id,
            raw=message,
        )

    def __str__(self) -> str:
        values = ",".join([*map(str, self.scores), *self.strings])
        where = f"in {self.project_id}" if self.project_id else ""
        return " ".join(filter(None, [self.qualification, self.comparator, values, where]))

    def __repr__(self) -> str:
        return f"Requirement({str(self)!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkSegment:
    """A stretch of time worked on a claim, from ``started_at`` to ``ended_at``. A value
    to send as well as to read: ``to_pb`` makes the message ``Contractor.submit`` takes."""

    started_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def from_pb(cls, message: claim_pb2.WorkSegment) -> WorkSegment:
        return cls(started_at=time_of(message, "started_at"), ended_at=time_of(message, "ended_at"))

    def to_pb(self) -> claim_pb2.WorkSegment:
        segment = claim_pb2.WorkSegment()
        if self.started_at is not None:
            segment.started_at.CopyFrom(timestamp(self.started_at))
        if self.ended_at is not None:
            segment.ended_at.CopyFrom(timestamp(self.ended_at))
        return segment

    def __repr__(self) -> str:
        return brief(self, "started_at", "ended_at")
