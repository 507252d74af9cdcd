"""Time flags' pure rules: the robust z-score and its floor, overlapping tracked time,
and what a flag does (and does not do) to a submission's review."""

from __future__ import annotations

import statistics
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crewline.money import Money
from dispatcher.domain import time_flags
from dispatcher.domain.review import AcceptedBy, Submission, SubmissionStatus
from dispatcher.domain.time_flags import FlagKind, TimeFlag, fast_flag, overlap_flag, spread

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
# Median 600 s, median absolute deviation 60 s (its floor, a tenth of 600, is no more):
# z <= -3 exactly when x <= 600 - 3 x 60 / 0.6745 = 333.1 s.
USUAL = [540] * 10 + [600] + [660] * 10


# --- FAST ----------------------------------------------------------------------------------


def test_fewer_than_twenty_samples_say_nothing() -> None:
    assert spread([600] * 19) is None
    assert fast_flag(1, [600] * 19) is None
    assert spread([600] * 20) is not None


def test_the_spread_is_the_median_and_the_median_absolute_deviation() -> None:
    usual = spread(USUAL)
    assert usual is not None
    assert (usual.median, usual.mad, usual.scale, usual.size) == (600, 60, 60, 21)
    assert usual.z(333) == pytest.approx(0.6745 * (333 - 600) / 60)


def test_fast_is_a_z_of_minus_three_or_less() -> None:
    flag = fast_flag(333, USUAL)
    assert flag is not None and flag.kind is FlagKind.FAST
    assert (flag.worked_seconds, flag.median_seconds, flag.mad_seconds) == (333, 600, 60)
    assert (flag.scale_seconds, flag.sample_size) == (60, 21)
    assert flag.z_score == pytest.approx(-3.0015, abs=1e-4)
    assert flag.evidence == (
        "worked 333 s; the project's last 21 timed submissions took a median of 600 s"
        " (median absolute deviation 60 s); z = 0.6745 x (333 - 600) / 60 = -3.00,"
        " at or below -3"
    )
    assert fast_flag(334, USUAL) is None  # z = -2.99
    assert fast_flag(600, USUAL) is None and fast_flag(5000, USUAL) is None


def test_untimed_work_is_never_fast() -> None:
    assert fast_flag(0, USUAL) is None


def test_a_mad_of_zero_is_floored_at_a_tenth_of_the_median() -> None:
    """Twenty submissions of exactly 600 s: 590 s is not 'infinitely' unusual."""
    same = [600] * 20
    usual = spread(same)
    assert usual is not None and (usual.mad, usual.scale) == (0, 60)
    assert fast_flag(590, same) is None
    assert fast_flag(334, same) is None
    flag = fast_flag(333, same)
    assert flag is not None and (flag.mad_seconds, flag.scale_seconds) == (0, 60)
    assert "median absolute deviation 0 s, taken as its floor 60 s" in flag.evidence


def test_short_work_has_a_floor_of_a_second() -> None:
    """Twenty submissions of 3 s: nothing quicker can be 4.45 s below them."""
    usual = spread([3] * 20)
    assert usual is not None and usual.scale == 1
    assert fast_flag(1, [3] * 20) is None


def test_never_flagged_above_about_half_the_median() -> None:
    """The floor bounds the rule: FAST needs x <= median - 4.45 x median / 10."""
    for samples in (USUAL, [600] * 20, [599, 600, 601] * 7, list(range(400, 800, 10))):
        median = statistics.median(samples)
        assert fast_flag(int(median * 0.56), samples) is None


def test_outliers_do_not_hide_the_fast_one() -> None:
    """A few very long submissions blow up the mean and the standard deviation, so a
    plain z-score would miss 200 s; the median and the MAD do not move much."""
    samples = list(range(500, 701, 5)) + [36_000] * 4
    plain = (200 - statistics.mean(samples)) / statistics.stdev(samples)
    assert plain > -3
    flag = fast_flag(200, samples)
    assert flag is not None and (flag.median_seconds, flag.sample_size) == (610, 45)


