"""Quality domain <-> protobuf: review, project and claim events in, scores and their
changes out, gold tasks and policies both ways.

Events are mapped as they are; the domain's records check them (a bad id is
``InvalidArgument`` naming the event's field).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from crewline.protobuf import answer_spec_from_pb, from_timestamp, timestamp
from crewline.v1 import events_pb2, project_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.adapters.protobuf_rules import rule_to_pb
from quality.domain.claims import ClaimOver, ClaimStarted, WorkHandedIn
from quality.domain.gold import GoldInput, GoldTask
from quality.domain.gold_keys import FieldRule
from quality.domain.issuing import GoldIssue, QualityPolicy
from quality.domain.projects import Project, ProjectState
from quality.domain.reviews import ReviewedBy, ReviewOutcome
from quality.domain.scores import Measure, Score

_REVIEWED_BY = {
    events_pb2.ACCEPTED_BY_CLIENT: ReviewedBy.CLIENT,
    events_pb2.ACCEPTED_BY_AUTO_ACCEPT: ReviewedBy.AUTO_ACCEPT,
    events_pb2.ACCEPTED_BY_OVERRIDE: ReviewedBy.OVERRIDE,
    # An upheld appeal turns a rejection into an acceptance, as an override does.
    events_pb2.ACCEPTED_BY_APPEAL: ReviewedBy.OVERRIDE,
    # So does a corrected gold key.
    events_pb2.ACCEPTED_BY_KEY_CORRECTION: ReviewedBy.OVERRIDE,
}
_MEASURE_PB = {
    Measure.ACCEPTANCE_RATE: api.SCORE_MEASURE_ACCEPTANCE_RATE,
    Measure.GOLD_ACCURACY: api.SCORE_MEASURE_GOLD_ACCURACY,
}
_PROJECT_STATE = {
    project_pb2.PROJECT_STATE_ACTIVE: ProjectState.ACTIVE,
    project_pb2.PROJECT_STATE_PAUSED: ProjectState.PAUSED,
    project_pb2.PROJECT_STATE_CLOSED: ProjectState.CLOSED,
}


def accepted(e: events_pb2.SubmissionAccepted, *, now: datetime) -> ReviewOutcome:
    """``now`` stands in for an acceptance time the event lacks."""
    return ReviewOutcome(
        submission_id=e.submission_id,
        task_id=e.task_id,
        contractor_id=e.contractor_id,
        client_id=e.client_id,
        project_id=e.project_id,
        accepted=True,
        reviewed_by=_REVIEWED_BY.get(e.accepted_by, ReviewedBy.UNSPECIFIED),
        reviewed_at=from_timestamp(e.accepted_at) if e.HasField("accepted_at") else now,
    )


def rejected(e: events_pb2.SubmissionRejected, *, now: datetime) -> ReviewOutcome:
    return ReviewOutcome(
        submission_id=e.submission_id,
        task_id=e.task_id,
        contractor_id=e.contractor_id,
        client_id=e.client_id,
        project_id=e.project_id,
        accepted=False,
        reviewed_by=ReviewedBy.CLIENT,
        reviewed_at=from_timestamp(e.rejected_at) if e.HasField("rejected_at") else now,
    )


def feedback(e: events_pb2.SubmissionAccepted | events_pb2.SubmissionRejected) -> str:
    """The client's note on a review, kept as evidence (never logged)."""
    return e.feedback


def score_to_pb(score: Score) -> api.Score:
    return api.Score(
        contractor_id=score.contractor_id,
        project_id=score.project_id,
        measure=_MEASURE_PB[score.measure],
        value=score.value,
        accepted=score.accepted,
        reviewed=score.reviewed,
        window=score.window,
        updated_at=timestamp(score.updated_at),
    )


def score_changed(score: Score, *, version: int) -> events_pb2.ScoreChanged:
    return events_pb2.ScoreChanged(
        contractor_id=score.contractor_id,
        project_id=score.project_id,
        client_id=score.client_id,
        measure=_MEASURE_PB[score.measure],
        value=score.value,
        accepted=score.accepted,
        reviewed=score.reviewed,
        window=score.window,
        changed_at=timestamp(score.updated_at),
        version=version,
    )


