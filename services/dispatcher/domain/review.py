"""Submissions and their review: accept, reject, override a rejection within the
revert window, and bonuses. Pure: no I/O, no protobuf.

A submission is PENDING_REVIEW until its client accepts or rejects it, or its
auto-accept delay passes; work stored with a time flag (``time_flags``) waits for its
client, however long, and so does work stored while a review-everything sanction
holds (``sanctions``). ACCEPTED is final. REJECTED may become ACCEPTED once, by an
override while ``now <= revert_until``, or at any time by the quality service's ruling
(an upheld appeal, a corrected gold key). Each
method returns the submission itself when the request repeats one already applied
(the caller then writes and announces nothing), a new one for a transition, or raises
the refusal.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from crewline import paging, validate
from crewline.errors import FailedPrecondition, InvalidArgument
from crewline.money import Money
from crewline.paging import PageCursor
from crewline.pay_terms import PayTerms
from dispatcher.domain.time_flags import TimeFlag

AUTO_ACCEPT = "auto_accept"  # the clock kind; its ref is the submission (claim) id
DAY = 24 * 3600
DEFAULT_REVERT_WINDOW = 30 * DAY  # Mechanical Turk's
MAX_FEEDBACK = 2000


class SubmissionStatus(enum.StrEnum):
    PENDING_REVIEW = "pending_review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class AcceptedBy(enum.StrEnum):
    CLIENT = "client"
    AUTO_ACCEPT = "auto_accept"  # the project's delay passed with no review
    OVERRIDE = "override"  # the client accepted work it had rejected
    APPEAL = "appeal"  # an upheld appeal turned the rejection into an acceptance
    KEY_CORRECTION = "key_correction"  # a corrected gold key did
    EXAM = "exam"  # an exam's question: accepted when handed in (the exam scores it)


# The acceptances the quality service's rulings make of rejected work.
QUALITY_RULINGS = frozenset({AcceptedBy.APPEAL, AcceptedBy.KEY_CORRECTION})


@dataclass(frozen=True, kw_only=True)
class Submission:
    """Work handed in for one claim (its id is the claim's), and its review."""

    submission_id: uuid.UUID
    task_id: uuid.UUID
    client_id: str
    project_id: str
    contractor_id: str
    status: SubmissionStatus
    reward: Money  # what the work earns when accepted (the claim's frozen terms)
    worked_seconds: int = 0
    pay_terms: PayTerms | None = None  # None for work from before projects
    granted_at: datetime | None = None
    submitted_at: datetime
    auto_accept_at: datetime | None = None
    reviewed_at: datetime | None = None
    accepted_by: AcceptedBy | None = None
    accepted_at: datetime | None = None
    feedback: str = ""
    rejected_at: datetime | None = None
    revert_until: datetime | None = None
    result: bytes | None = None  # None when not loaded
    flags: tuple[TimeFlag, ...] = ()  # set when stored, never changed
    unpaid: bool = False  # an unpaid exam's question: it earns nothing (reward zero)

    @property
    def cursor(self) -> PageCursor:
        return PageCursor(self.submitted_at, str(self.submission_id))

    def accept(self, *, feedback: str, override: bool, now: datetime) -> Submission:
        """The client accepts: pending work, or rejected work with ``override`` within
        the revert window. Accepted work is returned as it is, whatever the request."""
        match self.status:
            case SubmissionStatus.ACCEPTED:
                return self
            case SubmissionStatus.PENDING_REVIEW:
                return self._accepted(AcceptedBy.CLIENT, feedback=feedback, now=now)
        assert self.revert_until is not None, "a rejection has its window"
        window = {"revert_until": self.revert_until.isoformat()}
        if not override:
            raise FailedPrecondition(
                f"submission {self.submission_id} was rejected; set override_rejection to"
                " accept it within its revert window",
                reason="REJECTED",
                metadata=window,
            )
        if now > self.revert_until:
            raise FailedPrecondition(
                f"submission {self.submission_id}'s rejection can no longer be overridden",
                reason="REVERT_WINDOW_OVER",
                metadata=window,
            )
        return self._accepted(AcceptedBy.OVERRIDE, feedback=feedback, now=now)

    def flagged(self, flags: Sequence[TimeFlag]) -> Submission:
        """With its flags, if any: flagged work has no auto-accept time, as its client
        is to look at it (and nothing else changes: it may be accepted or rejected)."""
        if not flags:
            return self
        return replace(self, flags=tuple(flags), auto_accept_at=None)

    def held_for_review(self) -> Submission:
        """Stored while a review-everything sanction holds: no auto-accept time, so no
        clock is armed for it and it waits for its client, as flagged work does."""
        return replace(self, auto_accept_at=None)

    def for_exam(self, *, unpaid: bool) -> Submission:
        """Work on an exam's question, about to be stored: no auto-accept time (it is
        accepted at once, ``accept_by_exam``), and, for an unpaid exam, a zero reward."""
        if unpaid:
            return replace(
                self, auto_accept_at=None, unpaid=True, reward=Money(self.reward.currency, 0)
            )
        return replace(self, auto_accept_at=None)

    def accept_by_exam(self, *, now: datetime) -> Submission:
        """An exam's question is accepted when handed in: its client does not review it,
        the exam scores it. Anything but pending work is returned as it is."""
        if self.status is not SubmissionStatus.PENDING_REVIEW:
            return self
        return self._accepted(AcceptedBy.EXAM, feedback="", now=now)

    def accept_by_ruling(self, by: AcceptedBy, *, note: str, now: datetime) -> Submission:
        """The quality service ruled the rejection wrong (``by``: an upheld appeal, a
        corrected gold key): rejected work is accepted, whatever its revert window (the
        ruling came within the quality service's own windows). Anything else (pending or
        accepted work) is returned as it is: a ruling names rejections only."""
        if by not in QUALITY_RULINGS:  # a caller's mistake: other acceptances have rules
            raise ValueError(f"{by} is not a ruling of the quality service")
        if self.status is not SubmissionStatus.REJECTED:
            return self
        return self._accepted(by, feedback=note, now=now)

    def auto_accept(self, *, now: datetime) -> Submission:
        """The auto-accept delay passed: pending work is accepted; reviewed work stays,
        and so does flagged work (it has no such clock; this holds even if it had)."""
        if self.status is not SubmissionStatus.PENDING_REVIEW or self.flags:
            return self
        return self._accepted(AcceptedBy.AUTO_ACCEPT, feedback="", now=now)

    def reject(self, *, feedback: str, now: datetime, window_seconds: int) -> Submission:
        """The client rejects pending work; the same rejection again is returned as it is."""
        match self.status:
            case SubmissionStatus.ACCEPTED:
                raise FailedPrecondition(
                    f"submission {self.submission_id} was accepted and cannot be rejected",
                    reason="ALREADY_ACCEPTED",
                )
            case SubmissionStatus.REJECTED:
                if feedback != self.feedback:
                    raise FailedPrecondition(
                        f"submission {self.submission_id} was already rejected, with other"
                        " feedback",
                        reason="ALREADY_REJECTED",
                    )
                return self
        return replace(
            self,
            status=SubmissionStatus.REJECTED,
            feedback=feedback,
            reviewed_at=now,
            rejected_at=now,
            revert_until=now + timedelta(seconds=window_seconds),
        )

    def _accepted(self, by: AcceptedBy, *, feedback: str, now: datetime) -> Submission:
        # An override clears the window it used; rejected_at stays, for the record.
        return replace(
            self,
            status=SubmissionStatus.ACCEPTED,
            accepted_by=by,
            accepted_at=now,
            reviewed_at=now,
            feedback=feedback,
            revert_until=None,
        )


# --- commands ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AcceptSubmission:
    client_id: str
    submission_id: uuid.UUID
    feedback: str = ""
    override_rejection: bool = False


@dataclass(frozen=True, kw_only=True)
class RejectSubmission:
    client_id: str
    submission_id: uuid.UUID
    feedback: str


def accept_submission(
    *, client_id: str, submission_id: str, feedback: str, override_rejection: bool
) -> AcceptSubmission:
    return AcceptSubmission(
        client_id=validate.identifier(client_id, field="client_id"),
        submission_id=validate.uuid_id(submission_id, field="submission_id"),
        feedback=validate.text(feedback, field="feedback", max_length=MAX_FEEDBACK),
        override_rejection=override_rejection,
    )


def reject_submission(*, client_id: str, submission_id: str, feedback: str) -> RejectSubmission:
    return RejectSubmission(
        client_id=validate.identifier(client_id, field="client_id"),
        submission_id=validate.uuid_id(submission_id, field="submission_id"),
        feedback=required_text(feedback, field="feedback", max_length=MAX_FEEDBACK),
    )


def required_text(value: str, *, field: str, max_length: int) -> str:
    """Text the contractor reads: 1 to ``max_length`` characters, not only blanks."""
    if not value.strip():
        raise InvalidArgument(field, "is required")
    return validate.text(value, field=field, max_length=max_length)


# --- listing -------------------------------------------------------------------------------

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
# Results are up to 512 KiB each: a page stops before its results pass this, so that
# it fits a client's default 4 MiB message (it holds at least one submission).
MAX_PAGE_RESULT_BYTES = 3 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class ListSubmissions:
    """The client's submissions of a task or a project, oldest first, after ``after``."""

    client_id: str
    page_size: int
    task_id: uuid.UUID | None = None
    project_id: str | None = None
    status: SubmissionStatus | None = None
    flagged_only: bool = False
    after: PageCursor | None = None

    @property
    def after_submission_id(self) -> uuid.UUID | None:
        return None if self.after is None else uuid.UUID(self.after.id)

    def page(self, found: Sequence[Submission]) -> tuple[list[Submission], PageCursor | None]:
        """The page out of ``found`` (up to page_size + 1 rows) and the next one's start."""
        page: list[Submission] = []
        size = 0
        for sub in found[: self.page_size]:
            size += len(sub.result or b"")
            if page and size > MAX_PAGE_RESULT_BYTES:
                break
            page.append(sub)
        return page, (page[-1].cursor if len(found) > len(page) else None)


def list_submissions(
    *,
    client_id: str,
    task_id: str,
    project_id: str,
    status: SubmissionStatus | None,
    page_size: int,
    page_token: str,
    flagged_only: bool = False,
) -> ListSubmissions:
    if not task_id and not project_id:
        raise InvalidArgument("project_id", "set project_id or task_id")
    after = paging.cursor_of(page_token)
    if after is not None:
        validate.uuid_id(after.id, field="page_token")  # a submission list's holds a submission
    return ListSubmissions(
        client_id=validate.identifier(client_id, field="client_id"),
        page_size=paging.page_size(page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE),
        task_id=validate.uuid_id(task_id, field="task_id") if task_id else None,
        # Tasks from before projects may hold any identifier as their project id.
        project_id=validate.identifier(project_id, field="project_id") if project_id else None,
        status=status,
        flagged_only=flagged_only,
        after=after,
    )
