"""Due process through the real stack, with two quality processes: a careless contractor
answers two gold tasks wrongly, the project's rule (gold accuracy below 60 on at least 2
answers: suspend) suspends them with the evidence, the matcher stops offering them the
project's work, and the client's Watch shows it. They appeal the sanction and a rejection
of their work; nobody decides, the deadline upholds both, the suspension is lifted, and
the rejected work (an ordinary task's and a gold task's) is accepted by appeal and paid
exactly once. The second quality process files the appeals with a decision deadline of a
few seconds, so the durable clock fires during the test; no timing is asserted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest
from google.protobuf import duration_pb2

from crewline.client.errors import error_reason
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import quality_service_pb2_grpc as quality_grpc
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import Metadata, as_client, as_contractor, balance, refused, unique, verified
from gold_flow import (
    REWARD_MINOR,
    WAIT,
    LiveOffers,
    add_gold,
    claim,
    gold_answers,
    ordinary_tasks,
    reject,
    reviews_counted,
    spec_project,
)
from harness import ServiceProcess, Stack
from stack import eventually

DECISION_SECONDS = 4
RULE = quality_api.QualityRule(
    rule_id="careless",
    measure=quality_api.RULE_MEASURE_GOLD_ACCURACY,
    below=60,
    min_sample=2,
    action=quality_api.RULE_ACTION_SUSPEND,
    duration=duration_pb2.Duration(seconds=int(timedelta(hours=1).total_seconds())),
)


@pytest.fixture
async def quick_quality(stack: Stack) -> AsyncIterator[quality_grpc.QualityServiceStub]:
    """A second quality process, whose appeals must be decided within a few seconds."""
    process: ServiceProcess = stack.services["quality"].replica(
        "quick-appeals", CREWLINE_QUALITY_APPEAL_DECISION_SECONDS=str(DECISION_SECONDS)
    )
    process.start()
    try:
        assert await process.wait_serving() == "SERVING"
        async with grpc.aio.insecure_channel(process.grpc_addr) as channel:
            yield quality_grpc.QualityServiceStub(channel)
    finally:
        process.terminate()


class Watched:
    """The client's Watch of one project, read in the background from before anything."""

    def __init__(self, stack: Stack, client: Metadata, project_id: str) -> None:
        self.call = stack.tasks.Watch(task_api.WatchRequest(project_id=project_id), metadata=client)
        self.events: list[task_api.WatchEvent] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for response in self.call:
            self.events.extend(response.events)

    def of(self, kind: str) -> list[task_api.WatchEvent]:
        return [e for e in self.events if e.WhichOneof("event") == kind]

    async def close(self) -> None:
        self.call.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


async def offered_tasks(stack: Stack, worker: Metadata, project_id: str) -> set[str]:
    reply = await stack.work.ListOffers(
        work_api.ListOffersRequest(project_id=project_id), metadata=worker
    )
    return {o.task_id for o in reply.offers}


