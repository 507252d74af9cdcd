"""Contractors, tokens, qualifications and blocks <-> protobuf (API messages and events)."""

from __future__ import annotations

from crewline.protobuf import KINDS, kind_to_pb, timestamp
from crewline.qualifications import Kind, Value
from crewline.v1 import contractor_admin_service_pb2 as admin_api
from crewline.v1 import events_pb2, project_pb2
from matcher.domain.blocks import Block
from matcher.domain.contractor_list import ListedContractor
from matcher.domain.contractors import Contractor, ContractorToken
from matcher.domain.qualifications import Change, Held, HistoryEntry, QualificationType

_CHANGES = {
    Change.GRANTED: admin_api.QUALIFICATION_CHANGE_GRANTED,
    Change.UPDATED: admin_api.QUALIFICATION_CHANGE_UPDATED,
    Change.REVOKED: admin_api.QUALIFICATION_CHANGE_REVOKED,
}


def kind_from_pb(kind: project_pb2.QualificationKind.ValueType) -> Kind | None:
    """None for UNSPECIFIED (or a value this build does not know)."""
    return KINDS.get(kind)


def contractor_to_pb(contractor: Contractor) -> admin_api.Contractor:
    return admin_api.Contractor(
        contractor_id=contractor.contractor_id,
        display_name=contractor.display_name,
        created_at=timestamp(contractor.created_at),
        domains=contractor.domains,
        languages=contractor.languages,
        locale=contractor.locale,
        max_concurrent_claims=contractor.max_concurrent_claims,
        referred_by=contractor.referred_by or "",
        active=contractor.active,
        updated_at=timestamp(contractor.updated_at),
        revision=contractor.revision,
    )


def listed_contractor_to_pb(listed: ListedContractor) -> admin_api.ListedContractor:
    return admin_api.ListedContractor(
        contractor=contractor_to_pb(listed.contractor),
        blocked=listed.blocked,
        blocked_everywhere=listed.blocked_everywhere,
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


def qualification_type_to_pb(qtype: QualificationType) -> admin_api.QualificationType:
    return admin_api.QualificationType(
        name=qtype.name,
        kind=kind_to_pb(qtype.kind),
        description=qtype.description,
        created_at=timestamp(qtype.created_at),
        client_id=qtype.client_id or "",
    )


def _score_text(value: Value) -> tuple[int, str]:
    return (value, "") if isinstance(value, int) else (0, value or "")


def held_to_pb(held: Held) -> admin_api.Qualification:
    score, text = _score_text(held.value)
    return admin_api.Qualification(
        contractor_id=held.contractor_id,
        qualification=held.qualification,
        kind=kind_to_pb(held.kind),
        score=score,
        text=text,
        granted_at=timestamp(held.granted_at),
        updated_at=timestamp(held.updated_at),
    )


def history_entry_to_pb(entry: HistoryEntry) -> admin_api.QualificationHistoryEntry:
    score, text = _score_text(entry.value)
    return admin_api.QualificationHistoryEntry(
        qualification=entry.qualification,
        change=_CHANGES[entry.change],
        score=score,
        text=text,
        reason=entry.reason,
        changed_at=timestamp(entry.changed_at),
    )


def block_to_pb(block: Block) -> admin_api.Block:
    pb = admin_api.Block(
        block_id=block.block_id,
        contractor_id=block.contractor_id,
        project_id=block.project_id or "",
        reason=block.reason,
        blocked_at=timestamp(block.blocked_at),
    )
    if block.lifted_at is not None:
        pb.lifted_at.CopyFrom(timestamp(block.lifted_at))
    return pb


# --- events ---------------------------------------------------------------------------


def contractor_created(contractor: Contractor) -> events_pb2.ContractorCreated:
    return events_pb2.ContractorCreated(
        contractor_id=contractor.contractor_id,
        display_name=contractor.display_name,
        created_at=timestamp(contractor.created_at),
    )


def contractor_changed(contractor: Contractor) -> events_pb2.ContractorChanged:
    return events_pb2.ContractorChanged(contractor=contractor_to_pb(contractor))


def token_revoked(token: ContractorToken) -> events_pb2.ContractorTokenRevoked:
    assert token.revoked_at is not None
    return events_pb2.ContractorTokenRevoked(
        token_id=token.token_id,
        contractor_id=token.contractor_id,
        expires_at=timestamp(token.expires_at),
        revoked_at=timestamp(token.revoked_at),
    )


def qualification_type_defined(qtype: QualificationType) -> events_pb2.QualificationTypeDefined:
    return events_pb2.QualificationTypeDefined(qualification_type=qualification_type_to_pb(qtype))


def qualification_changed(entry: HistoryEntry) -> events_pb2.QualificationChanged:
    return events_pb2.QualificationChanged(
        contractor_id=entry.contractor_id, entry=history_entry_to_pb(entry)
    )


def block_changed(block: Block) -> events_pb2.BlockChanged:
    return events_pb2.BlockChanged(block=block_to_pb(block))
