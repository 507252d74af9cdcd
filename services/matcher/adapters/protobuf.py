"""Matcher domain <-> protobuf (API messages and events)."""

from __future__ import annotations

import functools
import uuid

from crewline.protobuf import (
    from_timestamp,
    money_to_pb,
    pay_terms_from_pb,
    pay_terms_to_pb,
    requirement_from_pb,
    timestamp,
)
from crewline.v1 import events_pb2, project_pb2
from crewline.v1 import work_service_pb2 as api
from matcher.domain.model import (
    Claim,
    ClaimStatus,
    Offer,
    Payload,
    ProjectTerms,
    WithdrawalReason,
)

_CLAIM_STATUS = {
    ClaimStatus.ACTIVE: api.CLAIM_STATUS_ACTIVE,
    ClaimStatus.SUBMITTED: api.CLAIM_STATUS_SUBMITTED,
}


def claim_to_pb(claim: Claim, payload: Payload | None = None, instructions: str = "") -> api.Claim:
    pb = api.Claim(
        claim_id=str(claim.claim_id),
        task_id=str(claim.task_id),
        contractor_id=claim.contractor_id,
        status=_CLAIM_STATUS[claim.status],
        granted_at=timestamp(claim.granted_at),
        project_id=claim.project_id,
        pay_terms=pay_terms_to_pb(claim.terms),
        instructions=instructions,
    )
    if payload is not None and payload.json is not None:
        pb.payload_json = payload.json
    elif payload is not None and payload.data is not None:
        pb.payload_bytes = payload.data
    return pb


_WITHDRAWAL = {
    WithdrawalReason.FILLED: api.WITHDRAWAL_REASON_FILLED,
    WithdrawalReason.CLAIMED_BY_YOU: api.WITHDRAWAL_REASON_CLAIMED_BY_YOU,
    WithdrawalReason.NOT_ELIGIBLE: api.WITHDRAWAL_REASON_NOT_ELIGIBLE,
    WithdrawalReason.CLOSED: api.WITHDRAWAL_REASON_CLOSED,
}


def withdrawal_to_pb(reason: WithdrawalReason) -> api.WithdrawalReason.ValueType:
    return _WITHDRAWAL[reason]


def offer_change(item: tuple[Offer, None] | tuple[uuid.UUID, WithdrawalReason]) -> api.OfferChange:
    """One queued change of an offer stream (``offer_hub.StreamItem``, not a Resync)."""
    if item[1] is None:
        offer = item[0]
        assert isinstance(offer, Offer)
        return api.OfferChange(offered=offer_to_pb(offer))
    return api.OfferChange(
        withdrawn=api.OfferWithdrawn(task_id=str(item[0]), reason=_WITHDRAWAL[item[1]])
    )


@functools.lru_cache(maxsize=4096)
def offer_to_pb(offer: Offer) -> api.Offer:
    """Cached: one new task is offered to thousands of streams as the same ``Offer``.
    Callers copy the message into theirs and never change it."""
    pb = api.Offer(
        task_id=str(offer.task_id),
        project_id=offer.project_id,
        title=offer.title,
        instructions=offer.instructions,
        pay_terms=pay_terms_to_pb(offer.terms),
        free_slots=offer.free_slots,
        priority=offer.priority,
        published_at=timestamp(offer.published_at),
    )
    if offer.expires_at is not None:
        pb.expires_at.CopyFrom(timestamp(offer.expires_at))
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
    )


def claim_granted(claim: Claim) -> events_pb2.ClaimGranted:
    return events_pb2.ClaimGranted(
        claim_id=str(claim.claim_id),
        task_id=str(claim.task_id),
        contractor_id=claim.contractor_id,
        granted_at=timestamp(claim.granted_at),
        project_id=claim.project_id,
        pay_terms=pay_terms_to_pb(claim.terms),
    )


def work_submitted(claim: Claim, result: bytes) -> events_pb2.WorkSubmitted:
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
    )
