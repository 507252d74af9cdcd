"""What the quality service does with the reviews and time flags it consumes.

Each handler runs in the consumer's transaction (the kernel's inbox drops a
redelivered event). The merge in ``adapters.scores.record`` makes a review count once
on its own too: a second copy, under any event id, in any order, changes nothing.
The score is stored (and its change published) by ``measures.rescore``. A time flag
is merged with its submission (``adapters.submissions``) in the same way.
"""

from __future__ import annotations

import asyncpg

from crewline.consumer import EventContext
from crewline.log import get_logger
from crewline.v1 import events_pb2
from quality.adapters import exams as exam_questions
from quality.adapters import protobuf as pb
from quality.adapters import protobuf_rules as pbr
from quality.adapters import scores, submissions
from quality.deps import Deps
from quality.domain.reviews import ReviewOutcome
from quality.domain.scores import Measure
from quality.handlers import exams, sanctions
from quality.handlers.issuing import judge_reviewed
from quality.handlers.measures import rescore

log = get_logger(__name__)


async def on_submission_accepted(
    conn: asyncpg.Connection,
    event: events_pb2.SubmissionAccepted,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    """However it was accepted; an override replaces the submission's rejection. An
    exam's answer, accepted for being handed in, says nothing of the work: not counted;
    one the client reviewed (its key has text or rubric fields) judges the answer, and
    counts in no measure either."""
    if event.accepted_by == events_pb2.ACCEPTED_BY_EXAM:
        return
    outcome = pb.accepted(event, now=deps.clock.now())
    if not await _exam_review(conn, outcome, deps):
        await review(conn, outcome, deps, feedback=pb.feedback(event))


async def on_submission_rejected(
    conn: asyncpg.Connection,
    event: events_pb2.SubmissionRejected,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    outcome = pb.rejected(event, now=deps.clock.now())
    if not await _exam_review(conn, outcome, deps):
        await review(conn, outcome, deps, feedback=pb.feedback(event))


async def _exam_review(conn: asyncpg.Connection, outcome: ReviewOutcome, deps: Deps) -> bool:
    """Whether the review is of an exam's question (judged by ``exams.on_review``)."""
    question = await exam_questions.question(conn, outcome.task_id)
    if question is None:
        return False
    await exams.on_review(conn, question, outcome, deps=deps)
    return True


async def review(
    conn: asyncpg.Connection, outcome: ReviewOutcome, deps: Deps, *, feedback: str = ""
) -> None:
    """Record the outcome and recount the contractor's acceptance rate in the project
    (which evaluates the project's rules on it); a review of gold work whose key holds
    text or rubric fields also judges its answer (``issuing.judge_reviewed``)."""
    await scores.lock_window(conn, outcome.contractor_id, outcome.project_id)
    if not await scores.record(conn, outcome, feedback=feedback):
        log.info("review_already_known", submission_id=outcome.submission_id)
        return
    deps.metrics.reviewed(outcome.kind)
    latest = await scores.latest(
        conn, outcome.contractor_id, outcome.project_id, limit=deps.settings.score_window
    )
    await rescore(
        conn,
        latest,
        measure=Measure.ACCEPTANCE_RATE,
        contractor_id=outcome.contractor_id,
        project_id=outcome.project_id,
        client_id=outcome.client_id,
        deps=deps,
    )
    await judge_reviewed(conn, outcome, deps)


async def on_submission_flagged(
    conn: asyncpg.Connection,
    event: events_pb2.SubmissionFlagged,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    """A time flag counts in the contractor's time-flag share, whether its submission's
    WorkSubmitted came before or comes after."""
    flag = pbr.flag_seen(event, now=deps.clock.now())
    if await exam_questions.question(conn, flag.task_id) is not None:
        return  # an exam's answer counts in no measure of the project
    await scores.lock_window(conn, flag.contractor_id, flag.project_id)
    if not await submissions.flagged(conn, flag):
        log.info("flag_already_known", submission_id=flag.submission_id)
        return
    await sanctions.on_submissions(
        conn,
        contractor_id=flag.contractor_id,
        project_id=flag.project_id,
        client_id=flag.client_id,
        deps=deps,
    )
