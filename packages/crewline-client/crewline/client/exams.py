"""Exams on the quality service's QualityService: anyone reads the exams that grant
qualification types (``ExamReads``); a contractor takes one and reads their own attempts
(``MyExams``, on ``Contractor``); an operator, or the client a SCORE type names, sets the
exam that grants it and reads the attempts at it (``Exams``, on ``Client`` and
``Operator``). Each is a typed ``Exam`` or ``ExamAttempt``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from crewline.client import paging
from crewline.client.results import Exam, ExamAttempt, Page
from crewline.client.scores import _Quality
from crewline.v1 import quality_service_pb2 as quality_api


class ExamReads(_Quality):
    """The exams, without their questions: anyone may read them."""

    async def exam(self, qualification: str) -> Exam:
        """The exam that grants ``qualification``; none is NOT_FOUND."""
        request = quality_api.GetExamRequest(qualification=qualification)
        reply = await self._quality("GetExam", request, quality_api.GetExamResponse)
        return Exam.from_pb(reply.exam)

    async def list_exams_page(self, *, page_size: int = 0, page_token: str = "") -> Page[Exam]:
        """One page of exams, by qualification."""
        request = quality_api.ListExamsRequest(page_size=page_size, page_token=page_token)
        reply = await self._quality("ListExams", request, quality_api.ListExamsResponse)
        return Page.from_pb(reply, Exam.from_pb)

    def exams(self, *, page_size: int = 0) -> AsyncIterator[Exam]:
        """Every exam, by qualification, page by page."""
        return paging.every(
            lambda token: self.list_exams_page(page_size=page_size, page_token=token)
        )


class MyExams(ExamReads):
    """The calling contractor's exams: taking one, and their own attempts."""

    async def start_exam(self, qualification: str) -> ExamAttempt:
        """Takes the exam that grants ``qualification``: its questions (``task_ids``)
        arrive as tasks reserved for the caller in the exam's project, claimed and
        submitted as any task, and the attempt is scored when every one is answered or
        at ``ends_by``. Called again while an attempt is in progress, it returns that
        attempt. A retake before the cooldown ends is refused (``Refused``, reason
        EXAM_COOLDOWN; its ``.retake_after`` says when it may start); too few questions
        to ask is EXAM_UNAVAILABLE; no exam is NOT_FOUND."""
        request = quality_api.StartExamRequest(qualification=qualification)
        reply = await self._quality("StartExam", request, quality_api.StartExamResponse)
        return ExamAttempt.from_pb(reply.attempt)

    async def my_exam_attempts_page(
        self, *, page_size: int = 0, page_token: str = ""
    ) -> Page[ExamAttempt]:
        """One page of the caller's attempts, newest first."""
        request = quality_api.ListMyExamAttemptsRequest(page_size=page_size, page_token=page_token)
        reply = await self._quality(
            "ListMyExamAttempts", request, quality_api.ListMyExamAttemptsResponse
        )
        return Page.from_pb(reply, ExamAttempt.from_pb)

    def my_exam_attempts(self, *, page_size: int = 0) -> AsyncIterator[ExamAttempt]:
        """Every attempt of the caller, newest first, page by page."""
        return paging.every(
            lambda token: self.my_exam_attempts_page(page_size=page_size, page_token=token)
        )


class Exams(ExamReads):
    """The exams an operator, or the client a SCORE qualification type names, sets, and
    the attempts at them."""

    async def set_exam(
        self,
        qualification: str,
        project_id: str,
        question_count: int,
        pass_mark: int,
        retake_cooldown: timedelta,
        paid: bool,
        time_limit: timedelta | None = None,
    ) -> Exam:
        """Attaches (or replaces) the exam that grants the SCORE type ``qualification``:
        ``question_count`` (1-100) of the gold tasks of ``project_id`` drawn at random,
        passed at ``pass_mark`` (0-100) with the score as the qualification's value,
        retaken ``retake_cooldown`` (0-365 days) after an attempt ends, the work paid under
        the project's terms when ``paid``; ``time_limit``: 1 minute to 7 days (None: 1
        day). Attempts in progress keep the exam they started under. A type that is not
        the client's, or unknown, is NOT_FOUND naming ``exam.qualification``; every other
        refusal names its field (``exam.pass_mark``)."""
        exam = quality_api.Exam(
            qualification=qualification,
            project_id=project_id,
            question_count=question_count,
            pass_mark=pass_mark,
            paid=paid,
        )
        exam.retake_cooldown.FromTimedelta(retake_cooldown)
        if time_limit is not None:
            exam.time_limit.FromTimedelta(time_limit)
        request = quality_api.SetExamRequest(exam=exam)
        reply = await self._quality("SetExam", request, quality_api.SetExamResponse)
        return Exam.from_pb(reply.exam)

    async def list_exam_attempts_page(
        self,
        qualification: str,
        *,
        contractor_id: str | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[ExamAttempt]:
        """One page of the attempts at the exam that grants ``qualification``, newest
        first; ``contractor_id``: that contractor's only (None: everyone's)."""
        request = quality_api.ListExamAttemptsRequest(
            qualification=qualification,
            contractor_id=contractor_id or "",
            page_size=page_size,
            page_token=page_token,
        )
        reply = await self._quality(
            "ListExamAttempts", request, quality_api.ListExamAttemptsResponse
        )
        return Page.from_pb(reply, ExamAttempt.from_pb)

    def exam_attempts(
        self, qualification: str, contractor_id: str | None = None, *, page_size: int = 0
    ) -> AsyncIterator[ExamAttempt]:
        """Every attempt at the exam matching the filters, newest first, page by page."""
        return paging.every(
            lambda token: self.list_exam_attempts_page(
                qualification, contractor_id=contractor_id, page_size=page_size, page_token=token
            )
        )
