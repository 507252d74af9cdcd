"""A time-flagged submission waits for its reviewer, on the real stack. Twenty
contractors each report 10 s of work on a project's tasks (the project's usual time);
a twenty-first reports 1 s, far below it, and is flagged FAST with its numbers. Work
handed in after it, unflagged, is accepted by the auto-accept delay (a second here);
the flagged work is not: it stays pending until the client accepts it. The only wait
that is not bounded by an outcome is the one that lets claims live the 10 s their
contractors report (the matcher refuses more time than a claim has been live)."""

from __future__ import annotations

import asyncio

import grpc

from crewline.v1 import events_pb2
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import (
    Metadata,
    as_client,
    as_contractor,
    claim,
    new_project,
    tasks_in,
    unique,
    wait_offered,
)
from harness import Stack
from stack import eventually

USUAL = 10  # seconds each ordinary contractor reports
SAMPLES = 20  # the flag needs this many timed submissions in the project
WAIT = 60.0


async def hand_in(stack: Stack, worker: str, claim_id: str, seconds: int) -> None:
    await stack.work.SubmitWork(
        work_api.SubmitWorkRequest(claim_id=claim_id, result=b"4/5", worked_seconds=seconds),
        metadata=await as_contractor(stack, worker),
    )


async def stored(stack: Stack, md: Metadata, submission_id: str) -> task_api.Submission | None:
    """The submission, once the dispatcher has it."""
    try:
        reply = await stack.tasks.GetSubmission(
            task_api.GetSubmissionRequest(submission_id=submission_id), metadata=md
        )
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.NOT_FOUND:  # on its way
            return None
        raise
    return reply.submission


async def test_fast_work_is_flagged_with_its_numbers_and_waits_for_its_reviewer(
    stack: Stack,
) -> None:
    lab = unique("flag-lab")
    md = await as_client(stack, lab)
    project = await new_project(stack, client=lab, auto_accept_delay_seconds=1)
    tasks = await tasks_in(stack, project, SAMPLES + 2, client=lab)
    await wait_offered(stack, *(t.task_id for t in tasks))
    workers = [unique("timed") for _ in tasks]
    claims = [
        (await claim(stack, w, t.task_id)).claim_id for w, t in zip(workers, tasks, strict=True)
    ]
    await asyncio.sleep(USUAL + 1)  # the claims have lived the time their workers report

    for worker, claim_id in zip(workers[:SAMPLES], claims[:SAMPLES], strict=True):
        await hand_in(stack, worker, claim_id, USUAL)

    async def all_stored() -> bool:  # the project's usual time is known
        reply = await stack.tasks.ListSubmissions(
            task_api.ListSubmissionsRequest(project_id=project, page_size=100), metadata=md
        )
        return len(reply.submissions) == SAMPLES

    await eventually(all_stored, timeout=WAIT)
    fast_claim, later_claim = claims[SAMPLES], claims[SAMPLES + 1]
    await hand_in(stack, workers[SAMPLES], fast_claim, 1)

    async def fast_stored() -> bool:  # judged on the 20, before the later one is in
        return await stored(stack, md, fast_claim) is not None

    await eventually(fast_stored, timeout=WAIT)
    await hand_in(stack, workers[SAMPLES + 1], later_claim, USUAL)

    # Work handed in after the fast one is auto-accepted: the delay has passed for both.
    async def later_auto_accepted() -> bool:
        later = await stored(stack, md, later_claim)
        return later is not None and later.accepted_by == events_pb2.ACCEPTED_BY_AUTO_ACCEPT

    await eventually(later_auto_accepted, timeout=WAIT)
    fast = await stored(stack, md, fast_claim)
    assert fast is not None
    assert fast.status == task_api.SUBMISSION_STATUS_PENDING_REVIEW
    assert not fast.HasField("auto_accept_at")
    [flag] = fast.flags
    assert (flag.kind, flag.worked_seconds, flag.sample_size) == (
        events_pb2.FLAG_KIND_FAST,
        1,
        SAMPLES,
    )
    assert (flag.median_seconds, flag.scale_seconds) == (USUAL, 1.0)  # the MAD's floor
    assert flag.z_score <= -3 and "median" in flag.evidence

    flagged = await stack.tasks.ListSubmissions(
        task_api.ListSubmissionsRequest(project_id=project, flagged_only=True), metadata=md
    )
    assert [s.submission_id for s in flagged.submissions] == [fast_claim]

    accepted = await stack.tasks.AcceptSubmission(
        task_api.AcceptSubmissionRequest(submission_id=fast_claim, feedback="checked: fine"),
        metadata=md,
    )
    assert accepted.submission.accepted_by == events_pb2.ACCEPTED_BY_CLIENT
