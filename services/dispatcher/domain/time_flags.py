"""Time flags: work whose time cannot be taken at face value is put in front of its
reviewer, with the numbers that raised the flag. Pure: no I/O, no protobuf.

A flag never rejects work, and flagged work is never accepted automatically: the
client decides, as for any submission (docs/quality.md, "Time flags").

- FAST: the time worked is far below the project's usual time. Compared with the
  project's last ``MAX_SAMPLES`` timed submissions once there are ``MIN_SAMPLES``, by
  a robust z-score (median and median absolute deviation, which the outliers it hunts
  do not drag): z = 0.6745 (x - median) / MAD, flagged at ``Z_LIMIT`` or below.
- IMPLAUSIBLE_TIME: hourly work whose tracked segments overlap, by more than
  ``OVERLAP_SLACK_SECONDS``, the same contractor's tracked segments on other hourly
  claims: the same time billed twice. The matcher already refuses every other way for
  the time to be impossible (segments outside the claim's life or overlapping each
  other, a total unlike theirs, more time than the claim was live).
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

MIN_SAMPLES = 20  # below this the project's usual time is not known well enough
MAX_SAMPLES = 200  # the most recent timed submissions: the project's usual time now
Z_LIMIT = -3.0
CONSISTENCY = 0.6745  # makes the MAD comparable with a standard deviation (normal data)
# When most samples took the same time the MAD is 0 (or next to it) and a second less
# would be "infinitely" unusual: the MAD is taken as at least a tenth of the median,
# and at least a second. Then FAST needs x <= median - 4.45 MAD, which is never more
# than 55.5% of the median: fast means far below, not a little below a tight norm.
MAD_FLOOR_OF_MEDIAN = 0.1
MAD_FLOOR_SECONDS = 1.0
# Two timers stopped and started by hand may overlap by a moment; more is billed twice.
OVERLAP_SLACK_SECONDS = 60

Interval = tuple[datetime, datetime]  # a tracked segment: started_at < ended_at


class FlagKind(enum.StrEnum):
    FAST = "fast"
    IMPLAUSIBLE_TIME = "implausible_time"


@dataclass(frozen=True, kw_only=True)
class TimeFlag:
    """Why a submission waits for its reviewer, in words and in numbers."""

    kind: FlagKind
    evidence: str
    worked_seconds: int  # the submission's time worked, as reported
    # FAST: the project's timed submissions compared with.
    median_seconds: float = 0.0
    mad_seconds: float = 0.0  # as measured
    scale_seconds: float = 0.0  # the MAD the z-score divides by: at least its floor
    z_score: float = 0.0
    sample_size: int = 0
    # IMPLAUSIBLE_TIME: tracked seconds also tracked on the contractor's other claims.
    overlap_seconds: int = 0
    overlapping_claims: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> TimeFlag:
        return cls(**{**stored, "kind": FlagKind(stored["kind"])})


# --- FAST ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """The project's usual time: the samples' median and MAD, and the MAD used."""

    median: float
    mad: float
    scale: float
    size: int

    def z(self, seconds: float) -> float:
        return CONSISTENCY * (seconds - self.median) / self.scale


def spread(samples: Sequence[float]) -> Spread | None:
    """The samples' spread; None when there are fewer than ``MIN_SAMPLES``."""
    if len(samples) < MIN_SAMPLES:
        return None
    centre = statistics.median(samples)
    mad = statistics.median(abs(s - centre) for s in samples)
    scale = max(mad, MAD_FLOOR_OF_MEDIAN * centre, MAD_FLOOR_SECONDS)
    return Spread(median=float(centre), mad=float(mad), scale=float(scale), size=len(samples))


def fast_flag(worked_seconds: int, samples: Sequence[float]) -> TimeFlag | None:
    """FAST when ``worked_seconds`` (over 0) is at ``Z_LIMIT`` or below among ``samples``,
    the project's other timed submissions; None otherwise, or with too few samples."""
    usual = spread(samples) if worked_seconds > 0 else None
    if usual is None:
        return None
    z = usual.z(worked_seconds)
    if z > Z_LIMIT:
        return None
    floored = "" if usual.scale == usual.mad else f", taken as its floor {_n(usual.scale)} s"
    evidence = (
        f"worked {worked_seconds} s; the project's last {usual.size} timed submissions took"
        f" a median of {_n(usual.median)} s (median absolute deviation {_n(usual.mad)} s"
        f"{floored}); z = 0.6745 x ({worked_seconds} - {_n(usual.median)}) /"
        f" {_n(usual.scale)} = {z:.2f}, at or below {Z_LIMIT:g}"
    )
    return TimeFlag(
        kind=FlagKind.FAST,
        evidence=evidence,
        worked_seconds=worked_seconds,
        median_seconds=usual.median,
        mad_seconds=usual.mad,
        scale_seconds=usual.scale,
        z_score=round(z, 4),
        sample_size=usual.size,
    )


# --- IMPLAUSIBLE_TIME ----------------------------------------------------------------------


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of ``intervals`` as disjoint intervals, in order."""
    union: list[Interval] = []
    for start, end in sorted(intervals):
        if union and start <= union[-1][1]:
            union[-1] = (union[-1][0], max(union[-1][1], end))
        else:
            union.append((start, end))
    return union


def overlap(mine: Sequence[Interval], theirs: Iterable[Interval]) -> timedelta:
    """How much of ``mine`` (disjoint, as the matcher accepts them) ``theirs`` also cover."""
    covered = timedelta()
    union = merged(theirs)
    for start, end in mine:
        for other_start, other_end in union:
            covered += max(timedelta(), min(end, other_end) - max(start, other_start))
    return covered


def overlap_flag(
    worked_seconds: int, mine: Sequence[Interval], others: Sequence[Sequence[Interval]]
) -> TimeFlag | None:
    """IMPLAUSIBLE_TIME when the tracked segments ``mine`` overlap those of the
    contractor's other hourly claims (``others``, one sequence per claim) by more than
    ``OVERLAP_SLACK_SECONDS``; None otherwise."""
    seconds = overlap(mine, (i for claim in others for i in claim)) // timedelta(seconds=1)
    if seconds <= OVERLAP_SLACK_SECONDS:
        return None
    claims = sum(1 for claim in others if overlap(mine, claim) > timedelta())
    evidence = (
        f"tracked {worked_seconds} s, of which {seconds} s overlap the contractor's"
        f" tracked time on {claims} other hourly claim{'s' if claims > 1 else ''}: the same"
        f" time billed twice (more than the {OVERLAP_SLACK_SECONDS} s allowed)"
    )
    return TimeFlag(
        kind=FlagKind.IMPLAUSIBLE_TIME,
        evidence=evidence,
        worked_seconds=worked_seconds,
        overlap_seconds=seconds,
        overlapping_claims=claims,
    )


def span(intervals: Sequence[Interval]) -> Interval:
    """From the first start to the last end: where other claims' segments are looked for."""
    return min(s for s, _ in intervals), max(e for _, e in intervals)


def _n(seconds: float) -> str:
    """Seconds as written in evidence: whole when whole, else to a tenth."""
    return f"{seconds:.0f}" if float(seconds).is_integer() else f"{seconds:.1f}"
