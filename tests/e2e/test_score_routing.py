"""Scores that route work, on the real stack: project B of a client requires an
acceptance rate of 60 measured in its project A. The client's reviews in A reach the
quality service, whose ScoreChanged reaches the matcher, and the contractor's live
StreamOffers gains B's task at a score of 75 and loses it (NOT_ELIGIBLE) at 38."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from crewline.client import Client, Contractor, SubmissionStatus, build
from crewline.client.errors import error_reason
from crewline.client.results import Score, Submission
from crewline.v1 import project_pb2
from crewline.v1 import work_service_pb2 as work_api

from flow import as_contractor, client_sdk, contractor_sdk, eventually, unique, wait_offered
from harness import Stack

WAIT = 60.0  # bounds a broken run only: no speed is asserted here


class LiveOffers:
    """One StreamOffers call, its changes read in the background as (kind, item)."""

    def __init__(self, call: grpc.aio.UnaryStreamCall) -> None:
        self.call = call
        self.items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.call:
            kind = message.WhichOneof("event")
            if kind != "changes":
                await self.items.put((kind, message))
                continue
            for change in message.changes.changes:
                which = change.WhichOneof("change")
                await self.items.put((which, getattr(change, which)))

    async def until(self, kind: str, task_id: str = "") -> tuple[Any, list[Any]]:
        """The next ``kind`` (of ``task_id``, when given), and every item before it."""
        before = []
        while True:
            found, item = await asyncio.wait_for(self.items.get(), WAIT)
            if found == kind and (not task_id or item.task_id == task_id):
                return item, before
            before.append((found, item))

    async def close(self) -> None:
        self.call.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


@pytest.fixture
async def streams() -> AsyncIterator[list[LiveOffers]]:
    opened: list[LiveOffers] = []
    yield opened
    for s in opened:
        await s.close()


async def handed_in(client: Client, project_id: str, count: int) -> list[Submission]:
    found: list[Submission] = []

    async def all_there() -> bool:
        found[:] = [
            s
            async for s in client.submissions(
                project_id=project_id, status=SubmissionStatus.PENDING_REVIEW
            )
        ]
        return len(found) == count

    await eventually(all_there, timeout=WAIT)
    return found


async def score_in(worker: Contractor, project_id: str, reviewed: int) -> Score:
    mine: list[Score] = []

    async def counted() -> bool:
        mine[:] = [s async for s in worker.my_scores(project_id=project_id)]
        return bool(mine) and mine[0].reviewed == reviewed

    await eventually(counted, timeout=WAIT)
    return mine[0]


async def claim_refused_as(stack: Stack, worker: str, task_id: str, reason: str) -> bool:
    try:
        await stack.work.ClaimTask(
            work_api.ClaimTaskRequest(request_id=unique("c"), task_id=task_id),
            metadata=await as_contractor(stack, worker),
        )
    except grpc.aio.AioRpcError as err:
        return error_reason(err) == reason
    raise AssertionError(f"{worker} claimed {task_id}")


async def test_a_score_in_one_project_opens_and_closes_another_on_a_live_stream(
    stack: Stack, streams: list[LiveOffers]
) -> None:
    client_id, worker_id = unique("route-client"), unique("route-worker")
    client = await client_sdk(stack, client_id)
    worker = await contractor_sdk(stack, worker_id)
    terms = build.per_submission(build.usd(200))
    # Reviewed by the client, not the clock.
    training = await client.create_project(
        title="Training", pay_terms=terms, auto_accept_delay_seconds=86_400
    )
    a = training.project_id
    main = await client.create_project(
        title="Main pool",
        pay_terms=terms,
        requirements=[
            project_pb2.Requirement(
                qualification="quality.acceptance_rate",
                comparator=project_pb2.COMPARATOR_GREATER_OR_EQUAL,
                scores=[60],
                project_id=a,
            )
        ],
    )
    assert main.raw.requirements[0].project_id == a

    tasks = await client.submit_tasks(a, [build.task({"n": n}) for n in range(3)])
    await wait_offered(stack, *(t.task_id for t in tasks))
    for t in tasks:
        claim = await worker.claim(t.task_id)
        await worker.submit(claim.claim_id, "4")
    (b_task,) = await client.submit_tasks(main.project_id, [build.task({"n": 0})])
    # Not measured in A yet: B's task is pooled, and refused to the worker.
    await eventually(
        lambda: claim_refused_as(stack, worker_id, b_task.task_id, "NOT_QUALIFIED"), timeout=WAIT
    )

    call = stack.work.StreamOffers(
        work_api.StreamOffersRequest(), metadata=await as_contractor(stack, worker_id)
    )
    live = LiveOffers(call)
    streams.append(live)
    _, snapshot = await live.until("snapshot_end")
    assert b_task.task_id not in {i.task_id for kind, i in snapshot if kind == "offered"}

    first, *others = await handed_in(client, a, 3)
    await client.accept(first.submission_id)
    offered, _ = await live.until("offered", b_task.task_id)  # 75: (0.5 + 1) / (1 + 1)
    assert offered.project_id == main.project_id
    assert (await score_in(worker, a, 1)).value == 75

    for s in others:
        await client.reject(s.submission_id, feedback="off the rubric")
    withdrawn, _ = await live.until("withdrawn", b_task.task_id)
    assert withdrawn.reason == work_api.WITHDRAWAL_REASON_NOT_ELIGIBLE
    score = await score_in(worker, a, 3)
    assert (score.value, score.accepted, score.reviewed) == (38, 1, 3)  # 1.5 / 4
    assert await claim_refused_as(stack, worker_id, b_task.task_id, "NOT_QUALIFIED")
