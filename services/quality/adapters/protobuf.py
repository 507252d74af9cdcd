"""Quality domain <-> protobuf: review events in, scores and their changes out.

Events are mapped as they are; the domain's records check them (a bad id is
``InvalidArgument`` naming the event's field).
"""

from __future__ import annotations

from datetime import datetime

from crewline.protobuf import from_timestamp, timestamp
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.domain.reviews import ReviewedBy, ReviewOutcome
from quality.domain.scores import Measure, Score

_REVIEWED_BY = {
    events_pb2.ACCEPTED_BY_CLIENT: ReviewedBy.CLIENT,
    events_pb2.ACCEPTED_BY_AUTO_ACCEPT: ReviewedBy.AUTO_ACCEPT,
    events_pb2.ACCEPTED_BY_OVERRIDE: ReviewedBy.OVERRIDE,
}
_MEASURE_PB = {Measure.ACCEPTANCE_RATE: api.SCORE_MEASURE_ACCEPTANCE_RATE}


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
