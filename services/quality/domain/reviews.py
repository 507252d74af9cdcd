"""A review's outcome as the quality service learns it from the dispatcher. Pure.

One outcome per submission. Acceptance is final: an override (a rejection the client
turned into an acceptance) replaces the rejection, and a rejection that arrives after
the acceptance changes nothing. A submission keeps its place in the window at its
first review, so an override changes what that place counts, never adds a second one.
Merged this way, the outcome is the same whatever order and however often its events
arrive.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from crewline import validate


class ReviewedBy(enum.StrEnum):
    CLIENT = "client"
    AUTO_ACCEPT = "auto_accept"
    OVERRIDE = "override"  # a rejection turned into an acceptance
    UNSPECIFIED = "unspecified"


@dataclass(frozen=True, kw_only=True)
class ReviewOutcome:
    """SubmissionAccepted or SubmissionRejected: one submission, reviewed."""

    submission_id: str
    task_id: str
    contractor_id: str
    client_id: str
    project_id: str
    accepted: bool
    reviewed_by: ReviewedBy
    reviewed_at: datetime

    def __post_init__(self) -> None:
        # Named as the event names them: a malformed event is dead-lettered with its field.
        validate.identifier(self.submission_id, field="submission_id")
        validate.identifier(self.contractor_id, field="contractor_id")
        validate.identifier(self.client_id, field="client_id")
        validate.identifier(self.project_id, field="project_id")

    @property
    def overrides(self) -> bool:
        return self.accepted and self.reviewed_by is ReviewedBy.OVERRIDE

    @property
    def kind(self) -> str:
        """For counting: accepted, rejected or overridden."""
        if self.overrides:
            return "overridden"
        return "accepted" if self.accepted else "rejected"


REVIEW_KINDS = ("accepted", "rejected", "overridden")
