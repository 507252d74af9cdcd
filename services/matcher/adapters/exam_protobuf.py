"""The quality service's ExamAttemptChanged -> the matcher's domain."""

from __future__ import annotations

from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from matcher.domain.exams import PassedExam, passed_exam


def passed(e: events_pb2.ExamAttemptChanged) -> PassedExam | None:
    """The passed attempt; None for any other state (in progress, failed: no grant)."""
    a = e.attempt
    if a.state != quality_api.EXAM_ATTEMPT_STATE_PASSED:
        return None
    return passed_exam(
        attempt_id=a.attempt_id,
        contractor_id=a.contractor_id,
        qualification=a.qualification,
        score=a.score,
    )
