"""Matcher domain <-> protobuf (API messages and events)."""

from __future__ import annotations

from crewline.protobuf import money_to_pb, timestamp
from crewline.v1 import contractor_admin_service_pb2 as admin_api
from crewline.v1 import events_pb2
from crewline.v1 import work_service_pb2 as api
from matcher.domain.contractors import Contractor, ContractorToken
from matcher.domain.model import Claim, ClaimStatus, OpenTask

_CLAIM_STATUS = {
    ClaimStatus.ACTIVE: api.CLAIM_STATUS_ACTIVE,
    ClaimStatus.SUBMITTED: api.CLAIM_STATUS_SUBMITTED,
}


def claim_to_pb(claim: Claim) -> api.Claim:
    return api.Claim(
        claim_id=str(claim.claim_id),
        task_id=str(claim.task_id),
        contractor_id=claim.contractor_id,
        status=_CLAIM_STATUS[claim.status],
        reward=money_to_pb(claim.reward),
        granted_at=timestamp(claim.granted_at),
    )


def open_task_to_pb(task: OpenTask) -> api.OpenTask:
    return api.OpenTask(
        task_id=str(task.task_id),
        project_id=task.project_id,
        free_slots=task.free_slots,
        reward=money_to_pb(task.reward),
        instructions=task.instructions,
    )


def claim_granted(claim: Claim) -> events_pb2.ClaimGranted:
    return events_pb2.ClaimGranted(
        claim_id=str(claim.claim_id),
        task_id=str(claim.task_id),
        contractor_id=claim.contractor_id,
        reward=money_to_pb(claim.reward),
        granted_at=timestamp(claim.granted_at),
    )


def work_submitted(claim: Claim, result: bytes) -> events_pb2.WorkSubmitted:
    assert claim.submitted_at is not None
    return events_pb2.WorkSubmitted(
        claim_id=str(claim.claim_id),
        task_id=str(claim.task_id),
        contractor_id=claim.contractor_id,
        reward=money_to_pb(claim.reward),
        result=result,
        submitted_at=timestamp(claim.submitted_at),
    )


def contractor_to_pb(contractor: Contractor) -> admin_api.Contractor:
    return admin_api.Contractor(
        contractor_id=contractor.contractor_id,
        display_name=contractor.display_name,
        created_at=timestamp(contractor.created_at),
    )


def token_to_pb(token: ContractorToken) -> admin_api.ContractorToken:
    pb = admin_api.ContractorToken(
        token_id=token.token_id,
        contractor_id=token.contractor_id,
        issued_at=timestamp(token.issued_at),
        expires_at=timestamp(token.expires_at),
    )
    if token.revoked_at is not None:
        pb.revoked_at.CopyFrom(timestamp(token.revoked_at))
    return pb


def contractor_created(contractor: Contractor) -> events_pb2.ContractorCreated:
    return events_pb2.ContractorCreated(
        contractor_id=contractor.contractor_id,
        display_name=contractor.display_name,
        created_at=timestamp(contractor.created_at),
    )


def token_revoked(token: ContractorToken) -> events_pb2.ContractorTokenRevoked:
    assert token.revoked_at is not None
    return events_pb2.ContractorTokenRevoked(
        token_id=token.token_id,
        contractor_id=token.contractor_id,
        expires_at=timestamp(token.expires_at),
        revoked_at=timestamp(token.revoked_at),
    )
