"""Scores: what is measured of a contractor's work in one project. Pure: no I/O.

The acceptance rate counts the contractor's last N reviewed submissions in the
project (by review time), gold accuracy their last N answers to gold tasks (by
submission time, ``accepted`` counting the correct ones), and both smooth the share
as Toloka smooths accuracy,
q = (K + accepted) / (2K + reviewed) with K = 1/2: a first acceptance shows 75, not
100, and a first rejection 25, not 0, so one review neither crowns nor sinks anyone.
The value shown is 100 q rounded half up, in exact arithmetic (100 q is a half often,
e.g. 12.5 after none of 3 accepted, where a float and ``round`` would give 12).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

SMOOTHING = Fraction(1, 2)  # K: the prior's weight, half an acceptance and half a rejection


class Measure(enum.StrEnum):
    ACCEPTANCE_RATE = "acceptance_rate"
    GOLD_ACCURACY = "gold_accuracy"


def smoothed(accepted: int, reviewed: int, *, k: Fraction = SMOOTHING) -> Fraction:
    """q = (K + accepted) / (2K + reviewed), exactly."""
    if not 0 <= accepted <= reviewed:
        raise ValueError(f"accepted {accepted} of {reviewed} reviewed")
    return (k + accepted) / (2 * k + reviewed)


def percent(q: Fraction) -> int:
    """100 q rounded half up, 0-100."""
    return int((100 * q + Fraction(1, 2)) // 1)


@dataclass(frozen=True, kw_only=True)
class Tally:
    """Reviewed submissions counted over a window."""

    accepted: int
    reviewed: int
    window: int

    @property
    def value(self) -> int:
        return percent(smoothed(self.accepted, self.reviewed))


def acceptance_tally(latest: Sequence[bool], *, window: int) -> Tally:
    """The tally over the ``window`` most recent outcomes (``latest``: accepted, or a
    gold answer correct, or not, newest first; any beyond the window are left out)."""
    if window < 1:
        raise ValueError("the window holds at least one review")
    counted = latest[:window]
    return Tally(accepted=sum(counted), reviewed=len(counted), window=window)


@dataclass(frozen=True, kw_only=True)
class Score:
    """One measure of one contractor in one project, as stored and shown."""

    contractor_id: str
    project_id: str
    client_id: str  # whose project it is: a client sees only its own projects' scores
    measure: Measure
    accepted: int
    reviewed: int
    window: int
    value: int  # 0-100
    updated_at: datetime

    @classmethod
    def of(
        cls,
        tally: Tally,
        *,
        contractor_id: str,
        project_id: str,
        client_id: str,
        updated_at: datetime,
        measure: Measure = Measure.ACCEPTANCE_RATE,
    ) -> Score:
        return cls(
            contractor_id=contractor_id,
            project_id=project_id,
            client_id=client_id,
            measure=measure,
            accepted=tally.accepted,
            reviewed=tally.reviewed,
            window=tally.window,
            value=tally.value,
            updated_at=updated_at,
        )