def test_a_flag_round_trips_through_its_stored_form() -> None:
    flag = fast_flag(100, USUAL)
    assert flag is not None
    assert TimeFlag.from_json(flag.to_json()) == flag


# --- IMPLAUSIBLE_TIME ----------------------------------------------------------------------


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def seg(start: float, end: float) -> tuple[datetime, datetime]:
    return (at(start), at(end))


def test_time_tracked_on_two_claims_at_once_is_implausible() -> None:
    mine = [seg(0, 30), seg(40, 60)]  # 50 min tracked
    other = [seg(20, 45)]  # covers 10 + 5 min of mine
    flag = overlap_flag(3000, mine, [other])
    assert flag is not None and flag.kind is FlagKind.IMPLAUSIBLE_TIME
    assert (flag.worked_seconds, flag.overlap_seconds, flag.overlapping_claims) == (3000, 900, 1)
    assert flag.evidence == (
        "tracked 3000 s, of which 900 s overlap the contractor's tracked time on 1 other"
        " hourly claim: the same time billed twice (more than the 60 s allowed)"
    )


def test_overlap_counts_each_second_once_and_names_how_many_claims() -> None:
    mine = [seg(0, 60)]
    others = [[seg(10, 30)], [seg(20, 40)], [seg(70, 80)]]  # the first two overlap too
    flag = overlap_flag(3600, mine, others)
    assert flag is not None
    assert (flag.overlap_seconds, flag.overlapping_claims) == (1800, 2)


def test_a_minute_of_overlap_or_touching_segments_are_not_flagged() -> None:
    mine = [seg(0, 30)]
    assert overlap_flag(1800, mine, [[seg(30, 50)]]) is None  # touching
    assert overlap_flag(1800, mine, [[seg(29, 50)]]) is None  # 60 s exactly
    assert overlap_flag(1800, mine, []) is None
    late = overlap_flag(1800, mine, [[(at(29) - timedelta(seconds=1), at(50))]])
    assert late is not None and late.overlap_seconds == 61


def test_merged_is_the_union_in_order() -> None:
    found = time_flags.merged([seg(5, 8), seg(0, 2), seg(1, 3), seg(3, 4)])
    assert found == [seg(0, 4), seg(5, 8)]


# --- what a flag does to the review --------------------------------------------------------


def pending() -> Submission:
    return Submission(
        submission_id=uuid.uuid4(),
        task_id=uuid.uuid4(),
        client_id="acme",
        project_id="p",
        contractor_id="ann",
        status=SubmissionStatus.PENDING_REVIEW,
        reward=Money("USD", 100),
        worked_seconds=100,
        submitted_at=NOW,
        auto_accept_at=NOW + timedelta(days=3),
    )


def test_flagged_work_has_no_auto_accept_but_can_be_reviewed() -> None:
    flag = fast_flag(100, USUAL)
    assert flag is not None
    sub = pending().flagged([flag])
    assert sub.flags == (flag,) and sub.auto_accept_at is None
    assert sub.auto_accept(now=NOW + timedelta(days=30)) is sub  # even if a clock fired
    accepted = sub.accept(feedback="", override=False, now=NOW)
    assert (accepted.status, accepted.accepted_by) == (SubmissionStatus.ACCEPTED, AcceptedBy.CLIENT)
    rejected = sub.reject(feedback="too quick", now=NOW, window_seconds=3600)
    overridden = rejected.accept(feedback="", override=True, now=NOW + timedelta(minutes=5))
    assert overridden.accepted_by is AcceptedBy.OVERRIDE and overridden.flags == (flag,)


def test_no_flags_change_nothing() -> None:
    sub = pending()
    assert sub.flagged([]) is sub
    assert sub.auto_accept(now=NOW).accepted_by is AcceptedBy.AUTO_ACCEPT