async def test_a_careless_contractor_is_suspended_with_evidence_and_an_unanswered_appeal_is_upheld(
    stack: Stack, streams: list[LiveOffers], quick_quality: quality_grpc.QualityServiceStub
) -> None:
    lab, worker_id = unique("qc-lab"), unique("careless")
    client = await as_client(stack, lab)
    worker = await as_contractor(stack, worker_id)
    project_id = await spec_project(stack, client)
    watched = Watched(stack, client, project_id)
    try:
        await add_gold(stack, client, project_id, rules=(RULE,))
        live = LiveOffers(
            stack.work.StreamOffers(
                work_api.StreamOffersRequest(project_id=project_id), metadata=worker
            )
        )
        streams.append(live)
        ordinary = await ordinary_tasks(stack, client, project_id, 6)
        done, gold = await gold_answers(stack, worker, live, ordinary)
        for submission_id in (done[0], gold[0]):
            await reject(stack, client, submission_id)
        await reviews_counted(stack, worker, project_id, 2)

        # Caught, with the evidence: both gold tasks, their answers and the key.
        sanctions: list[quality_api.Sanction] = []

        async def sanctioned() -> bool:
            reply = await stack.quality.ListMySanctions(
                quality_api.ListMySanctionsRequest(project_id=project_id), metadata=worker
            )
            sanctions[:] = reply.sanctions
            return bool(sanctions)

        await eventually(sanctioned, timeout=WAIT)
        [sanction] = sanctions
        assert (sanction.action, sanction.state) == (
            quality_api.RULE_ACTION_SUSPEND,
            quality_api.SANCTION_STATE_ACTIVE,
        )
        assert (sanction.rule.rule_id, sanction.measured_value, sanction.sample) == (
            "careless",
            17,  # 100 x (1/2 + 0) / (1 + 2)
            2,
        )
        assert sorted(e.submission_id for e in sanction.evidence) == sorted(gold)
        for item in sanction.evidence:
            assert item.WhichOneof("item") == "gold"
            assert json.loads(item.gold.answer_json)["severity"] == "mild"
            assert json.loads(item.gold.expected_json) == {"severity": "severe"}
            assert not item.gold.correct
            assert item.gold.payload_json.startswith('{"photo": "gold-')

        # Suspended: no offers in the project, and a claim is refused as under a block.
        fresh = await ordinary_tasks(stack, client, project_id, 1)

        async def withdrawn() -> bool:
            return not await offered_tasks(stack, worker, project_id)

        await eventually(withdrawn, timeout=WAIT)
        [task_id] = fresh
        errors: list[grpc.aio.AioRpcError] = []

        async def claim_refused() -> bool:  # NOT_FOUND until the matcher knows the task
            err = await refused(
                stack.work.ClaimTask(
                    work_api.ClaimTaskRequest(request_id=unique("c"), task_id=task_id),
                    metadata=worker,
                )
            )
            errors.append(err)
            return err.code() != grpc.StatusCode.NOT_FOUND

        await eventually(claim_refused, timeout=WAIT)
        err = errors[-1]
        assert (err.code(), error_reason(err)) == (grpc.StatusCode.PERMISSION_DENIED, "BLOCKED")

        # Two appeals nobody decides: the deadline upholds them.
        for subject in ({"sanction_id": sanction.sanction_id}, {"submission_id": done[0]}):
            filed = await quick_quality.FileAppeal(
                quality_api.FileAppealRequest(
                    idempotency_key=unique("appeal"), text="I read every case", **subject
                ),
                metadata=worker,
            )
            assert filed.appeal.state == quality_api.APPEAL_STATE_PENDING

        async def upheld() -> bool:
            reply = await stack.quality.ListMyAppeals(
                quality_api.ListMyAppealsRequest(), metadata=worker
            )
            return len(reply.appeals) == 2 and all(
                (a.state, a.decided_by)
                == (quality_api.APPEAL_STATE_UPHELD, quality_api.APPEAL_DECIDER_DEADLINE)
                for a in reply.appeals
            )

        await eventually(upheld, timeout=WAIT)

        # The suspension is lifted and the project's work is offered again.
        async def lifted() -> bool:
            reply = await stack.quality.ListMySanctions(
                quality_api.ListMySanctionsRequest(project_id=project_id), metadata=worker
            )
            return reply.sanctions[0].state == quality_api.SANCTION_STATE_LIFTED

        await eventually(lifted, timeout=WAIT)

        async def offered_again() -> bool:
            return task_id in await offered_tasks(stack, worker, project_id)

        await eventually(offered_again, timeout=WAIT)
        assert (await claim(stack, worker, task_id)).task_id == task_id

        # Both rejections are accepted by appeal, and each is paid once.
        async def accepted_by_appeal() -> bool:
            for submission_id in (done[0], gold[0]):
                reply = await stack.tasks.GetSubmission(
                    task_api.GetSubmissionRequest(submission_id=submission_id), metadata=client
                )
                if reply.submission.accepted_by != events_pb2.ACCEPTED_BY_APPEAL:
                    return False
            return True

        await eventually(accepted_by_appeal, timeout=WAIT)

        async def paid() -> bool:
            return await balance(stack, f"contractor:{worker_id}") == 2 * REWARD_MINOR

        await eventually(paid, timeout=WAIT)
        await verified(stack)
        assert await balance(stack, f"contractor:{worker_id}") == 2 * REWARD_MINOR

        # The client saw all of it in its Watch.
        async def watched_all() -> bool:
            states = [e.sanction_changed.sanction.state for e in watched.of("sanction_changed")]
            appeals = [e.appeal_changed.appeal.state for e in watched.of("appeal_changed")]
            return states == [
                quality_api.SANCTION_STATE_ACTIVE,
                quality_api.SANCTION_STATE_LIFTED,
            ] and sorted(appeals) == sorted(
                [quality_api.APPEAL_STATE_PENDING, quality_api.APPEAL_STATE_UPHELD] * 2
            )

        await eventually(watched_all, timeout=WAIT)
        for event in watched.of("sanction_changed"):
            assert not event.sanction_changed.sanction.evidence
            assert event.project_id == project_id and not event.task_id
    finally:
        await watched.close()
