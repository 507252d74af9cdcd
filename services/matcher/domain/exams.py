"""Passed exams, as the quality service announces them (ExamAttemptChanged, PASSED):
each grants its qualification type, a SCORE type, with the attempt's score as the value,
as an operator's grant would, its history entry naming the attempt. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from crewline import validate
from crewline.errors import InvalidArgument
from crewline.qualifications import Kind, type_name
from matcher.domain.qualifications import GrantQualification, QualificationType


@dataclass(frozen=True, kw_only=True)
class PassedExam:
    attempt_id: str
    contractor_id: str
    qualification: str
    score: int

    def grant(self, qtype: QualificationType) -> GrantQualification:
        """The grant it makes. A type that is not (or no longer) a SCORE type is refused
        naming ``attempt.qualification``: an exam grants only a score, and the quality
        service attaches exams only to SCORE types."""
        if qtype.kind is not Kind.SCORE:
            raise InvalidArgument(
                "attempt.qualification",
                f"is a {qtype.kind.value} type; an exam grants only score types",
            )
        return GrantQualification(
            contractor_id=self.contractor_id,
            qualification=qtype.name,
            score=self.score,
            text=None,
            reason=f"exam {self.attempt_id}",
        )


def passed_exam(
    *, attempt_id: str, contractor_id: str, qualification: str, score: int
) -> PassedExam:
    """Each malformed field is refused naming it (the event is dead-lettered)."""
    return PassedExam(
        attempt_id=validate.identifier(attempt_id, field="attempt.attempt_id"),
        contractor_id=validate.identifier(contractor_id, field="attempt.contractor_id"),
        qualification=type_name(qualification, field="attempt.qualification"),
        score=validate.int_range(score, field="attempt.score", low=0, high=100),
    )


def unknown_type(name: str) -> InvalidArgument:
    return InvalidArgument(
        "attempt.qualification",
        f"names no qualification type: {name!r}",
        reason="UNKNOWN_QUALIFICATION",
    )
