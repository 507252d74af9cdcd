"""Disputes: protobuf requests in, ``Dispute`` and ``DisputeChanged`` out. The gold task
a dispute names (gold_id) goes only to the project's client and operators: never to
the contractor, never into the event."""

from __future__ import annotations

from crewline.auth.principal import Principal
from crewline.errors import InvalidArgument
from crewline.protobuf import timestamp
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.adapters.protobuf import field_rules
from quality.domain import disputes
from quality.domain.disputes import (
    Correction,
    Dispute,
    DisputeState,
    FileDispute,
    ResolveDispute,
)

_STATE_PB = {
    DisputeState.OPEN: api.DISPUTE_STATE_OPEN,
    DisputeState.CORRECTED: api.DISPUTE_STATE_CORRECTED,
    DisputeState.DISMISSED: api.DISPUTE_STATE_DISMISSED,
}


def file_dispute(request: api.DisputeGoldKeyRequest, caller: Principal) -> FileDispute:
    return disputes.file_dispute(
        caller,
        idempotency_key=request.idempotency_key,
        task_id=request.task_id,
        note=request.note,
    )


def resolve_dispute(request: api.ResolveDisputeRequest, caller: Principal) -> ResolveDispute:
    which = request.WhichOneof("resolution")
    correction = None
    if which == "correct":
        correction = Correction(
            answer_json=request.correct.answer_json, rules=field_rules(request.correct.rules)
        )
    if which == "dismiss" and not request.dismiss:
        raise InvalidArgument("dismiss", "must be true to dismiss the dispute")
    return disputes.resolve_dispute(
        caller,
        dispute_id=request.dispute_id,
        correction=correction,
        dismiss=which == "dismiss",
        note=request.note,
    )


def state_filter(value: int, *, field: str = "state") -> DisputeState | None:
    """A request's state filter: UNSPECIFIED lets every state through."""
    if value == api.DISPUTE_STATE_UNSPECIFIED:
        return None
    for state, number in _STATE_PB.items():
        if number == value:
            return state
    raise InvalidArgument(field, f"{value} is not a dispute state")


def dispute_to_pb(dispute: Dispute, *, gold: bool) -> api.Dispute:
    """``gold``: whether the reader may know which gold task it is (the client, operators)."""
    pb = api.Dispute(
        dispute_id=str(dispute.dispute_id),
        contractor_id=dispute.contractor_id,
        project_id=dispute.project_id,
        client_id=dispute.client_id,
        task_id=dispute.task_id,
        note=dispute.note,
        state=_STATE_PB[dispute.state],
        filed_at=timestamp(dispute.filed_at),
        resolution_note=dispute.resolution_note,
        accepted_submission_ids=list(dispute.accepted_submission_ids),
        overturned_sanction_ids=list(dispute.overturned_sanction_ids),
    )
    if gold:
        pb.gold_id = str(dispute.gold_id)
    if dispute.resolved_at is not None:
        pb.resolved_at.CopyFrom(timestamp(dispute.resolved_at))
    return pb


def dispute_changed(dispute: Dispute) -> events_pb2.DisputeChanged:
    return events_pb2.DisputeChanged(dispute=dispute_to_pb(dispute, gold=False))
