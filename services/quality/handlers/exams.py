"""Exams: attached to qualification types by their client or operators, taken by
contractors, their answers scored and the attempt graded (docs/quality.md, "Exams").
Who may call each is the access policy in ``entrypoints/grpc_api.py``.

StartExam issues each question as GoldIssued (payload only) and ExamAttemptChanged,
and arms the ``exam_end`` clock, in one transaction. An answer arrives as any
WorkSubmitted (``issuing.on_work_submitted`` routes it here); it is scored against the
gold task's key and kept apart from hidden gold's answers. The last answer, or the
clock, grades the attempt and publishes ExamAttemptChanged, which the matcher turns
into the qualification. Logs carry ids and counts: never an answer, a key or a payload.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial

import asyncpg

from crewline import clock
from crewline.clock import Deadline, DeadlineHandler
from crewline.consumer import EventContext
from crewline.errors import FailedPrecondition, NotFound
from crewline.log import get_logger
from crewline.paging import split_page
from crewline.v1 import events_pb2
from quality.adapters import exams as db
from quality.adapters import exams_pb, gold_tasks, projects, qualification_types
from quality.deps import Deps
from quality.domain import exam_queries, exams
from quality.domain.claims import WorkHandedIn
from quality.domain.exam_queries import AttemptQuery, ExamQuery
from quality.domain.exams import EXAM_END, Attempt, AttemptState, Exam, SetExam, StartExam
from quality.domain.gold_keys import correct
from quality.domain.projects import ProjectState
from quality.domain.reviews import ReviewOutcome

log = get_logger(__name__)


async def on_qualification_type_defined(
    conn: asyncpg.Connection,
    event: events_pb2.QualificationTypeDefined,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    """Keep the matcher's type: whether it holds a score, and which client it names."""
    await qualification_types.save(conn, exams_pb.qualification_type(event))


async def set_exam(cmd: SetExam, deps: Deps) -> Exam:
    """Attach or replace the type's exam; the same exam again changes nothing."""
    async with deps.pool.acquire() as conn, conn.transaction():
        qtype = exams.may_attach(cmd, await qualification_types.get(conn, cmd.qualification))
        owner = exams.project_owner(cmd, qtype)
        project = await projects.get(conn, cmd.project_id, client_id=owner)
        if project is None:
            raise NotFound(
                f"exam.project_id: project {cmd.project_id} not found",
                metadata={"field": "exam.project_id"},
            )
        if project.answer_spec is None:
            raise FailedPrecondition(
                f"exam.project_id: project {cmd.project_id} has no answer spec, so its"
                " answers cannot be scored",
                metadata={"field": "exam.project_id"},
            )
        have = await db.gold_count(conn, cmd.project_id)
        if have < cmd.question_count:
            raise FailedPrecondition(
                f"exam.question_count: project {cmd.project_id} has {have} gold tasks an exam"
                f" may ask (not retired), fewer than {cmd.question_count}",
                metadata={"field": "exam.question_count"},
            )
        exam = await db.save_exam(conn, cmd.exam(client_id=project.client_id, now=deps.clock.now()))
    log.info("exam_set", qualification=exam.qualification, project_id=exam.project_id)
    return exam


async def get_exam(qualification: str, deps: Deps) -> Exam:
    async with deps.pool.acquire() as conn:
        exam = await db.get_exam(conn, qualification)
    if exam is None:
        raise exams.exam_not_found(qualification)
    return exam


async def list_exams(query: ExamQuery, deps: Deps) -> tuple[list[Exam], str]:
    async with deps.pool.acquire() as conn:
        found = await db.find_exams(conn, query)
    page, last = split_page(found, query.limit)
    return page, exam_queries.exams_token(last)


async def start_exam(cmd: StartExam, deps: Deps) -> Attempt:
    """A new attempt, or the one in progress."""
    async with deps.pool.acquire() as conn, conn.transaction():
        exam = await db.get_exam(conn, cmd.qualification)
        if exam is None:
            raise exams.exam_not_found(cmd.qualification)
        await db.lock_taker(conn, cmd.contractor_id, cmd.qualification)
        last = await db.latest_attempt(conn, cmd.contractor_id, cmd.qualification)
        if last is not None and last.state is AttemptState.IN_PROGRESS:
            return last
        project = await projects.get(conn, exam.project_id)
        if project is None or project.state is not ProjectState.ACTIVE:
            raise exams.unavailable(exam, "its project takes no work")  # no task to claim
        gold = await db.gold_ids(conn, exam.project_id)
        now = deps.clock.now()
        attempt, chosen = exams.start(
            exam, cmd.contractor_id, last=last, available=len(gold), rng=deps.random, now=now
        )
        asked = [gold[i] for i in chosen]
        attempt = await db.insert_attempt(conn, attempt, asked)
        ref = str(attempt.attempt_id)
        await clock.schedule(conn, kind=EXAM_END, ref=ref, due_at=attempt.ends_by)
        for task_id, row in zip(attempt.task_ids, await db.payloads(conn, asked), strict=True):
            event = exams_pb.question_issued(
                attempt,
                task_id,
                payload_json=row["payload_json"],
                payload_bytes=row["payload_bytes"],
                needs_review=row["needs_review"],
            )
            await deps.publisher.publish(conn, event)
        await deps.publisher.publish(conn, exams_pb.attempt_changed(attempt))
    deps.metrics.exam_started()
    log.info(
        "exam_started",
        attempt_id=ref,
        contractor_id=attempt.contractor_id,
        qualification=attempt.qualification,
        questions=attempt.question_count,
    )
    return attempt


