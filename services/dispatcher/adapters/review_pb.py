"""Submissions, reviews and bonuses <-> protobuf: the review requests, the Submission
message clients read, and the events the ledger and the matcher consume."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crewline.errors import InvalidArgument
from crewline.protobuf import money_to_pb, pay_terms_to_pb, timestamp
from crewline.v1 import client_admin_service_pb2 as admin_api
from crewline.v1 import events_pb2
from crewline.v1 import task_service_pb2 as api
from dispatcher.domain import bonuses, review
from dispatcher.domain.bonuses import Bonus, ListedBonus
from dispatcher.domain.review import AcceptedBy, Submission, SubmissionStatus
from dispatcher.domain.time_flags import FlagKind, TimeFlag

_STATUS = {
    SubmissionStatus.PENDING_REVIEW: api.SUBMISSION_STATUS_PENDING_REVIEW,
    SubmissionStatus.ACCEPTED: api.SUBMISSION_STATUS_ACCEPTED,
    SubmissionStatus.REJECTED: api.SUBMISSION_STATUS_REJECTED,
}
_STATUS_FROM_PB = {v: k for k, v in _STATUS.items()}
_FLAG_KIND = {
    FlagKind.FAST: events_pb2.FLAG_KIND_FAST,
    FlagKind.IMPLAUSIBLE_TIME: events_pb2.FLAG_KIND_IMPLAUSIBLE_TIME,
}
_ACCEPTED_BY = {
    AcceptedBy.CLIENT: events_pb2.ACCEPTED_BY_CLIENT,
    AcceptedBy.AUTO_ACCEPT: events_pb2.ACCEPTED_BY_AUTO_ACCEPT,
    AcceptedBy.OVERRIDE: events_pb2.ACCEPTED_BY_OVERRIDE,
    AcceptedBy.APPEAL: events_pb2.ACCEPTED_BY_APPEAL,
    AcceptedBy.KEY_CORRECTION: events_pb2.ACCEPTED_BY_KEY_CORRECTION,
    AcceptedBy.EXAM: events_pb2.ACCEPTED_BY_EXAM,
}


# --- requests ------------------------------------------------------------------------------


def list_submissions_query(
    req: api.ListSubmissionsRequest, *, client_id: str
) -> review.ListSubmissions:
    if req.status and req.status not in _STATUS_FROM_PB:
        raise InvalidArgument("status", "is not a submission status")
    return review.list_submissions(
        client_id=client_id,
        task_id=req.task_id,
        project_id=req.project_id,
        status=_STATUS_FROM_PB.get(req.status),
        page_size=req.page_size,
        page_token=req.page_token,
        flagged_only=req.flagged_only,
    )


def accept_command(req: api.AcceptSubmissionRequest, *, client_id: str) -> review.AcceptSubmission:
    return review.accept_submission(
        client_id=client_id,
        submission_id=req.submission_id,
        feedback=req.feedback,
        override_rejection=req.override_rejection,
    )


def reject_command(req: api.RejectSubmissionRequest, *, client_id: str) -> review.RejectSubmission:
    return review.reject_submission(
        client_id=client_id, submission_id=req.submission_id, feedback=req.feedback
    )


def grant_bonus_command(req: api.GrantBonusRequest, *, client_id: str) -> bonuses.GrantBonus:
    return bonuses.grant_bonus(
        client_id=client_id,
        submission_id=req.submission_id,
        idempotency_key=req.idempotency_key,
        currency=req.amount.currency_code,
        amount_minor=req.amount.amount_minor,
        reason=req.reason,
    )


# --- what clients read ---------------------------------------------------------------------


def submission_to_pb(sub: Submission, bonuses: Sequence[Bonus] = ()) -> api.Submission:
    """The submission as its client sees it; its result only when it was read."""
    pb = api.Submission(
        submission_id=str(sub.submission_id),
        contractor_id=sub.contractor_id,
        status=_STATUS[sub.status],
        submitted_at=timestamp(sub.submitted_at),
        task_id=str(sub.task_id),
        project_id=sub.project_id,
        earned=money_to_pb(sub.reward),
        worked_seconds=sub.worked_seconds,
        feedback=sub.feedback,
        bonuses=[bonus_to_pb(b) for b in bonuses],
        flags=[flag_to_pb(f) for f in sub.flags],
    )
    if sub.result is not None:
        pb.result = sub.result
    if sub.reviewed_at is not None:
        pb.reviewed_at.CopyFrom(timestamp(sub.reviewed_at))
    if sub.accepted_by is not None:
        pb.accepted_by = _ACCEPTED_BY[sub.accepted_by]
    if sub.status is SubmissionStatus.REJECTED and sub.revert_until is not None:
        pb.revert_until.CopyFrom(timestamp(sub.revert_until))
    if sub.status is SubmissionStatus.PENDING_REVIEW and sub.auto_accept_at is not None:
        pb.auto_accept_at.CopyFrom(timestamp(sub.auto_accept_at))
    return pb


def flag_to_pb(flag: TimeFlag) -> events_pb2.ReviewFlag:
    return events_pb2.ReviewFlag(
        kind=_FLAG_KIND[flag.kind],
        evidence=flag.evidence,
        worked_seconds=flag.worked_seconds,
        median_seconds=flag.median_seconds,
        mad_seconds=flag.mad_seconds,
        scale_seconds=flag.scale_seconds,
        z_score=flag.z_score,
        sample_size=flag.sample_size,
        overlap_seconds=flag.overlap_seconds,
        overlapping_claims=flag.overlapping_claims,
    )


def bonus_to_pb(bonus: Bonus) -> api.Bonus:
    return api.Bonus(
        bonus_id=str(bonus.bonus_id),
        idempotency_key=bonus.idempotency_key,
        amount=money_to_pb(bonus.amount),
        reason=bonus.reason,
        granted_at=timestamp(bonus.granted_at),
    )


def listed_bonus_to_pb(listed: ListedBonus) -> admin_api.ListedBonus:
    return admin_api.ListedBonus(
        bonus=bonus_to_pb(listed.bonus),
        submission_id=str(listed.bonus.submission_id),
        task_id=str(listed.task_id),
        project_id=listed.project_id,
        client_id=listed.bonus.client_id,
        contractor_id=listed.contractor_id,
    )


# --- events --------------------------------------------------------------------------------


def submission_accepted(sub: Submission) -> events_pb2.SubmissionAccepted:
    """Accepted work, to be paid once: what it earned and what that was computed on."""
    assert sub.accepted_by is not None and sub.accepted_at is not None
    pb = events_pb2.SubmissionAccepted(
        submission_id=str(sub.submission_id),
        task_id=str(sub.task_id),
        contractor_id=sub.contractor_id,
        client_id=sub.client_id,
        reward=money_to_pb(sub.reward),
        accepted_by=_ACCEPTED_BY[sub.accepted_by],
        accepted_at=timestamp(sub.accepted_at),
        project_id=sub.project_id,
        worked_seconds=sub.worked_seconds,
        submitted_at=timestamp(sub.submitted_at),
        feedback=sub.feedback or "",
        unpaid=sub.unpaid,
    )
    if sub.pay_terms is not None:
        pb.pay_terms.CopyFrom(pay_terms_to_pb(sub.pay_terms))
    if sub.granted_at is not None:
        pb.granted_at.CopyFrom(timestamp(sub.granted_at))
    return pb


def submission_flagged(sub: Submission, *, at: datetime) -> events_pb2.SubmissionFlagged:
    """Work stored with time flags: for whoever counts them per contractor."""
    return events_pb2.SubmissionFlagged(
        submission_id=str(sub.submission_id),
        task_id=str(sub.task_id),
        project_id=sub.project_id,
        client_id=sub.client_id,
        contractor_id=sub.contractor_id,
        flags=[flag_to_pb(f) for f in sub.flags],
        flagged_at=timestamp(at),
    )


def submission_rejected(sub: Submission) -> events_pb2.SubmissionRejected:
    assert sub.rejected_at is not None and sub.revert_until is not None
    return events_pb2.SubmissionRejected(
        submission_id=str(sub.submission_id),
        task_id=str(sub.task_id),
        contractor_id=sub.contractor_id,
        client_id=sub.client_id,
        project_id=sub.project_id,
        feedback=sub.feedback,
        rejected_at=timestamp(sub.rejected_at),
        revert_until=timestamp(sub.revert_until),
    )


def bonus_granted(bonus: Bonus, sub: Submission) -> events_pb2.BonusGranted:
    return events_pb2.BonusGranted(
        bonus_id=str(bonus.bonus_id),
        submission_id=str(sub.submission_id),
        task_id=str(sub.task_id),
        contractor_id=sub.contractor_id,
        client_id=sub.client_id,
        project_id=sub.project_id,
        amount=money_to_pb(bonus.amount),
        reason=bonus.reason,
        granted_at=timestamp(bonus.granted_at),
    )
