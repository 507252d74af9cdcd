"""Appeals: protobuf requests in, ``Appeal`` and ``AppealChanged`` out."""

from __future__ import annotations

from crewline.auth.principal import Principal
from crewline.errors import InvalidArgument
from crewline.protobuf import timestamp
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.domain import appeals
from quality.domain.appeals import Appeal, AppealState, Decider, FileAppeal, SubjectKind

_STATE_PB = {
    AppealState.PENDING: api.APPEAL_STATE_PENDING,
    AppealState.UPHELD: api.APPEAL_STATE_UPHELD,
    AppealState.DENIED: api.APPEAL_STATE_DENIED,
}
_DECIDER_PB = {
    Decider.CLIENT: api.APPEAL_DECIDER_CLIENT,
    Decider.OPERATOR: api.APPEAL_DECIDER_OPERATOR,
    Decider.DEADLINE: api.APPEAL_DECIDER_DEADLINE,
}


def file_appeal(request: api.FileAppealRequest, caller: Principal) -> FileAppeal:
    which = request.WhichOneof("subject")
    return appeals.file_appeal(
        caller,
        idempotency_key=request.idempotency_key,
        sanction_id=request.sanction_id if which == "sanction_id" else None,
        submission_id=request.submission_id if which == "submission_id" else None,
        text=request.text,
    )


def state_filter(value: int, *, field: str = "state") -> AppealState | None:
    """A request's state filter: UNSPECIFIED lets every state through."""
    if value == api.APPEAL_STATE_UNSPECIFIED:
        return None
    for state, number in _STATE_PB.items():
        if number == value:
            return state
    raise InvalidArgument(field, f"{value} is not an appeal state")


def appeal_to_pb(appeal: Appeal) -> api.Appeal:
    pb = api.Appeal(
        appeal_id=str(appeal.appeal_id),
        contractor_id=appeal.contractor_id,
        project_id=appeal.project_id,
        client_id=appeal.client_id,
        text=appeal.text,
        state=_STATE_PB[appeal.state],
        filed_at=timestamp(appeal.filed_at),
        decide_by=timestamp(appeal.decide_by),
        decision_note=appeal.decision_note,
        accepted_submission_ids=list(appeal.accepted_submission_ids),
    )
    if appeal.subject.kind is SubjectKind.SANCTION:
        pb.sanction_id = appeal.subject.id
    else:
        pb.submission_id = appeal.subject.id
    if appeal.decided_at is not None:
        pb.decided_at.CopyFrom(timestamp(appeal.decided_at))
    if appeal.decided_by is not None:
        pb.decided_by = _DECIDER_PB[appeal.decided_by]
    return pb


def appeal_changed(appeal: Appeal) -> events_pb2.AppealChanged:
    return events_pb2.AppealChanged(appeal=appeal_to_pb(appeal))
