"""Exams' questions: gold tasks the quality service issues for an exam attempt
(GoldIssued with exam_attempt_id). Each is published as any gold task, reserved for its
contractor, living until the attempt ends; its work is accepted when handed in
(AcceptedBy.EXAM: the exam scores it, the client does not review it), and an unpaid
exam's work earns nothing. Pure: no I/O, no protobuf."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from crewline import validate
from crewline.errors import InvalidArgument


@dataclass(frozen=True, kw_only=True)
class ExamQuestion:
    task_id: uuid.UUID
    attempt_id: str
    unpaid: bool


def exam_question(
    *, task_id: str, attempt_id: str, unpaid: bool, ends_by: datetime | None
) -> ExamQuestion | None:
    """The question a gold task is, or None for hidden gold (no attempt). Errors name the
    event's fields: an exam's question has its attempt's end."""
    if not attempt_id:
        return None
    if ends_by is None:
        raise InvalidArgument("ends_by", "is required for an exam's question")
    return ExamQuestion(
        task_id=validate.uuid_id(task_id, field="task_id"),
        attempt_id=validate.identifier(attempt_id, field="exam_attempt_id"),
        unpaid=unpaid,
    )
