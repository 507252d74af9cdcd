"""Acceptance-rate scores on the real stack: a client reviews a contractor's work at the
dispatcher, the quality service learns the reviews from Kafka, and the contractor, the
client and an operator read the score from the quality service through the SDK, while
another client sees nothing of it."""

from __future__ import annotations

import grpc
import pytest

from crewline.client import (
    Client,
    InvalidArgument,
    ScoreMeasure,
    SubmissionStatus,
    Unauthenticated,
    build,
)
from crewline.client.results import Score, Submission
from crewline.v1 import quality_service_pb2 as quality_api

from flow import (
    as_client,
    as_contractor,
    client_sdk,
    contractor_sdk,
    eventually,
    operator_sdk,
    refused,
    unique,
    wait_offered,
)
from harness import Stack


async def knows_client(client: Client) -> bool:
    """A new API key reaches the quality service through Kafka (the dispatcher publishes
    its hash); until then the service refuses it as UNAUTHENTICATED."""
    try:
        await client.contractor_scores_page(unique("probe"))
    except Unauthenticated:
        return False
    return True


async def test_one_accepted_and_one_rejected_submission_score_50(stack: Stack) -> None:
    client_id, other_id, worker_id = unique("qc-client"), unique("qc-other"), unique("qc-worker")
    client = await client_sdk(stack, client_id)
    worker = await contractor_sdk(stack, worker_id)
    project = await client.create_project(
        title="Rate answers",
        instructions="Rate the answer from 1 to 5.",
        pay_terms=build.per_submission(build.usd(300)),
        auto_accept_delay_seconds=86_400,  # reviewed by the client, not the clock
    )
    tasks = await client.submit_tasks(project.project_id, [build.task({"n": n}) for n in (1, 2)])
    await wait_offered(stack, *(t.task_id for t in tasks))
    for t in tasks:
        claim = await worker.claim(t.task_id)
        await worker.submit(claim.claim_id, "4")

    pending: list[Submission] = []

    async def handed_in() -> bool:
        pending[:] = [
            s
            async for s in client.submissions(
                project_id=project.project_id, status=SubmissionStatus.PENDING_REVIEW
            )
        ]
        return len(pending) == 2

    await eventually(handed_in)
    await client.accept(pending[0].submission_id)
    await client.reject(pending[1].submission_id, feedback="the rating ignores the rubric")

    mine: list[Score] = []

    async def scored() -> bool:  # the reviews reach the quality service through Kafka
        mine[:] = [s async for s in worker.my_scores()]
        return bool(mine) and mine[0].reviewed == 2

    await eventually(scored)
    (score,) = mine
    assert (score.contractor_id, score.project_id) == (worker_id, project.project_id)
    assert score.measure is ScoreMeasure.ACCEPTANCE_RATE
    assert (score.value, score.accepted, score.reviewed, score.window) == (50, 1, 2, 10)
    assert score.updated_at is not None and score.raw.HasField("updated_at")

    seen = [s async for s in client.contractor_scores(worker_id)]
    assert seen == mine
    page = await client.contractor_scores_page(worker_id, project_id=project.project_id)
    assert list(page.items) == mine and page.next_page_token == ""
    assert [s async for s in operator_sdk(stack).contractor_scores(worker_id)] == mine

    other = await client_sdk(stack, other_id)
    await eventually(lambda: knows_client(other))
    assert [s async for s in other.contractor_scores(worker_id)] == []
    theirs = await other.contractor_scores_page(worker_id, project_id=project.project_id)
    assert list(theirs.items) == []


async def test_each_audience_calls_only_its_own_method_and_bad_fields_are_named(
    stack: Stack,
) -> None:
    client_id, worker_id = unique("qc-client"), unique("qc-worker")
    worker = await contractor_sdk(stack, worker_id)
    assert [s async for s in worker.my_scores()] == []  # no reviewed work yet: no score

    as_worker, as_acme = await as_contractor(stack, worker_id), await as_client(stack, client_id)
    asked = quality_api.GetContractorScoresRequest(contractor_id=worker_id)
    denied = await refused(stack.quality.GetContractorScores(asked, metadata=as_worker))
    assert denied.code() is grpc.StatusCode.PERMISSION_DENIED
    client = await client_sdk(stack, client_id)
    await eventually(lambda: knows_client(client))
    mine = quality_api.ListMyScoresRequest()
    denied = await refused(stack.quality.ListMyScores(mine, metadata=as_acme))
    assert denied.code() is grpc.StatusCode.PERMISSION_DENIED

    with pytest.raises(InvalidArgument) as empty:
        await client.contractor_scores_page("")
    assert empty.value.field == "contractor_id"
    with pytest.raises(InvalidArgument) as forged:
        await worker.my_scores_page(page_token="not-ours")
    assert forged.value.field == "page_token"
