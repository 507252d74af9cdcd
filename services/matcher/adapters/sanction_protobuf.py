"""The quality service's SanctionChanged -> the matcher's domain."""

from __future__ import annotations

from crewline.errors import InvalidArgument
from crewline.protobuf import from_timestamp
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from matcher.domain.suspensions import Suspension, SuspensionState

_STATES = {
    quality_api.SANCTION_STATE_ACTIVE: SuspensionState.ACTIVE,
    quality_api.SANCTION_STATE_ENDED: SuspensionState.ENDED,
    quality_api.SANCTION_STATE_LIFTED: SuspensionState.LIFTED,
}


def suspends(e: events_pb2.SanctionChanged) -> bool:
    """Whether the sanction is a suspension: the only action the matcher enforces
    (review-everything is the dispatcher's, a notice changes nothing)."""
    return e.sanction.action == quality_api.RULE_ACTION_SUSPEND


def suspension(e: events_pb2.SanctionChanged) -> Suspension:
    """A state this matcher does not know is refused naming ``sanction.state``
    (dead-lettered, to replay once it does), as is any malformed field."""
    s = e.sanction
    state = _STATES.get(s.state)
    if state is None:
        raise InvalidArgument("sanction.state", f"is not a state this matcher knows: {s.state}")
    return Suspension(
        sanction_id=s.sanction_id,
        contractor_id=s.contractor_id,
        project_id=s.project_id,
        rule_id=s.rule.rule_id,
        state=state,
        ends_at=from_timestamp(s.ends_at) if s.HasField("ends_at") else None,
        version=e.version,
    )
