"""Exams through the real stack: an operator defines a SCORE qualification type for a lab,
the lab attaches an exam of three gold questions from one of its projects (pass mark 60,
paid, an hour's cooldown), a contractor starts it, finds the questions among their
offers, claims and answers them (two right, one wrong), and is granted the qualification
with 67 by the matcher, with the exam in its history; their work is accepted when handed
in and paid once; a retake is refused until the cooldown ends, saying when. No timing is
asserted: each wait has a generous bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf import duration_pb2

from crewline.client.errors import error_info
from crewline.v1 import contractor_admin_service_pb2 as admin
from crewline.v1 import events_pb2, project_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import (
    Metadata,
    as_client,
    as_contractor,
    as_operator,
    balance,
    refused,
    unique,
    verified,
)
from gold_flow import REWARD_MINOR, WAIT, spec_project
from harness import Stack
from stack import eventually

RIGHT = b'{"severity": "severe", "score": 3}'
WRONG = b'{"severity": "mild", "score": 3}'


async def exam_of(stack: Stack, lab: str, client: Metadata) -> tuple[str, str]:
    """A SCORE type defined for the lab, and its exam of three paid gold questions."""
    qualification = unique("exam.triage").lower()
    await stack.contractors.DefineQualificationType(
        admin.DefineQualificationTypeRequest(
            name=qualification, kind=project_pb2.QUALIFICATION_KIND_SCORE, client_id=lab
        ),
        metadata=as_operator(stack),
    )
    project_id = await spec_project(stack, client)
    gold = quality_api.AddGoldTasksRequest(
        project_id=project_id,
        gold_tasks=[
            quality_api.GoldTask(
                idempotency_key=f"q-{n}",
                payload_json=f'{{"photo": "exam-{n}"}}',
                answer_json='{"severity": "severe"}',
            )
            for n in range(3)
        ],
    )
    exam = quality_api.Exam(
        qualification=qualification,
        project_id=project_id,
        question_count=3,
        pass_mark=60,
        retake_cooldown=duration_pb2.Duration(seconds=3600),
        paid=True,
    )

    async def attached() -> bool:
        # The key, the project and the type reach the quality service through events.
        try:
            await stack.quality.AddGoldTasks(gold, metadata=client)
            await stack.quality.SetExam(quality_api.SetExamRequest(exam=exam), metadata=client)
        except grpc.aio.AioRpcError as err:
            if err.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND):
                return False
            raise
        return True

    await eventually(attached, timeout=WAIT)
    return qualification, project_id


async def test_an_exam_grants_its_score_pays_its_work_and_enforces_its_cooldown(
    stack: Stack,
) -> None:
    lab, worker_id = unique("exam-lab"), unique("examinee")
    client = await as_client(stack, lab)
    worker = await as_contractor(stack, worker_id)
    qualification, project_id = await exam_of(stack, lab, client)

    started = await stack.quality.StartExam(
        quality_api.StartExamRequest(qualification=qualification), metadata=worker
    )
    attempt = started.attempt
    assert attempt.state == quality_api.EXAM_ATTEMPT_STATE_IN_PROGRESS
    assert len(attempt.task_ids) == 3
    again = await stack.quality.StartExam(
        quality_api.StartExamRequest(qualification=qualification), metadata=worker
    )
    assert again.attempt.attempt_id == attempt.attempt_id

    async def offered() -> bool:
        reply = await stack.work.ListOffers(
            work_api.ListOffersRequest(project_id=project_id), metadata=worker
        )
        return {o.task_id for o in reply.offers} == set(attempt.task_ids)

    await eventually(offered, timeout=WAIT)
    claims = []
    for n, task_id in enumerate(sorted(attempt.task_ids)):
        granted = await stack.work.ClaimTask(
            work_api.ClaimTaskRequest(request_id=unique("c"), task_id=task_id), metadata=worker
        )
        await stack.work.SubmitWork(
            work_api.SubmitWorkRequest(
                claim_id=granted.claim.claim_id, result=WRONG if n == 0 else RIGHT
            ),
            metadata=worker,
        )
        claims.append(granted.claim.claim_id)

    attempts: list[quality_api.ExamAttempt] = []

    async def graded() -> bool:
        reply = await stack.quality.ListMyExamAttempts(
            quality_api.ListMyExamAttemptsRequest(), metadata=worker
        )
        attempts[:] = reply.attempts
        return attempts[0].state != quality_api.EXAM_ATTEMPT_STATE_IN_PROGRESS

    await eventually(graded, timeout=WAIT)
    [done] = attempts
    assert (done.state, done.score, done.answered) == (
        quality_api.EXAM_ATTEMPT_STATE_PASSED,
        67,  # 2 of 3, rounded half up
        3,
    )

    # The matcher grants the qualification with the score, and keeps the history.
    async def granted() -> bool:
        reply = await stack.contractors.ListQualifications(
            admin.ListQualificationsRequest(contractor_id=worker_id),
            metadata=as_operator(stack),
        )
        held = {q.qualification: q.score for q in reply.qualifications}
        reasons = [h.reason for h in reply.history if h.qualification == qualification]
        return held.get(qualification) == 67 and reasons == [f"exam {done.attempt_id}"]

    await eventually(granted, timeout=WAIT)

    # A retake before the cooldown ends is refused, saying when it ends.
    err = await refused(
        stack.quality.StartExam(
            quality_api.StartExamRequest(qualification=qualification), metadata=worker
        )
    )
    reason, metadata = error_info(err)
    assert (err.code(), reason) == (grpc.StatusCode.FAILED_PRECONDITION, "EXAM_COOLDOWN")
    retake_after = datetime.fromisoformat(metadata["retake_after"])
    assert retake_after == done.retake_after.ToDatetime(tzinfo=UTC)
    assert retake_after - done.finished_at.ToDatetime(tzinfo=UTC) == timedelta(hours=1)
    assert retake_after.isoformat()[:19] in (err.details() or "")

    # The work was accepted when handed in, without the client, and paid once.
    for claim_id in claims:
        reply = await stack.tasks.GetSubmission(
            task_api.GetSubmissionRequest(submission_id=claim_id), metadata=client
        )
        assert reply.submission.accepted_by == events_pb2.ACCEPTED_BY_EXAM

    async def paid() -> bool:
        return await balance(stack, f"contractor:{worker_id}") == 3 * REWARD_MINOR

    await eventually(paid, timeout=WAIT)
    await verified(stack)
