"""Which sanction holds a contractor's new work for review (pure: the dispatcher's
domain/sanctions.py), and the acceptance an upheld appeal or a corrected gold key makes
(domain/review.py)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crewline.money import Money
from dispatcher.domain.review import AcceptedBy, Submission, SubmissionStatus
from dispatcher.domain.sanctions import Sanction, SanctionAction, SanctionState, holds

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
REVIEW_ALL = Sanction(
    sanction_id="s1",
    contractor_id="ann",
    project_id="p1",
    action=SanctionAction.REVIEW_ALL,
    state=SanctionState.ACTIVE,
    ends_at=NOW + timedelta(hours=1),
    version=1,
)


@pytest.mark.parametrize(
    ("sanction", "held"),
    [
        pytest.param(REVIEW_ALL, True, id="active-before-its-end"),
        pytest.param(replace(REVIEW_ALL, ends_at=None), True, id="active-without-an-end"),
        pytest.param(replace(REVIEW_ALL, ends_at=NOW), False, id="at-its-end"),
        pytest.param(replace(REVIEW_ALL, state=SanctionState.ENDED), False, id="ended"),
        pytest.param(replace(REVIEW_ALL, state=SanctionState.LIFTED), False, id="lifted"),
        pytest.param(replace(REVIEW_ALL, action=SanctionAction.SUSPEND), False, id="suspend"),
        pytest.param(replace(REVIEW_ALL, action=SanctionAction.NOTIFY), False, id="notify"),
        pytest.param(replace(REVIEW_ALL, action=SanctionAction.OTHER), False, id="unknown"),
    ],
)
def test_only_an_active_review_all_before_its_end_holds(sanction: Sanction, held: bool) -> None:
    assert sanction.holds_review(NOW) is held
    assert holds([sanction], NOW) == (sanction if held else None)


def test_any_one_holding_sanction_holds() -> None:
    ended = replace(REVIEW_ALL, sanction_id="s0", state=SanctionState.ENDED)
    assert holds([ended, REVIEW_ALL], NOW) == REVIEW_ALL
    assert holds([], NOW) is None


def submission(status: SubmissionStatus) -> Submission:
    return Submission(
        submission_id=uuid.uuid4(),
        task_id=uuid.uuid4(),
        client_id="acme",
        project_id="p1",
        contractor_id="ann",
        status=status,
        reward=Money("USD", 100),
        submitted_at=NOW - timedelta(days=60),
        auto_accept_at=NOW,
        rejected_at=NOW - timedelta(days=59) if status is SubmissionStatus.REJECTED else None,
        revert_until=NOW - timedelta(days=29) if status is SubmissionStatus.REJECTED else None,
        feedback="wrong",
    )


@pytest.mark.parametrize("by", [AcceptedBy.APPEAL, AcceptedBy.KEY_CORRECTION])
def test_a_ruling_accepts_a_rejection_past_its_revert_window_and_nothing_else(
    by: AcceptedBy,
) -> None:
    rejected = submission(SubmissionStatus.REJECTED)
    accepted = rejected.accept_by_ruling(by, note="fair", now=NOW)
    assert (accepted.status, accepted.accepted_by) == (SubmissionStatus.ACCEPTED, by)
    assert (accepted.accepted_at, accepted.reviewed_at, accepted.feedback) == (NOW, NOW, "fair")
    assert accepted.revert_until is None and accepted.rejected_at == rejected.rejected_at
    for status in (SubmissionStatus.PENDING_REVIEW, SubmissionStatus.ACCEPTED):
        other = submission(status)
        assert other.accept_by_ruling(by, note="fair", now=NOW) is other


def test_only_the_quality_services_rulings_accept_that_way() -> None:
    with pytest.raises(ValueError, match="not a ruling"):
        submission(SubmissionStatus.REJECTED).accept_by_ruling(AcceptedBy.CLIENT, note="", now=NOW)


def test_held_work_has_no_auto_accept_time_and_nothing_else_changes() -> None:
    pending = submission(SubmissionStatus.PENDING_REVIEW)
    assert pending.held_for_review() == replace(pending, auto_accept_at=None)
