"""Rules and sanctions <-> protobuf: rules both ways, sanctions out (with their evidence
only for the sanction's readers, never in SanctionChanged), and time flags in."""

from __future__ import annotations

from datetime import datetime

from crewline.protobuf import from_timestamp, timestamp
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.domain.rules import Rule, RuleAction, RuleInput, RuleMeasure
from quality.domain.sanctions import EvidenceItem, Sanction, SanctionState
from quality.domain.submissions import FlagSeen

_MEASURES = {
    api.RULE_MEASURE_GOLD_ACCURACY: RuleMeasure.GOLD_ACCURACY,
    api.RULE_MEASURE_ACCEPTANCE_RATE: RuleMeasure.ACCEPTANCE_RATE,
    api.RULE_MEASURE_TIME_FLAG_SHARE: RuleMeasure.TIME_FLAG_SHARE,
}
_MEASURES_PB = {v: k for k, v in _MEASURES.items()}
_ACTIONS = {
    api.RULE_ACTION_SUSPEND: RuleAction.SUSPEND,
    api.RULE_ACTION_REVIEW_ALL: RuleAction.REVIEW_ALL,
    api.RULE_ACTION_NOTIFY: RuleAction.NOTIFY,
}
_ACTIONS_PB = {v: k for k, v in _ACTIONS.items()}
_STATES = {
    api.SANCTION_STATE_ACTIVE: SanctionState.ACTIVE,
    api.SANCTION_STATE_ENDED: SanctionState.ENDED,
    api.SANCTION_STATE_LIFTED: SanctionState.LIFTED,
}
_STATES_PB = {v: k for k, v in _STATES.items()}


def rule_input(r: api.QualityRule) -> RuleInput:
    """As sent: an unset or unknown measure or action is None, for the domain to name."""
    condition = r.WhichOneof("condition")
    return RuleInput(
        rule_id=r.rule_id,
        measure=_MEASURES.get(r.measure),
        below=r.below if condition == "below" else None,
        above=r.above if condition == "above" else None,
        min_sample=r.min_sample if r.HasField("min_sample") else None,
        action=_ACTIONS.get(r.action),
        duration=r.duration.ToTimedelta() if r.HasField("duration") else None,
    )


def rule_to_pb(rule: Rule) -> api.QualityRule:
    pb = api.QualityRule(
        rule_id=rule.rule_id,
        measure=_MEASURES_PB[rule.measure],
        min_sample=rule.min_sample,
        action=_ACTIONS_PB[rule.action],
    )
    if rule.below is not None:
        pb.below = rule.below
    if rule.above is not None:
        pb.above = rule.above
    if rule.duration is not None:
        pb.duration.FromTimedelta(rule.duration)
    return pb


def state_from_pb(state: int) -> SanctionState | None:
    """A list's state filter: UNSPECIFIED (or one not known) is any state."""
    found: SanctionState | None = _STATES.get(state)  # type: ignore[call-overload]
    return found


def sanction_to_pb(sanction: Sanction, *, evidence: bool) -> api.Sanction:
    s = sanction
    pb = api.Sanction(
        sanction_id=str(s.sanction_id),
        contractor_id=s.contractor_id,
        project_id=s.project_id,
        client_id=s.client_id,
        rule=rule_to_pb(s.rule),
        action=_ACTIONS_PB[s.action],
        measured_value=s.measured_value,
        sample=s.sample,
        state=_STATES_PB[s.state],
        imposed_at=timestamp(s.imposed_at),
    )
    if s.ends_at is not None:
        pb.ends_at.CopyFrom(timestamp(s.ends_at))
    if s.ended_at is not None:
        pb.ended_at.CopyFrom(timestamp(s.ended_at))
    if evidence:
        pb.evidence.extend(_evidence(e) for e in s.evidence)
    return pb


def sanction_changed(sanction: Sanction) -> events_pb2.SanctionChanged:
    """Without evidence: answers, keys and feedback never travel in an event."""
    return events_pb2.SanctionChanged(
        sanction=sanction_to_pb(sanction, evidence=False), version=sanction.version
    )


def _evidence(e: EvidenceItem) -> api.Evidence:
    pb = api.Evidence(
        task_id=e.task_id, submission_id=e.submission_id, submitted_at=timestamp(e.submitted_at)
    )
    if e.kind == "gold":
        gold = api.GoldEvidence(
            answer_json=e.answer_json or "",
            expected_json=e.expected_json or "",
            correct=bool(e.correct),
        )
        if e.payload_json is not None:
            gold.payload_json = e.payload_json
        elif e.payload_bytes is not None:
            gold.payload_bytes = e.payload_bytes
        pb.gold.CopyFrom(gold)
    elif e.kind == "review":
        pb.review.CopyFrom(api.ReviewEvidence(accepted=bool(e.accepted), feedback=e.feedback or ""))
    else:
        pb.flag.CopyFrom(api.FlagEvidence(flagged=bool(e.flagged)))
    return pb


def flag_seen(e: events_pb2.SubmissionFlagged, *, now: datetime) -> FlagSeen:
    return FlagSeen(
        submission_id=e.submission_id,
        task_id=e.task_id,
        contractor_id=e.contractor_id,
        project_id=e.project_id,
        client_id=e.client_id,
        flagged_at=from_timestamp(e.flagged_at) if e.HasField("flagged_at") else now,
    )
