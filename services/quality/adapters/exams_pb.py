"""Exams: protobuf requests and events in, ``Exam``, ``ExamAttempt``, GoldIssued and
ExamAttemptChanged out. An attempt shows counts and the score, never which answers were
right; a question's GoldIssued carries its payload, never its key."""

from __future__ import annotations

from crewline.auth.principal import Principal
from crewline.errors import PermanentEventError
from crewline.protobuf import KINDS, timestamp
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.domain import exams
from quality.domain.exams import Attempt, AttemptState, Exam, QualificationType, SetExam

_STATE_PB = {
    AttemptState.IN_PROGRESS: api.EXAM_ATTEMPT_STATE_IN_PROGRESS,
    AttemptState.PASSED: api.EXAM_ATTEMPT_STATE_PASSED,
    AttemptState.FAILED: api.EXAM_ATTEMPT_STATE_FAILED,
}


def set_exam(request: api.SetExamRequest, caller: Principal) -> SetExam:
    e = request.exam
    return exams.set_exam(
        caller,
        qualification=e.qualification,
        project_id=e.project_id,
        question_count=e.question_count,
        pass_mark=e.pass_mark,
        retake_cooldown=e.retake_cooldown.ToTimedelta() if e.HasField("retake_cooldown") else None,
        paid=e.paid,
        time_limit=e.time_limit.ToTimedelta() if e.HasField("time_limit") else None,
    )


def exam_to_pb(exam: Exam) -> api.Exam:
    pb = api.Exam(
        qualification=exam.qualification,
        project_id=exam.project_id,
        client_id=exam.client_id,
        question_count=exam.question_count,
        pass_mark=exam.pass_mark,
        paid=exam.paid,
        updated_at=timestamp(exam.updated_at),
    )
    pb.retake_cooldown.FromTimedelta(exam.retake_cooldown)
    pb.time_limit.FromTimedelta(exam.time_limit)
    return pb


def attempt_to_pb(attempt: Attempt) -> api.ExamAttempt:
    pb = api.ExamAttempt(
        attempt_id=str(attempt.attempt_id),
        contractor_id=attempt.contractor_id,
        qualification=attempt.qualification,
        project_id=attempt.project_id,
        state=_STATE_PB[attempt.state],
        task_ids=list(attempt.task_ids),
        answered=attempt.answered,
        pass_mark=attempt.pass_mark,
        started_at=timestamp(attempt.started_at),
        ends_by=timestamp(attempt.ends_by),
    )
    if attempt.score is not None:
        pb.score = attempt.score
    if attempt.finished_at is not None:
        pb.finished_at.CopyFrom(timestamp(attempt.finished_at))
    if attempt.retake_after is not None:
        pb.retake_after.CopyFrom(timestamp(attempt.retake_after))
    return pb


def attempt_changed(attempt: Attempt) -> events_pb2.ExamAttemptChanged:
    return events_pb2.ExamAttemptChanged(attempt=attempt_to_pb(attempt))


def question_issued(
    attempt: Attempt,
    task_id: str,
    *,
    payload_json: str | None,
    payload_bytes: bytes | None,
    needs_review: bool = False,
) -> events_pb2.GoldIssued:
    """One question as the task the dispatcher reserves for the contractor until the
    attempt ends; ``needs_review``: its key holds a text or rubric field, so its work
    waits for the client's review instead of being accepted when handed in."""
    event = events_pb2.GoldIssued(
        task_id=task_id,
        project_id=attempt.project_id,
        client_id=attempt.client_id,
        contractor_id=attempt.contractor_id,
        issued_at=timestamp(attempt.started_at),
        exam_attempt_id=str(attempt.attempt_id),
        unpaid=not attempt.paid,
        ends_by=timestamp(attempt.ends_by),
        needs_review=needs_review,
    )
    if payload_json is not None:
        event.payload_json = payload_json
    else:
        event.payload_bytes = payload_bytes or b""
    return event


def qualification_type(event: events_pb2.QualificationTypeDefined) -> QualificationType:
    qt = event.qualification_type
    kind = KINDS.get(qt.kind)
    if not qt.name or kind is None:
        raise PermanentEventError(
            f"qualification_type: {qt.name!r} has no name or no kind ({qt.kind})"
        )
    return QualificationType(name=qt.name, kind=kind, client_id=qt.client_id)
