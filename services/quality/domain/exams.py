"""Exams: gold tasks that grant a SCORE qualification with the score as its value
(docs/quality.md, "Exams"). Pure: no I/O, no protobuf; the randomness is passed in.

An exam belongs to a qualification type. Operators attach one to any SCORE type; a
client only to a SCORE type whose ``client_id`` names it (an operator defines the type
for that client), so no client can vouch for experts platform-wide. A type that is
unknown or not the client's is one NOT_FOUND naming ``exam.qualification``.

An attempt asks ``question_count`` of the project's gold tasks, drawn at random. Its
answers are scored as gold answers are, kept apart from hidden gold's (they never count
in gold accuracy, never become a sanction's evidence, and are never shown: an attempt
shows counts and the score). It is graded when the last question is answered, or at
``ends_by`` with the unanswered wrong. An attempt keeps the exam it started under.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from crewline import validate
from crewline.auth.principal import Kind, Principal
from crewline.errors import FailedPrecondition, InvalidArgument, NotFound
from crewline.qualifications import Kind as QualificationKind
from crewline.qualifications import type_name
from quality.domain.issuing import RandomSource

EXAM_END = "exam_end"  # the durable clock's kind; its ref is the attempt id
COOLDOWN = "EXAM_COOLDOWN"
UNAVAILABLE = "EXAM_UNAVAILABLE"
MAX_QUESTIONS = 100
MAX_COOLDOWN = timedelta(days=365)
MIN_TIME_LIMIT = timedelta(minutes=1)
MAX_TIME_LIMIT = timedelta(days=7)
DEFAULT_TIME_LIMIT = timedelta(days=1)


class AttemptState(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class QualificationType:
    """What the service knows of a type, from the matcher's QualificationTypeDefined."""

    name: str
    kind: QualificationKind
    client_id: str  # "": only operators may attach an exam to it


@dataclass(frozen=True, kw_only=True)
class Exam:
    qualification: str
    project_id: str
    client_id: str  # the project's client
    question_count: int
    pass_mark: int
    retake_cooldown: timedelta
    paid: bool
    time_limit: timedelta
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class SetExam:
    """Command: attach (or replace) the exam of a type. ``client_id`` None: an operator."""

    client_id: str | None
    qualification: str
    project_id: str
    question_count: int
    pass_mark: int
    retake_cooldown: timedelta
    paid: bool
    time_limit: timedelta

    def exam(self, *, client_id: str, now: datetime) -> Exam:
        return Exam(
            qualification=self.qualification,
            project_id=self.project_id,
            client_id=client_id,
            question_count=self.question_count,
            pass_mark=self.pass_mark,
            retake_cooldown=self.retake_cooldown,
            paid=self.paid,
            time_limit=self.time_limit,
            updated_at=now,
        )


def set_exam(
    caller: Principal,
    *,
    qualification: str,
    project_id: str,
    question_count: int,
    pass_mark: int,
    retake_cooldown: timedelta | None,
    paid: bool,
    time_limit: timedelta | None,
) -> SetExam:
    """Everything that can be checked before anything is read, each error naming its
    field under ``exam.``."""
    if caller.kind not in (Kind.CLIENT, Kind.OPERATOR):
        raise type_not_found(qualification)
    cooldown = retake_cooldown if retake_cooldown is not None else timedelta(0)
    if not timedelta(0) <= cooldown <= MAX_COOLDOWN:
        raise InvalidArgument("exam.retake_cooldown", "must be from 0 to 365 days")
    limit = time_limit if time_limit is not None else DEFAULT_TIME_LIMIT
    if not MIN_TIME_LIMIT <= limit <= MAX_TIME_LIMIT:
        raise InvalidArgument("exam.time_limit", "must be from 1 minute to 7 days (unset: 1 day)")
    return SetExam(
        client_id=caller.id if caller.kind is Kind.CLIENT else None,
        qualification=type_name(qualification, field="exam.qualification"),
        project_id=validate.identifier(project_id, field="exam.project_id"),
        question_count=validate.int_range(
            question_count, field="exam.question_count", low=1, high=MAX_QUESTIONS
        ),
        pass_mark=validate.int_range(pass_mark, field="exam.pass_mark", low=0, high=100),
        retake_cooldown=cooldown,
        paid=paid,
        time_limit=limit,
    )


def may_attach(cmd: SetExam, qtype: QualificationType | None) -> QualificationType:
    """The type, if the caller may attach an exam to it. Unknown and another client's
    are the same NOT_FOUND; a type that holds no score cannot take one."""
    if qtype is None or (cmd.client_id is not None and qtype.client_id != cmd.client_id):
        raise type_not_found(cmd.qualification)
    if qtype.kind is not QualificationKind.SCORE:
        raise FailedPrecondition(
            f"exam.qualification: {qtype.name} is a {qtype.kind.value} type; an exam grants"
            " a score, so only a SCORE type takes one",
            metadata={"field": "exam.qualification"},
        )
    return qtype