async def list_attempts(query: AttemptQuery, deps: Deps) -> tuple[list[Attempt], str]:
    """A page of attempts; the exam named must be the client's (any, for an operator),
    else it is NOT_FOUND as one that does not exist."""
    async with deps.pool.acquire() as conn:
        if query.qualification is not None:
            exam = await db.get_exam(conn, query.qualification)
            if exam is None or query.client_id not in (None, exam.client_id):
                raise exams.exam_not_found(query.qualification)
        found = await db.find_attempts(conn, query)
    page, last = split_page(found, query.limit)
    return page, exam_queries.attempts_token(last)


async def on_answer(
    conn: asyncpg.Connection, question: db.Question, work: WorkHandedIn, *, deps: Deps
) -> None:
    """Score an exam question's answer (its automatic fields: text and rubric fields
    wait for the client's review, ``on_review``); the last one judged grades the
    attempt. An answer from someone else, after the attempt ended or after its time,
    counts nothing."""
    attempt = await db.get_attempt(conn, question.attempt_id, for_update=True)
    if attempt is None or attempt.contractor_id != work.contractor_id:
        log.warning("exam_answer_by_another", task_id=work.task_id)
        return
    if attempt.state is not AttemptState.IN_PROGRESS or work.submitted_at > attempt.ends_by:
        log.info("exam_answer_too_late", task_id=work.task_id, attempt_id=str(attempt.attempt_id))
        return
    right = correct(await gold_tasks.key_of(conn, question.gold_id), work.result)
    if not await db.answer(
        conn, question.task_id, claim_id=work.claim_id, correct=right, at=work.submitted_at
    ):
        log.info("exam_answer_already_known", task_id=work.task_id)
        return
    await _grade_if_judged(conn, attempt, at=work.submitted_at, deps=deps)


async def on_review(
    conn: asyncpg.Connection, question: db.Question, outcome: ReviewOutcome, *, deps: Deps
) -> None:
    """The client reviewed the work on an exam's question. One whose key holds text or
    rubric fields is judged by it (accepted: right if its automatic fields are;
    rejected: wrong), and the last judgement grades the attempt, also after its time
    limit (the answer was handed in before it). Any other review, and any review once
    the attempt is graded, changes nothing: an attempt is graded once. Exam work counts
    in no measure, the acceptance rate included."""
    if not question.needs_review:
        return
    attempt = await db.get_attempt(conn, question.attempt_id, for_update=True)
    if attempt is None or attempt.state is not AttemptState.IN_PROGRESS:
        log.info("exam_review_after_grading", task_id=question.task_id)
        return
    if not await db.reviewed(conn, question.task_id, accepted=outcome.accepted):
        return
    await _grade_if_judged(conn, attempt, at=outcome.reviewed_at, deps=deps)


async def _grade_if_judged(
    conn: asyncpg.Connection, attempt: Attempt, *, at: datetime, deps: Deps
) -> None:
    """Grade the attempt (locked by the caller) once no answer waits for its review and
    every question is answered or the time is up (the unanswered then wrong)."""
    progress = await db.progress(conn, attempt.attempt_id)
    if progress.pending:
        return
    if progress.answered >= attempt.question_count:
        await _grade(conn, attempt.attempt_id, at=at, deps=deps)
    elif deps.clock.now() >= attempt.ends_by:  # the clock found reviews still to come
        await _grade(conn, attempt.attempt_id, at=max(at, attempt.ends_by), deps=deps)


async def exam_end(conn: asyncpg.Connection, deadline: Deadline, *, deps: Deps) -> None:
    """The attempt's time is up: graded with the unanswered wrong. One graded at its
    last answer changes nothing (the clock is left to fire rather than cancelled from
    the answer's transaction, which would wait on the clock's own lock). One with
    answers handed in in time and still waiting for their review is graded by the last
    review (``on_review``): the time limit is the contractor's, not the reviewer's."""
    attempt = await db.get_attempt(conn, uuid.UUID(deadline.ref), for_update=True)
    if attempt is None or attempt.state is not AttemptState.IN_PROGRESS:
        return
    if (await db.progress(conn, attempt.attempt_id)).pending:
        log.info("exam_waits_for_review", attempt_id=str(attempt.attempt_id))
        return
    await _grade(conn, attempt.attempt_id, at=attempt.ends_by, deps=deps)


def clock_routes(deps: Deps) -> dict[str, DeadlineHandler]:
    """The exam clock's handler, for the service's DeadlineClock."""
    return {EXAM_END: partial(exam_end, deps=deps)}


async def _grade(
    conn: asyncpg.Connection, attempt_id: uuid.UUID, *, at: datetime, deps: Deps
) -> None:
    """Grade the attempt, locked by the caller, over the answers stored."""
    attempt = await db.get_attempt(conn, attempt_id)
    assert attempt is not None
    graded = attempt.graded(await db.correct_count(conn, attempt_id), at=at)
    await db.finish(conn, graded)
    await deps.publisher.publish(conn, exams_pb.attempt_changed(graded))
    deps.metrics.exam_ended(graded.state.value)
    log.info(
        "exam_graded",
        attempt_id=str(attempt_id),
        contractor_id=graded.contractor_id,
        state=graded.state.value,
        score=graded.score,
    )
