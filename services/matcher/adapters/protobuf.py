"""Matcher domain <-> protobuf (API messages and events)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime

from crewline.errors import InvalidArgument
from crewline.money import Money
from crewline.protobuf import (
    MEASURES,
    answer_spec_from_pb,
    from_timestamp,
    money_to_pb,
    pay_terms_from_pb,
    pay_terms_to_pb,
    request_time,
    requirement_from_pb,
    timestamp,
)
from crewline.v1 import claim_pb2, events_pb2, project_pb2
from crewline.v1 import work_service_pb2 as api
from matcher.adapters.answer_specs import spec_to_pb
from matcher.domain.claims import Claim
from matcher.domain.commands import MAX_SEGMENTS, WorkSegment
from matcher.domain.offers import Offer, WithdrawalReason
from matcher.domain.scores import MeasuredScore
from matcher.domain.statuses import ClaimStatus, EndReason, ProjectState, ReviewState, TaskLifecycle
from matcher.domain.tasks import Payload, ProjectTerms

# A project's claim timeout when its event predates the field (the dispatcher's default).
DEFAULT_CLAIM_TIMEOUT_SECONDS = 3600

_CLAIM_STATUS = {
    ClaimStatus.ACTIVE: api.CLAIM_STATUS_ACTIVE,
    ClaimStatus.SUBMITTED: api.CLAIM_STATUS_SUBMITTED,
    ClaimStatus.ENDED: api.CLAIM_STATUS_ENDED,
}
_STATUS_FILTER = {v: k for k, v in _CLAIM_STATUS.items()}

_END_REASON = {
    EndReason.SUBMITTED: claim_pb2.CLAIM_END_REASON_SUBMITTED,
    EndReason.RELEASED: claim_pb2.CLAIM_END_REASON_RELEASED,
    EndReason.EXPIRED: claim_pb2.CLAIM_END_REASON_EXPIRED,
    EndReason.TASK_CANCELLED: claim_pb2.CLAIM_END_REASON_TASK_CANCELLED,
    EndReason.TASK_EXPIRED: claim_pb2.CLAIM_END_REASON_TASK_EXPIRED,
    EndReason.PROJECT_PAUSED: claim_pb2.CLAIM_END_REASON_PROJECT_PAUSED,
    EndReason.PROJECT_CLOSED: claim_pb2.CLAIM_END_REASON_PROJECT_CLOSED,
}

_PROJECT_STATE = {
    project_pb2.PROJECT_STATE_UNSPECIFIED: ProjectState.ACTIVE,  # events before states
    project_pb2.PROJECT_STATE_ACTIVE: ProjectState.ACTIVE,
    project_pb2.PROJECT_STATE_PAUSED: ProjectState.PAUSED,
    project_pb2.PROJECT_STATE_CLOSED: ProjectState.CLOSED,
}

_LIFECYCLE = {
    events_pb2.TASK_LIFECYCLE_UNSPECIFIED: TaskLifecycle.LIVE,
    events_pb2.TASK_LIFECYCLE_LIVE: TaskLifecycle.LIVE,
    events_pb2.TASK_LIFECYCLE_CANCELLED: TaskLifecycle.CANCELLED,
    events_pb2.TASK_LIFECYCLE_EXPIRED: TaskLifecycle.EXPIRED,
}


_REVIEW = {
    ReviewState.PENDING: claim_pb2.REVIEW_STATE_PENDING,
    ReviewState.ACCEPTED: claim_pb2.REVIEW_STATE_ACCEPTED,
    ReviewState.REJECTED: claim_pb2.REVIEW_STATE_REJECTED,
}


def segments_from_pb(
    segments: Sequence[claim_pb2.WorkSegment],
) -> list[tuple[datetime | None, datetime | None]]:
    """A request's segments as (started_at, ended_at), None where unset; a timestamp out
    of range names its field. Too many are refused before any is read."""
    if len(segments) > MAX_SEGMENTS:
        raise InvalidArgument("segments", f"must be at most {MAX_SEGMENTS}")
    return [
        (
            request_time(s, "started_at", field=f"segments[{i}].started_at"),
            request_time(s, "ended_at", field=f"segments[{i}].ended_at"),
        )
        for i, s in enumerate(segments)
    ]


def segment_to_pb(segment: WorkSegment) -> claim_pb2.WorkSegment:
    return claim_pb2.WorkSegment(
        started_at=timestamp(segment.started_at), ended_at=timestamp(segment.ended_at)
    )


def status_filter(status: api.ClaimStatus.ValueType) -> ClaimStatus | None:
    """ListMyClaims' status filter: UNSPECIFIED means any."""
    if status == api.CLAIM_STATUS_UNSPECIFIED:
        return None
    if status not in _STATUS_FILTER:
        raise InvalidArgument("status", f"is not a claim status: {status}")
    return _STATUS_FILTER[status]