def project(e: events_pb2.ProjectChanged) -> Project:
    """Trusted data: the dispatcher validated the project (a spec with no fields is a
    removed one)."""
    p = e.project
    spec = answer_spec_from_pb(p.answer_spec) if p.HasField("answer_spec") else None
    return Project(
        project_id=p.project_id,
        client_id=p.client_id,
        revision=p.revision,
        state=_PROJECT_STATE.get(p.state, ProjectState.ACTIVE),
        task_lifetime_seconds=p.task_lifetime_seconds,
        answer_spec=spec if spec is not None and spec.fields else None,
        answer_spec_version=spec.version if spec is not None else 0,
    )


def claim_started(e: events_pb2.ClaimGranted) -> ClaimStarted:
    return ClaimStarted(
        claim_id=e.claim_id,
        task_id=e.task_id,
        contractor_id=e.contractor_id,
        project_id=e.project_id,
        client_id=e.client_id,
    )


def claim_ended(e: events_pb2.ClaimEnded, *, now: datetime) -> ClaimOver:
    return ClaimOver(
        claim_id=e.claim_id,
        task_id=e.task_id,
        contractor_id=e.contractor_id,
        at=from_timestamp(e.ended_at) if e.HasField("ended_at") else now,
    )


def work_handed_in(e: events_pb2.WorkSubmitted, *, now: datetime) -> WorkHandedIn:
    return WorkHandedIn(
        claim_id=e.claim_id,
        task_id=e.task_id,
        contractor_id=e.contractor_id,
        project_id=e.project_id,
        client_id=e.client_id,
        submitted_at=from_timestamp(e.submitted_at) if e.HasField("submitted_at") else now,
        result=e.result,
    )


def gold_issued(issue: GoldIssue) -> events_pb2.GoldIssued:
    """The payload only: the key stays here."""
    event = events_pb2.GoldIssued(
        task_id=issue.task_id,
        project_id=issue.project_id,
        client_id=issue.client_id,
        contractor_id=issue.contractor_id,
        issued_at=timestamp(issue.issued_at),
        needs_review=issue.needs_review,
    )
    if issue.payload_json is not None:
        event.payload_json = issue.payload_json
    else:
        event.payload_bytes = issue.payload_bytes or b""
    return event


def gold_input(g: api.GoldTask) -> GoldInput:
    which = g.WhichOneof("payload")
    return GoldInput(
        idempotency_key=g.idempotency_key,
        payload_json=g.payload_json if which == "payload_json" else None,
        payload_bytes=g.payload_bytes if which == "payload_bytes" else None,
        answer_json=g.answer_json,
        rules=field_rules(g.rules),
        project_id=g.project_id,
    )


def field_rules(rules: Iterable[api.GoldFieldRule]) -> tuple[FieldRule, ...]:
    """A key's rules as sent (AddGoldTasks, a corrected key)."""
    return tuple(
        FieldRule(field=r.field, also_accepted=tuple(r.also_accepted), tolerance=r.tolerance)
        for r in rules
    )


def gold_to_pb(gold: GoldTask) -> api.GoldTask:
    pb = api.GoldTask(
        gold_id=str(gold.gold_id),
        project_id=gold.project_id,
        idempotency_key=gold.idempotency_key,
        answer_json=gold.answer_json,
        rules=[
            api.GoldFieldRule(
                field=r.field, also_accepted=list(r.also_accepted), tolerance=r.tolerance
            )
            for r in gold.rules
        ],
        answered=gold.answered,
        correct=gold.correct,
        created_at=timestamp(gold.created_at),
    )
    if gold.payload_json is not None:
        pb.payload_json = gold.payload_json
    else:
        pb.payload_bytes = gold.payload_bytes or b""
    return pb


def policy_to_pb(policy: QualityPolicy) -> api.QualityPolicy:
    return api.QualityPolicy(
        project_id=policy.project_id,
        gold_share_percent=policy.gold_share_percent,
        rules=[rule_to_pb(r) for r in policy.rules],
    )
