"""Gold, as contractors meet it: issued on their ordinary claims, met when claimed,
scored when answered (docs/quality.md, "Gold tasks"). Events from crewline.claims.v1,
each in the consumer's transaction (the kernel's inbox drops a redelivery; a copy under
another event id changes nothing either: a claim draws once (``gold_draws``), an
answer is stored once per claim, and a claim is marked at most once).

An exam's question is a task of its own kind: its claim draws no gold, and its answer
goes to ``exams`` alone (never a gold answer, a submission in the time-flag share, or a
sanction's evidence).

Nothing here logs a key or a result, or labels a metric with an id.
"""

from __future__ import annotations

import uuid

import asyncpg

from crewline.consumer import EventContext
from crewline.log import get_logger
from crewline.v1 import events_pb2
from quality.adapters import exams as exam_questions
from quality.adapters import gold_instances as gold
from quality.adapters import gold_tasks, scores, submissions
from quality.adapters import protobuf as pb
from quality.deps import Deps
from quality.domain.claims import ClaimStarted, WorkHandedIn
from quality.domain.gold_keys import correct, needs_review
from quality.domain.issuing import GoldIssue, lapses_at, pick, wants_gold
from quality.domain.reviews import ReviewOutcome
from quality.domain.scores import Measure
from quality.handlers import exams, sanctions
from quality.handlers.measures import rescore

log = get_logger(__name__)


async def on_claim_granted(
    conn: asyncpg.Connection, event: events_pb2.ClaimGranted, ctx: EventContext, *, deps: Deps
) -> None:
    """A claim on gold marks it met; an ordinary claim may bring gold; a claim on an
    exam's question is noted, and brings none."""
    claim = pb.claim_started(event)
    if await exam_questions.claimed(conn, claim.task_id, claim.claim_id):
        return
    instance = await gold.claimed(conn, claim.task_id, claim.claim_id)
    if instance is None:
        await _draw(conn, claim, deps)


async def _draw(conn: asyncpg.Connection, claim: ClaimStarted, deps: Deps) -> None:
    """Issue the contractor one gold task they have not met, at the project's share,
    unless they hold one open in the project already, or it is not active."""
    project = await gold.gold_project(conn, claim.project_id)
    if project is None or not (project.active and project.has_gold and project.share > 0):
        return
    now = deps.clock.now()
    await scores.lock_window(conn, claim.contractor_id, claim.project_id)
    if await gold.has_open(conn, claim.contractor_id, claim.project_id, now=now):
        return
    if not await gold.drawn(conn, claim.claim_id):
        return  # this claim has drawn already
    if not wants_gold(project.share, deps.random):
        return
    index = pick(await gold.unmet(conn, claim.contractor_id, claim.project_id), deps.random)
    if index is None:
        return  # they met every gold task: ordinary work goes on
    chosen = await gold.unmet_at(conn, claim.contractor_id, claim.project_id, index)
    issue = GoldIssue(
        task_id=str(uuid.uuid4()),
        gold_id=str(chosen["gold_id"]),
        project_id=claim.project_id,
        client_id=project.client_id,
        contractor_id=claim.contractor_id,
        payload_json=chosen["payload_json"],
        payload_bytes=chosen["payload_bytes"],
        issued_at=now,
        lapses_at=lapses_at(now, project.task_lifetime_seconds),
        needs_review=chosen["needs_review"],
    )
    await gold.issue(conn, issue)
    await deps.publisher.publish(conn, pb.gold_issued(issue))
    deps.metrics.gold_issued.inc()
    log.info("gold_issued", task_id=issue.task_id, gold_id=issue.gold_id)


async def on_claim_ended(
    conn: asyncpg.Connection, event: events_pb2.ClaimEnded, ctx: EventContext, *, deps: Deps
) -> None:
    """A claim on gold ended without work (released, expired, cut short): the gold was
    met, and the contractor may be issued more."""
    await gold.ended(conn, pb.claim_ended(event, now=deps.clock.now()))


