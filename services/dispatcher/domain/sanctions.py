"""The quality service's sanctions, appeals and disputes of gold keys, as far as the
dispatcher acts on them. Pure: no I/O, no protobuf.

A review-everything sanction holds back the auto-accept clock of the contractor's new
work in its project while it is active and not past its end (judged by the caller's
clock: the sanction's own end clock runs in the quality service, and its SanctionChanged
may come late). Work stored while one held stays waiting for its client's review when
the sanction ends, as time-flagged work does: see ``holds``.

An upheld appeal and a corrected gold key are rulings: each turns the rejections it
names into acceptances (``Ruling``; ``review``'s ``accept_by_ruling``). An appeal's are
the appellant's own; a corrected key's may be any contractor's in the project, since
everyone who answered the gold task was scored against the wrong key.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from dispatcher.domain.review import AcceptedBy, Submission


class SanctionAction(enum.StrEnum):
    SUSPEND = "suspend"
    REVIEW_ALL = "review_all"
    NOTIFY = "notify"
    OTHER = "other"  # an action newer than this dispatcher: kept, never acted on


class SanctionState(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"
    LIFTED = "lifted"


class AppealState(enum.StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    DENIED = "denied"


class DisputeState(enum.StrEnum):
    OPEN = "open"
    CORRECTED = "corrected"
    DISMISSED = "dismissed"


@dataclass(frozen=True, kw_only=True)
class Sanction:
    """One version of a sanction of a contractor in a project (the highest is kept)."""

    sanction_id: str
    contractor_id: str
    project_id: str
    action: SanctionAction
    state: SanctionState
    ends_at: datetime | None
    version: int

    def holds_review(self, now: datetime) -> bool:
        """Whether the contractor's work submitted ``now`` waits for its client: an
        active review-everything sanction not yet past its end. One without an end
        holds until a later version ends it."""
        return (
            self.action is SanctionAction.REVIEW_ALL
            and self.state is SanctionState.ACTIVE
            and (self.ends_at is None or now < self.ends_at)
        )


def holds(sanctions: Sequence[Sanction], now: datetime) -> Sanction | None:
    """The sanction that holds work submitted ``now`` for review, if any.

    Only work submitted while one holds is held: when it ends, that work keeps waiting
    for its client. The rule judged the contractor's work unreliable when it was done;
    a sanction running its time says nothing about that work, and arming the clocks at
    its end would make a short sanction a mere delay, accepting a backlog unread."""
    return next((s for s in sanctions if s.holds_review(now)), None)


@dataclass(frozen=True, kw_only=True)
class Appeal:
    """An appeal in one of its states, and what an upheld one accepts."""

    appeal_id: str
    contractor_id: str
    project_id: str
    state: AppealState
    decision_note: str
    accepted_submission_ids: tuple[uuid.UUID, ...]

    @property
    def ruling(self) -> Ruling | None:
        """What an upheld appeal accepts: the appellant's rejections in the project."""
        if self.state is not AppealState.UPHELD:
            return None
        return Ruling(
            by=AcceptedBy.APPEAL,
            project_id=self.project_id,
            contractor_id=self.contractor_id,
            note=self.decision_note,
            submission_ids=self.accepted_submission_ids,
        )


@dataclass(frozen=True, kw_only=True)
class Dispute:
    """A dispute of a gold key in one of its states, and what a correction accepts."""

    dispute_id: str
    contractor_id: str  # the disputer
    project_id: str
    state: DisputeState
    resolution_note: str
    accepted_submission_ids: tuple[uuid.UUID, ...]

    @property
    def ruling(self) -> Ruling | None:
        """What a corrected key accepts: rejections in the project, anyone's."""
        if self.state is not DisputeState.CORRECTED:
            return None
        return Ruling(
            by=AcceptedBy.KEY_CORRECTION,
            project_id=self.project_id,
            contractor_id=None,
            note=self.resolution_note,
            submission_ids=self.accepted_submission_ids,
        )


@dataclass(frozen=True, kw_only=True)
class Ruling:
    """The quality service ruled rejections wrong: those of ``submission_ids`` that are
    in ``project_id`` (and ``contractor_id``'s, when set) and still rejected are
    accepted ``by`` it, with ``note`` as their feedback."""

    by: AcceptedBy
    project_id: str
    contractor_id: str | None
    note: str
    submission_ids: tuple[uuid.UUID, ...]

    def covers(self, sub: Submission) -> bool:
        """Whether the submission is one this ruling may accept (others are skipped)."""
        return sub.project_id == self.project_id and self.contractor_id in (
            None,
            sub.contractor_id,
        )
