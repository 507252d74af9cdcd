"""Exams and exam attempts from the quality service, as records."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from crewline.ctl.pb import field_word, timestamp_text
from crewline.ctl.records.sanctions import duration_text

if TYPE_CHECKING:
    from crewline.client import results
    from crewline.v1 import quality_service_pb2 as quality_api


class ExamRecord(TypedDict):
    qualification: str  # the SCORE type it grants
    project_id: str  # whose gold tasks are the questions, whose pay terms pay them
    client_id: str  # the project's client
    question_count: int
    pass_mark: int  # 0-100: an attempt scoring this or more passes
    retake_cooldown: str  # 7d, 36h, 90m, 0s: after an attempt ends, before the next
    time_limit: str | None  # how long an attempt may take; None: the service's, 1d
    paid: bool
    updated_at: str | None


class ExamPage(TypedDict):
    exams: list[ExamRecord]
    next_page_token: str  # empty on the last page


class AttemptRecord(TypedDict):
    attempt_id: str
    contractor_id: str
    qualification: str
    project_id: str
    state: str | None  # in_progress, passed or failed
    task_ids: list[str]  # the questions: tasks reserved for the contractor
    answered: int
    score: int | None  # 0-100 once it ends; None before
    pass_mark: int
    started_at: str | None
    ends_by: str | None  # unanswered questions count as wrong after this
    finished_at: str | None
    retake_after: str | None  # when the next attempt may start (once this one ends)


class AttemptPage(TypedDict):
    attempts: list[AttemptRecord]
    next_page_token: str  # empty on the last page


def exam_record(pb: quality_api.Exam) -> ExamRecord:
    limit = pb.time_limit.seconds if pb.HasField("time_limit") else None
    return {
        "qualification": pb.qualification,
        "project_id": pb.project_id,
        "client_id": pb.client_id,
        "question_count": pb.question_count,
        "pass_mark": pb.pass_mark,
        "retake_cooldown": duration_text(pb.retake_cooldown.seconds),
        "time_limit": None if limit is None else duration_text(limit),
        "paid": pb.paid,
        "updated_at": timestamp_text(pb, "updated_at"),
    }


def exam_page(reply: results.Page[results.Exam]) -> ExamPage:
    return {
        "exams": [exam_record(e.raw) for e in reply.items],
        "next_page_token": reply.next_page_token,
    }


def attempt_record(pb: quality_api.ExamAttempt) -> AttemptRecord:
    finished_at = timestamp_text(pb, "finished_at")
    return {
        "attempt_id": pb.attempt_id,
        "contractor_id": pb.contractor_id,
        "qualification": pb.qualification,
        "project_id": pb.project_id,
        "state": field_word(pb, "state"),
        "task_ids": list(pb.task_ids),
        "answered": pb.answered,
        "score": pb.score if finished_at is not None else None,
        "pass_mark": pb.pass_mark,
        "started_at": timestamp_text(pb, "started_at"),
        "ends_by": timestamp_text(pb, "ends_by"),
        "finished_at": finished_at,
        "retake_after": timestamp_text(pb, "retake_after"),
    }


def attempt_page(reply: results.Page[results.ExamAttempt]) -> AttemptPage:
    return {
        "attempts": [attempt_record(a.raw) for a in reply.items],
        "next_page_token": reply.next_page_token,
    }
