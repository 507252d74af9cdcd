"""What the quality service does with the reviews it consumes.

Each handler runs in the consumer's transaction (the kernel's inbox drops a
redelivered event). The merge in ``adapters.scores.record`` makes a review count once
on its own too: a second copy, under any event id, in any order, changes nothing.
A score whose value changes publishes ScoreChanged through the outbox, in the same
transaction, for the matcher to route work by (docs/quality.md, "Scores that route work").
"""

from __future__ import annotations

import asyncpg

from crewline.consumer import EventContext
from crewline.log import get_logger
from crewline.v1 import events_pb2
from quality.adapters import protobuf as pb
from quality.adapters import scores
from quality.deps import Deps
from quality.domain.reviews import ReviewOutcome
from quality.domain.scores import Score, acceptance_tally

log = get_logger(__name__)


async def on_submission_accepted(
    conn: asyncpg.Connection,
    event: events_pb2.SubmissionAccepted,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    """However it was accepted; an override replaces the submission's rejection."""
    await review(conn, pb.accepted(event, now=deps.clock.now()), deps)


async def on_submission_rejected(
    conn: asyncpg.Connection,
    event: events_pb2.SubmissionRejected,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    await review(conn, pb.rejected(event, now=deps.clock.now()), deps)


async def review(conn: asyncpg.Connection, outcome: ReviewOutcome, deps: Deps) -> None:
    """Record the outcome and recount the contractor's acceptance rate in the project."""
    await scores.lock_window(conn, outcome.contractor_id, outcome.project_id)
    if not await scores.record(conn, outcome):
        log.info("review_already_known", submission_id=outcome.submission_id)
        return
    deps.metrics.reviewed(outcome.kind)
    window = deps.settings.score_window
    latest = await scores.latest(conn, outcome.contractor_id, outcome.project_id, limit=window)
    score = Score.of(
        acceptance_tally(latest, window=window),
        contractor_id=outcome.contractor_id,
        project_id=outcome.project_id,
        client_id=outcome.client_id,
        updated_at=deps.clock.now(),
    )
    saved = await scores.save(conn, score)
    if saved is None:
        return
    deps.metrics.score_changed(score.measure)
    log.info(
        "score_changed",
        measure=score.measure.value,
        value=score.value,
        accepted=score.accepted,
        reviewed=score.reviewed,
        version=saved.version,
    )
    if saved.new_value:
        # Only a new value routes work differently: the matcher re-evaluates eligibility.
        await deps.publisher.publish(conn, pb.score_changed(score, version=saved.version))