def lifecycle(value: events_pb2.TaskLifecycle.ValueType) -> TaskLifecycle:
    return _LIFECYCLE.get(value, TaskLifecycle.LIVE)


def claim_to_pb(claim: Claim, payload: Payload | None = None, instructions: str = "") -> api.Claim:
    """An unpaid claim (an unpaid exam's question) says so, and shows neither pay terms
    nor what it earned: nothing, in no currency its contractor is paid in."""
    pb = api.Claim(
        claim_id=str(claim.claim_id),
        task_id=str(claim.task_id),
        contractor_id=claim.contractor_id,
        status=_CLAIM_STATUS[claim.status],
        granted_at=timestamp(claim.granted_at),
        project_id=claim.project_id,
        project_title=claim.project_title,
        instructions=instructions,
        deadline_at=timestamp(claim.deadline_at),
        max_deadline_at=timestamp(claim.max_deadline_at),
        worked_seconds=claim.worked_seconds,
    )
    if claim.unpaid:
        pb.unpaid = True
    else:
        pb.pay_terms.CopyFrom(pay_terms_to_pb(claim.terms))
    if payload is not None and payload.json is not None:
        pb.payload_json = payload.json
    elif payload is not None and payload.data is not None:
        pb.payload_bytes = payload.data
    if claim.end_reason is not None:
        pb.end_reason = _END_REASON[claim.end_reason]
    if claim.ended_at is not None:
        pb.ended_at.CopyFrom(timestamp(claim.ended_at))
    if claim.cut is not None:
        pb.cut = _END_REASON[claim.cut]
    if claim.submitted_at is not None:
        if not claim.unpaid:
            pb.earned.CopyFrom(money_to_pb(claim.earned))
        pb.segments.extend(segment_to_pb(s) for s in claim.segments)
    if claim.review is not None:
        pb.review = _REVIEW[claim.review]
        pb.feedback = claim.feedback
    if claim.answer_spec is not None:  # no spec: the field is left out
        pb.answer_spec.CopyFrom(spec_to_pb(claim.answer_spec))  # built once per version
    return pb


_WITHDRAWAL = {
    WithdrawalReason.FILLED: api.WITHDRAWAL_REASON_FILLED,
    WithdrawalReason.CLAIMED_BY_YOU: api.WITHDRAWAL_REASON_CLAIMED_BY_YOU,
    WithdrawalReason.NOT_ELIGIBLE: api.WITHDRAWAL_REASON_NOT_ELIGIBLE,
    WithdrawalReason.CLOSED: api.WITHDRAWAL_REASON_CLOSED,
}


def offer_change(item: tuple[Offer, None] | tuple[uuid.UUID, WithdrawalReason]) -> api.OfferChange:
    """One queued change of an offer stream (``offer_hub.StreamItem``, not a Resync).
    Callers copy it into their message and never change it (an offer's is cached)."""
    if item[1] is None:
        offer = item[0]
        assert isinstance(offer, Offer)
        return _offered(offer)
    return api.OfferChange(
        withdrawn=api.OfferWithdrawn(task_id=str(item[0]), reason=_WITHDRAWAL[item[1]])
    )


@functools.lru_cache(maxsize=4096)
def _offered(offer: Offer) -> api.OfferChange:
    """Cached like ``offer_to_pb``: built once for the thousands of streams it goes to."""
    return api.OfferChange(offered=offer_to_pb(offer))


@functools.lru_cache(maxsize=4096)
def offer_to_pb(offer: Offer) -> api.Offer:
    """Cached: one new task is offered to thousands of streams as the same ``Offer``.
    Callers copy the message into theirs and never change it. An unpaid offer (an unpaid
    exam's question) says so and shows no pay terms."""
    pb = api.Offer(
        task_id=str(offer.task_id),
        project_id=offer.project_id,
        title=offer.title,
        instructions=offer.instructions,
        free_slots=offer.free_slots,
        priority=offer.priority,
        published_at=timestamp(offer.published_at),
    )
    if offer.unpaid:
        pb.unpaid = True
    else:
        pb.pay_terms.CopyFrom(pay_terms_to_pb(offer.terms))
    if offer.expires_at is not None:
        pb.expires_at.CopyFrom(timestamp(offer.expires_at))
    if offer.answer_spec is not None:  # no spec: the field is left out
        pb.answer_spec.CopyFrom(spec_to_pb(offer.answer_spec))
    return pb