async def on_work_submitted(
    conn: asyncpg.Connection, event: events_pb2.WorkSubmitted, ctx: EventContext, *, deps: Deps
) -> None:
    """Every submission counts in the time-flag share; an answer to gold is scored, and
    the contractor's gold accuracy recounted. An exam's answer is the exam's alone."""
    work = pb.work_handed_in(event, now=deps.clock.now())
    question = await exam_questions.question(conn, work.task_id)
    if question is not None:
        await exams.on_answer(conn, question, work, deps=deps)
        return
    await scores.lock_window(conn, work.contractor_id, work.project_id)
    if await submissions.handed_in(conn, work):
        await sanctions.on_submissions(
            conn,
            contractor_id=work.contractor_id,
            project_id=work.project_id,
            client_id=work.client_id,
            deps=deps,
        )
    instance = await gold.ended(conn, work.over)
    if instance is None:
        return  # ordinary work
    if instance.contractor_id != work.contractor_id:
        log.warning("gold_answered_by_another", task_id=instance.task_id)
        return
    await _score(conn, instance, work, deps)


async def _score(
    conn: asyncpg.Connection, instance: gold.Instance, work: WorkHandedIn, deps: Deps
) -> None:
    """Score the automatic fields; a key with text or rubric fields leaves the answer
    pending until its submission's review judges them (``judge_reviewed``), unless that
    review came first."""
    await scores.lock_window(conn, instance.contractor_id, instance.project_id)
    key = await gold_tasks.key_of(conn, instance.gold_id)
    right = correct(key, work.result)
    review = needs_review(key)
    verdict = await scores.review_of(conn, work.claim_id) if review else None
    answer = work.result.decode("utf-8", errors="replace")  # shown only as evidence
    if not await gold.record_answer(
        conn,
        instance,
        claim_id=work.claim_id,
        correct=right and verdict is not False,
        at=work.submitted_at,
        answer_json=answer,
        needs_review=review,
        review_accepted=verdict,
    ):
        log.info("gold_answer_already_known", task_id=instance.task_id)
        return
    if review and verdict is None:
        log.info("gold_answer_pending_review", task_id=instance.task_id)
        return  # counts nowhere until reviewed
    deps.metrics.gold_answered(right and verdict is not False)
    await recount_gold(
        conn,
        contractor_id=instance.contractor_id,
        project_id=instance.project_id,
        client_id=instance.client_id,
        deps=deps,
    )


async def judge_reviewed(conn: asyncpg.Connection, outcome: ReviewOutcome, deps: Deps) -> None:
    """A review of gold work whose key holds text or rubric fields judges them: the
    answer is right when its automatic fields are and the work was accepted (an
    override, an upheld appeal: accepted, final). The gold accuracy is recounted. A
    review of any other work, or of an answer not heard of yet, changes nothing here
    (``_score`` reads the review when the answer comes)."""
    found = await gold.reviewed(conn, outcome.submission_id, accepted=outcome.accepted)
    if found is None:
        return
    key = await gold_tasks.key_of(conn, found.gold_id)
    right = found.review_accepted and correct(key, found.answer_json.encode())
    await gold.rescored(conn, {found.claim_id: right})
    deps.metrics.gold_answered(right)
    await recount_gold(
        conn,
        contractor_id=outcome.contractor_id,
        project_id=outcome.project_id,
        client_id=outcome.client_id,
        deps=deps,
    )


async def recount_gold(
    conn: asyncpg.Connection, *, contractor_id: str, project_id: str, client_id: str, deps: Deps
) -> None:
    """Recount and store the contractor's gold accuracy in the project over their latest
    answers that are not voided (an upheld appeal voids them), publishing ScoreChanged if
    the value moves and evaluating the project's rules, in the caller's transaction."""
    await scores.lock_window(conn, contractor_id, project_id)
    latest = await gold.latest_answers(
        conn, contractor_id, project_id, limit=deps.settings.score_window
    )
    await rescore(
        conn,
        latest,
        measure=Measure.GOLD_ACCURACY,
        contractor_id=contractor_id,
        project_id=project_id,
        client_id=client_id,
        deps=deps,
    )
