"""An ``Exam`` that grants a SCORE qualification, as ``set_exam``, ``exam`` and ``exams``
return it, and a contractor's ``ExamAttempt`` at one, as ``start_exam``,
``my_exam_attempts`` and ``exam_attempts`` return it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crewline.client.results.enums import ExamAttemptState
from crewline.client.results.sanctions import span
from crewline.client.results.wire import brief, counted, time_of, when
from crewline.v1 import quality_service_pb2 as quality_api


@dataclass(frozen=True, slots=True, kw_only=True)
class Exam:
    """Gold tasks of one project that grant a SCORE qualification type with the score.

    ``qualification``: the type it grants (one exam per type); ``project_id``: the
    project whose gold tasks are the questions and whose pay terms pay the work when
    ``paid``; ``client_id``: that project's client; ``question_count``: how many of its
    gold tasks an attempt asks (1-100, drawn at random); ``pass_mark``: the score
    (0-100) at or above which an attempt passes; ``retake_cooldown``: how long after an
    attempt ends the next may start; ``time_limit``: how long an attempt may take
    before unanswered questions count as wrong (None: the service's default, 1 day);
    ``updated_at``: when it was last set. The questions and their keys are never shown.
    """

    qualification: str
    project_id: str
    client_id: str
    question_count: int
    pass_mark: int
    retake_cooldown: timedelta
    paid: bool
    time_limit: timedelta | None
    updated_at: datetime | None
    raw: quality_api.Exam = field(default_factory=quality_api.Exam, repr=False, compare=False)

    @classmethod
    def from_pb(cls, message: quality_api.Exam) -> Exam:
        limit = message.time_limit.ToTimedelta() if message.HasField("time_limit") else None
        return cls(
            qualification=message.qualification,
            project_id=message.project_id,
            client_id=message.client_id,
            question_count=message.question_count,
            pass_mark=message.pass_mark,
            retake_cooldown=message.retake_cooldown.ToTimedelta(),
            paid=message.paid,
            time_limit=limit,
            updated_at=time_of(message, "updated_at"),
            raw=message,
        )

    def __str__(self) -> str:
        limit = "" if self.time_limit is None else f", {span(self.time_limit)} to answer"
        pay = "paid" if self.paid else "unpaid"
        return (
            f"exam for {self.qualification} in {self.project_id}:"
            f" {counted(self.question_count, 'question')}, pass mark {self.pass_mark},"
            f" retake after {span(self.retake_cooldown)}{limit}, {pay}"
        )

    def __repr__(self) -> str:
        return brief(self, "qualification", "project_id", "question_count", "pass_mark")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExamAttempt:
    """One contractor's attempt at an exam.

    ``attempt_id``, ``contractor_id``, ``qualification`` (the type the exam grants),
    ``project_id`` (the exam's); ``state``: IN_PROGRESS, then PASSED (the qualification
    is granted with the score) or FAILED; ``task_ids``: the questions, tasks reserved
    for the contractor in the project, claimed and submitted as any task;
    ``answered``: how many are handed in; ``score``: 0-100 once the attempt ends
    (unanswered questions count as wrong; None before), and ``pass_mark`` the exam's
    when it started; ``started_at``; ``ends_by``: when unanswered questions count as
    wrong; ``finished_at``; ``retake_after``: when the next attempt may start (set once
    this one ends). Which answers were right is never shown.
    """

    attempt_id: str
    contractor_id: str
    qualification: str
    project_id: str
    state: ExamAttemptState | None
    task_ids: tuple[str, ...]
    answered: int
    score: int | None
    pass_mark: int
    started_at: datetime | None
    ends_by: datetime | None
    finished_at: datetime | None
    retake_after: datetime | None
    raw: quality_api.ExamAttempt = field(
        default_factory=quality_api.ExamAttempt, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: quality_api.ExamAttempt) -> ExamAttempt:
        finished_at = time_of(message, "finished_at")
        return cls(
            attempt_id=message.attempt_id,
            contractor_id=message.contractor_id,
            qualification=message.qualification,
            project_id=message.project_id,
            state=ExamAttemptState.from_pb(message.state),
            task_ids=tuple(message.task_ids),
            answered=message.answered,
            score=message.score if finished_at is not None else None,
            pass_mark=message.pass_mark,
            started_at=time_of(message, "started_at"),
            ends_by=time_of(message, "ends_by"),
            finished_at=finished_at,
            retake_after=time_of(message, "retake_after"),
            raw=message,
        )

    def __str__(self) -> str:
        head = (
            f"exam attempt {self.attempt_id} at {self.qualification} by {self.contractor_id}:"
            f" {self.state or 'UNKNOWN'}"
        )
        if self.score is None:
            asked = len(self.task_ids)
            return f"{head}, {self.answered} of {asked} answered, ends by {when(self.ends_by)}"
        return (
            f"{head}, score {self.score} (pass mark {self.pass_mark}),"
            f" retake after {when(self.retake_after)}"
        )

    def __repr__(self) -> str:
        return brief(self, "attempt_id", "contractor_id", "qualification", "state", "score")