def project_owner(cmd: SetExam, qtype: QualificationType) -> str | None:
    """Whose the exam's project must be: the client's own; for an operator, the type's
    client's, or anyone's (None) when the type names no client."""
    if cmd.client_id is not None:
        return cmd.client_id
    return qtype.client_id or None


def type_not_found(qualification: str) -> NotFound:
    return NotFound(
        f"exam.qualification: qualification type {qualification} not found",
        metadata={"field": "exam.qualification"},
    )


def exam_not_found(qualification: str, *, field: str = "qualification") -> NotFound:
    """No exam grants the type, or none the caller may see: nothing tells them apart."""
    return NotFound(
        f"{field}: no exam grants qualification {qualification}", metadata={"field": field}
    )


@dataclass(frozen=True, kw_only=True)
class Attempt:
    attempt_id: uuid.UUID
    contractor_id: str
    qualification: str
    project_id: str
    client_id: str
    state: AttemptState
    task_ids: tuple[str, ...]
    answered: int
    pass_mark: int
    paid: bool
    retake_cooldown: timedelta
    started_at: datetime
    ends_by: datetime
    score: int | None = None
    finished_at: datetime | None = None
    retake_after: datetime | None = None
    seq: int = 0  # the order attempts started in, for pages

    @property
    def question_count(self) -> int:
        return len(self.task_ids)

    def graded(self, correct: int, *, at: datetime) -> Attempt:
        """The attempt ended at ``at`` with ``correct`` right answers (the unanswered
        are wrong)."""
        value = score(correct, self.question_count)
        return replace(
            self,
            state=AttemptState.PASSED if value >= self.pass_mark else AttemptState.FAILED,
            score=value,
            finished_at=at,
            retake_after=at + self.retake_cooldown,
        )


def score(correct: int, questions: int) -> int:
    """Round half up of 100 x correct / questions, in integers (no float's 0.5 error)."""
    if not 0 <= correct <= questions or questions < 1:
        raise ValueError(f"{correct} correct of {questions} questions")
    return (200 * correct + questions) // (2 * questions)


def start(
    exam: Exam,
    contractor_id: str,
    *,
    last: Attempt | None,
    available: int,
    rng: RandomSource,
    now: datetime,
) -> tuple[Attempt, list[int]]:
    """A new attempt and which of the ``available`` gold tasks (by index) it asks, in
    order. A retake before the last attempt's cooldown ends, or too little gold, is
    refused with its reason."""
    if last is not None and last.retake_after is not None and last.retake_after > now:
        when = iso(last.retake_after)
        raise FailedPrecondition(
            f"qualification: the last attempt at the exam for {exam.qualification} ended"
            f" at {iso(last.finished_at)}; retake after {when}",
            reason=COOLDOWN,
            metadata={"field": "qualification", "retake_after": when},
        )
    if available < exam.question_count:
        raise unavailable(exam, "its project has too few gold tasks to ask")
    chosen = draw(available, exam.question_count, rng)
    attempt = Attempt(
        attempt_id=uuid.uuid4(),
        contractor_id=contractor_id,
        qualification=exam.qualification,
        project_id=exam.project_id,
        client_id=exam.client_id,
        state=AttemptState.IN_PROGRESS,
        task_ids=tuple(str(uuid.uuid4()) for _ in chosen),
        answered=0,
        pass_mark=exam.pass_mark,
        paid=exam.paid,
        retake_cooldown=exam.retake_cooldown,
        started_at=now,
        ends_by=now + exam.time_limit,
    )
    return attempt, chosen


def unavailable(exam: Exam, why: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"qualification: the exam for {exam.qualification} cannot be taken now: {why}",
        reason=UNAVAILABLE,
        metadata={"field": "qualification"},
    )


def draw(available: int, count: int, rng: RandomSource) -> list[int]:
    """``count`` distinct indices below ``available``, uniformly (a partial shuffle)."""
    if not 0 < count <= available:
        raise ValueError(f"cannot draw {count} of {available}")
    pool = list(range(available))
    for i in range(count):
        j = i + rng.randrange(available - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:count]


def iso(at: datetime | None) -> str:
    """ISO-8601 in UTC with a Z, as messages and metadata show times."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at is not None else "?"


@dataclass(frozen=True, kw_only=True)
class StartExam:
    """Command: a contractor takes the exam that grants ``qualification``."""

    contractor_id: str
    qualification: str


def start_exam(caller: Principal, *, qualification: str) -> StartExam:
    name = type_name(qualification, field="qualification")
    if caller.kind is not Kind.CONTRACTOR:
        raise exam_not_found(name)
    return StartExam(contractor_id=caller.id, qualification=name)
