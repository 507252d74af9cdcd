"""Contractors' quality scores as the matcher keeps them (from the quality service's
ScoreChanged): held like score qualifications, one per measure and project, for
eligibility to evaluate. Pure: no I/O, no protobuf."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crewline import validate
from crewline.errors import InvalidArgument
from crewline.qualifications import MAX_SCORE, MIN_SCORE, is_measure


@dataclass(frozen=True, kw_only=True)
class MeasuredScore:
    """One measure of one contractor in one project, at one version."""

    contractor_id: str
    project_id: str
    measure: str  # as requirements name it, e.g. quality.acceptance_rate
    value: int
    version: int  # the quality service's: only the highest is kept
    changed_at: datetime

    def __post_init__(self) -> None:
        # Named as the event names them: a malformed event is dead-lettered with its field.
        validate.identifier(self.contractor_id, field="contractor_id")
        validate.identifier(self.project_id, field="project_id")
        if not is_measure(self.measure):
            raise InvalidArgument("measure", f"is not a quality measure: {self.measure!r}")
        validate.int_range(self.value, field="value", low=MIN_SCORE, high=MAX_SCORE)
        validate.int_range(self.version, field="version", low=1, high=2**63 - 1)
