"""Submissions as the time-flag share counts them: each one a contractor hands in
(WorkSubmitted, claims topic) and whether the dispatcher time-flagged it
(SubmissionFlagged, tasks topic), learnt in either order. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crewline import validate


@dataclass(frozen=True, kw_only=True)
class FlagSeen:
    """SubmissionFlagged: the submission (the claim id) was time-flagged as it was stored."""

    submission_id: str
    task_id: str
    contractor_id: str
    project_id: str
    client_id: str
    flagged_at: datetime

    def __post_init__(self) -> None:
        # Named as the event names them: a malformed event is dead-lettered with its field.
        for name in ("submission_id", "task_id", "contractor_id", "project_id", "client_id"):
            validate.identifier(getattr(self, name), field=name)