def project_terms(project: project_pb2.Project) -> ProjectTerms:
    """Trusted data: a ProjectChanged event the dispatcher validated."""
    return ProjectTerms(
        project_id=project.project_id,
        client_id=project.client_id,
        revision=project.revision,
        title=project.title,
        instructions=project.instructions,
        requirements=tuple(requirement_from_pb(r) for r in project.requirements),
        priority=project.priority,
        max_claims_per_contractor=project.max_claims_per_contractor,
        terms=pay_terms_from_pb(project.pay_terms),
        updated_at=from_timestamp(project.updated_at),
        claim_timeout_seconds=int(project.claim_timeout_seconds) or DEFAULT_CLAIM_TIMEOUT_SECONDS,
        state=_PROJECT_STATE.get(project.state, ProjectState.ACTIVE),
        answer_spec=(
            answer_spec_from_pb(project.answer_spec)
            if project.HasField("answer_spec") and project.answer_spec.version > 0
            else None
        ),
    )


def claim_granted(claim: Claim) -> events_pb2.ClaimGranted:
    """``pay_terms``: the project's terms the claim was granted under, unpaid work's too
    (the event is built before the grant reads the task; the dispatcher knows unpaid work
    by its own record, and no consumer pays from this event)."""
    return events_pb2.ClaimGranted(
        claim_id=str(claim.claim_id),
        task_id=str(claim.task_id),
        contractor_id=claim.contractor_id,
        granted_at=timestamp(claim.granted_at),
        project_id=claim.project_id,
        pay_terms=pay_terms_to_pb(claim.terms),
        deadline_at=timestamp(claim.deadline_at),
        max_deadline_at=timestamp(claim.max_deadline_at),
        client_id=claim.client_id,
    )


def claim_extended(claim: Claim, *, at: datetime) -> events_pb2.ClaimExtended:
    return events_pb2.ClaimExtended(
        claim_id=str(claim.claim_id),
        task_id=str(claim.task_id),
        contractor_id=claim.contractor_id,
        deadline_at=timestamp(claim.deadline_at),
        worked_seconds=claim.worked_seconds,
        extended_at=timestamp(at),
    )


def claim_ended(claim: Claim, *, reoffered: bool) -> events_pb2.ClaimEnded:
    assert claim.end_reason is not None and claim.ended_at is not None
    return events_pb2.ClaimEnded(
        claim_id=str(claim.claim_id),
        task_id=str(claim.task_id),
        contractor_id=claim.contractor_id,
        project_id=claim.project_id,
        reason=_END_REASON[claim.end_reason],
        ended_at=timestamp(claim.ended_at),
        worked_seconds=claim.worked_seconds,
        reoffered=reoffered,
        client_id=claim.client_id,
    )


def claim_settled(claim: Claim, amount: Money) -> events_pb2.ClaimSettled:
    assert claim.cut is not None and claim.ended_at is not None
    return events_pb2.ClaimSettled(
        claim_id=str(claim.claim_id),
        task_id=str(claim.task_id),
        contractor_id=claim.contractor_id,
        project_id=claim.project_id,
        client_id=claim.client_id,
        amount=money_to_pb(amount),
        worked_seconds=claim.worked_seconds,
        pay_terms=pay_terms_to_pb(claim.terms),
        reason=_END_REASON[claim.cut],
        settled_at=timestamp(claim.ended_at),
    )


def work_submitted(claim: Claim, result: bytes) -> events_pb2.WorkSubmitted:
    """``reward`` is what the work earns when accepted (the frozen terms, the time worked):
    zero for unpaid work, as the dispatcher records it. ``pay_terms`` are the frozen
    terms, as ClaimGranted's."""
    assert claim.submitted_at is not None
    return events_pb2.WorkSubmitted(
        claim_id=str(claim.claim_id),
        task_id=str(claim.task_id),
        contractor_id=claim.contractor_id,
        reward=money_to_pb(claim.earned),
        result=result,
        submitted_at=timestamp(claim.submitted_at),
        project_id=claim.project_id,
        pay_terms=pay_terms_to_pb(claim.terms),
        worked_seconds=claim.worked_seconds,
        segments=[segment_to_pb(s) for s in claim.segments],
        granted_at=timestamp(claim.granted_at),
        client_id=claim.client_id,
    )


def measured_score(e: events_pb2.ScoreChanged) -> MeasuredScore:
    """A measure this matcher does not know is refused naming ``measure`` (dead-lettered,
    to replay once it does), as is any malformed field."""
    measure = MEASURES.get(e.measure)
    if measure is None:
        raise InvalidArgument("measure", f"is not a measure this matcher knows: {e.measure}")
    return MeasuredScore(
        contractor_id=e.contractor_id,
        project_id=e.project_id,
        measure=measure,
        value=e.value,
        version=e.version,
        changed_at=from_timestamp(e.changed_at),
    )
