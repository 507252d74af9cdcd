"""A contractor's scores, as ``Contractor.my_scores`` and ``contractor_scores`` return them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crewline.client.results.enums import ScoreMeasure
from crewline.client.results.wire import brief, time_of, when
from crewline.v1 import quality_service_pb2 as quality_api


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """One measure of one contractor's work in one project, from the quality service.

    ``contractor_id``, ``project_id``; ``measure`` (ACCEPTANCE_RATE: the share of the
    last ``window`` reviewed submissions that were accepted, an overridden rejection
    counting as accepted; GOLD_ACCURACY: the share of the last ``window`` answers to
    gold tasks that were correct; both smoothed); ``value`` 0-100; ``accepted`` of
    ``reviewed``: the counts it comes from (for gold accuracy the correct answers and
    the gold answers scored; fewer than ``window`` while there are fewer);
    ``updated_at``: when the value or its counts last changed. A contractor with
    nothing measured in a project has no score there.
    """

    contractor_id: str
    project_id: str
    measure: ScoreMeasure | None
    value: int
    accepted: int
    reviewed: int
    window: int
    updated_at: datetime | None
    raw: quality_api.Score = field(default_factory=quality_api.Score, repr=False, compare=False)

    @classmethod
    def from_pb(cls, message: quality_api.Score) -> Score:
        return cls(
            contractor_id=message.contractor_id,
            project_id=message.project_id,
            measure=ScoreMeasure.from_pb(message.measure),
            value=message.value,
            accepted=message.accepted,
            reviewed=message.reviewed,
            window=message.window,
            updated_at=time_of(message, "updated_at"),
            raw=message,
        )

    def __str__(self) -> str:
        return (
            f"{self.contractor_id} in {self.project_id}: {self.measure or 'UNKNOWN'}"
            f" {self.value}, {self.accepted} of {self.reviewed} reviewed accepted (window"
            f" {self.window}), updated {when(self.updated_at)}"
        )

    def __repr__(self) -> str:
        return brief(self, "contractor_id", "project_id", "measure", "value", "reviewed")
