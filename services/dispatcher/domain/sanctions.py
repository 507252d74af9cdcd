"""The quality service's sanctions and appeals, as far as the dispatcher acts on them.
Pure: no I/O, no protobuf.

A review-everything sanction holds back the auto-accept clock of the contractor's new
work in its project while it is active and not past its end (judged by the caller's
clock: the sanction's own end clock runs in the quality service, and its SanctionChanged
may come late). Work stored while one held stays waiting for its client's review when
the sanction ends, as time-flagged work does: see ``holds``.

An upheld appeal turns the rejections it names into acceptances (``review``'s
``accept_by_appeal``).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


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
