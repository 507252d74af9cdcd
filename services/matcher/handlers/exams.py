"""Passed exams grant their qualification: the quality service's ExamAttemptChanged
(PASSED) grants the exam's SCORE type with the attempt's score, through the path an
operator's GrantQualification takes (history entry "exam <attempt_id>",
QualificationChanged, the eligibility index refreshed, so live streams gain the offers
it opens), in the consumer's transaction. Each attempt grants once: a redelivery finds
it in exam_grants and changes nothing, even after an operator changed the value since."""

from __future__ import annotations

import asyncpg

from crewline.consumer import EventContext
from crewline.errors import NotFound
from crewline.log import bind_contextvars, get_logger
from crewline.v1 import events_pb2
from matcher.adapters import exam_protobuf as pb
from matcher.adapters import qualifications as repo
from matcher.deps import Deps
from matcher.domain.exams import PassedExam, unknown_type
from matcher.handlers import qualifications
from matcher.handlers.contractors import existing

log = get_logger(__name__)


async def on_exam_attempt_changed(
    conn: asyncpg.Connection, event: events_pb2.ExamAttemptChanged, ctx: EventContext, *, deps: Deps
) -> None:
    """An attempt in progress or failed changes nothing. An unknown contractor or type,
    or a type that is not a SCORE type, is refused naming its field: a dead letter, to
    replay once the matcher knows them (the quality service knew both)."""
    exam = pb.passed(event)
    if exam is None:
        return
    bind_contextvars(contractor_id=exam.contractor_id)
    await _contractor(conn, exam)
    qtype = await repo.get_type(conn, exam.qualification)
    if qtype is None:
        raise unknown_type(exam.qualification)
    cmd = exam.grant(qtype)
    if not await repo.note_exam_grant(conn, exam, now=deps.clock.now()):
        log.info("exam_grant_already_applied", attempt_id=exam.attempt_id)
        return
    held = await qualifications.grant(conn, cmd, qtype, deps)
    log.info("exam_granted", attempt_id=exam.attempt_id, qualification=held.qualification)


async def _contractor(conn: asyncpg.Connection, exam: PassedExam) -> None:
    """Lock the contractor's row, as every grant does, or refuse naming the field."""
    try:
        await existing(conn, exam.contractor_id, lock="update")
    except NotFound:
        raise NotFound(
            f"attempt.contractor_id: names no contractor: {exam.contractor_id!r}",
            reason="UNKNOWN_CONTRACTOR",
            metadata={"field": "attempt.contractor_id"},
        ) from None
