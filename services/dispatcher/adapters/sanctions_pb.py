"""The quality service's SanctionChanged, AppealChanged and DisputeChanged -> the
dispatcher's domain, and the copies its clients' Watch shows.

A malformed event is refused naming its field (the consumer dead-letters it). A listed
submission id that is not a UUID is no submission of the dispatcher's: it is left out
here and skipped, as an unknown one is."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from crewline import validate
from crewline.errors import InvalidArgument
from crewline.protobuf import from_timestamp
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as quality
from dispatcher.domain.sanctions import (
    Appeal,
    AppealState,
    Dispute,
    DisputeState,
    Sanction,
    SanctionAction,
    SanctionState,
)

_ACTION = {
    quality.RULE_ACTION_SUSPEND: SanctionAction.SUSPEND,
    quality.RULE_ACTION_REVIEW_ALL: SanctionAction.REVIEW_ALL,
    quality.RULE_ACTION_NOTIFY: SanctionAction.NOTIFY,
}
_SANCTION_STATE = {
    quality.SANCTION_STATE_ACTIVE: SanctionState.ACTIVE,
    quality.SANCTION_STATE_ENDED: SanctionState.ENDED,
    quality.SANCTION_STATE_LIFTED: SanctionState.LIFTED,
}
_APPEAL_STATE = {
    quality.APPEAL_STATE_PENDING: AppealState.PENDING,
    quality.APPEAL_STATE_UPHELD: AppealState.UPHELD,
    quality.APPEAL_STATE_DENIED: AppealState.DENIED,
}
_DISPUTE_STATE = {
    quality.DISPUTE_STATE_OPEN: DisputeState.OPEN,
    quality.DISPUTE_STATE_CORRECTED: DisputeState.CORRECTED,
    quality.DISPUTE_STATE_DISMISSED: DisputeState.DISMISSED,
}


def sanction(event: events_pb2.SanctionChanged) -> Sanction:
    s = event.sanction
    if event.version <= 0:
        raise InvalidArgument("version", "must be at least 1")
    if s.state not in _SANCTION_STATE:
        raise InvalidArgument("sanction.state", "is not a sanction state")
    return Sanction(
        sanction_id=validate.identifier(s.sanction_id, field="sanction.sanction_id"),
        contractor_id=validate.identifier(s.contractor_id, field="sanction.contractor_id"),
        project_id=validate.identifier(s.project_id, field="sanction.project_id"),
        action=_ACTION.get(s.action, SanctionAction.OTHER),
        state=_SANCTION_STATE[s.state],
        ends_at=from_timestamp(s.ends_at) if s.HasField("ends_at") else None,
        version=event.version,
    )


def appeal(event: events_pb2.AppealChanged) -> Appeal:
    a = event.appeal
    if a.state not in _APPEAL_STATE:
        raise InvalidArgument("appeal.state", "is not an appeal state")
    return Appeal(
        appeal_id=validate.identifier(a.appeal_id, field="appeal.appeal_id"),
        contractor_id=validate.identifier(a.contractor_id, field="appeal.contractor_id"),
        project_id=validate.identifier(a.project_id, field="appeal.project_id"),
        state=_APPEAL_STATE[a.state],
        decision_note=a.decision_note,
        accepted_submission_ids=_submission_ids(a.accepted_submission_ids),
    )


def dispute(event: events_pb2.DisputeChanged) -> Dispute:
    d = event.dispute
    if d.state not in _DISPUTE_STATE:
        raise InvalidArgument("dispute.state", "is not a dispute state")
    return Dispute(
        dispute_id=validate.identifier(d.dispute_id, field="dispute.dispute_id"),
        contractor_id=validate.identifier(d.contractor_id, field="dispute.contractor_id"),
        project_id=validate.identifier(d.project_id, field="dispute.project_id"),
        state=_DISPUTE_STATE[d.state],
        resolution_note=d.resolution_note,
        accepted_submission_ids=_submission_ids(d.accepted_submission_ids),
    )


def _submission_ids(given: Iterable[str]) -> tuple[uuid.UUID, ...]:
    """Each listed submission once, in id order (the order they are locked in)."""
    return tuple(sorted({u for u in map(_uuid, given) if u is not None}))


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def watched_sanction(event: events_pb2.SanctionChanged) -> events_pb2.SanctionChanged:
    """The event as the client's Watch shows it: never with evidence (the quality service
    sends none in events; this holds even if one did)."""
    shown = events_pb2.SanctionChanged()
    shown.CopyFrom(event)
    shown.sanction.ClearField("evidence")
    return shown
