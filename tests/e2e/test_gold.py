"""Gold tasks through the real stack: a client adds gold to a project with an answer spec
and sets the gold share to 50 %; a contractor claims the project's ordinary tasks until a
gold task arrives on their live StreamOffers (the quality service's GoldIssued, published
by the dispatcher as a task reserved for them, offered by the matcher to them alone),
claims it, answers it wrongly, and their gold accuracy appears in ListMyScores at
100 x (K + 0) / (2K + 1) = 25 with K = 1/2, as a first rejection shows in the acceptance
rate. The gold offer and claim carry exactly the fields an
ordinary task's do. Raw stubs: what any gRPC client sends and sees. No timing is
asserted: each wait has a generous bound."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from crewline.v1 import money_pb2, project_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import Metadata, as_client, as_contractor, unique
from harness import Stack
from stack import eventually

WAIT = 60.0  # bounds a broken run only
SPEC = project_pb2.AnswerSpec(
    fields=[
        project_pb2.AnswerField(
            name="severity", choice=project_pb2.ChoiceField(labels=["mild", "severe"])
        ),
        project_pb2.AnswerField(name="score", number=project_pb2.NumberField(min=1, max=5, step=1)),
    ]
)
ANSWER = b'{"severity": "mild", "score": 3}'  # fits the spec; the gold's key says severe


class LiveOffers:
    """One StreamOffers call; its offered and withdrawn changes, read in the background."""

    def __init__(self, call: grpc.aio.UnaryStreamCall) -> None:
        self.call = call
        self.items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.call:
            if message.WhichOneof("event") == "changes":
                for change in message.changes.changes:
                    which = change.WhichOneof("change")
                    await self.items.put((which, getattr(change, which)))
            else:
                await self.items.put((message.WhichOneof("event"), message))

    async def offered(self, *, within: float = WAIT) -> work_api.Offer | None:
        """The next offer, or None when none comes within ``within`` seconds."""
        loop = asyncio.get_running_loop()
        until = loop.time() + within
        while (left := until - loop.time()) > 0:
            try:
                kind, item = await asyncio.wait_for(self.items.get(), left)
            except TimeoutError:
                return None
            if kind == "offered":
                return item  # type: ignore[no-any-return]
        return None

    async def close(self) -> None:
        self.call.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


@pytest.fixture
async def streams() -> AsyncIterator[list[LiveOffers]]:
    opened: list[LiveOffers] = []
    yield opened
    for s in opened:
        await s.close()


async def spec_project(stack: Stack, client: Metadata) -> str:
    reply = await stack.tasks.CreateProject(
        task_api.CreateProjectRequest(
            request_id=unique("proj"),
            title="Rate rashes",
            instructions="Rate the rash.",
            pay_terms=project_pb2.PayTerms(
                per_submission=project_pb2.PerSubmissionPay(
                    reward=money_pb2.Money(currency_code="USD", amount_minor=500)
                )
            ),
            assignments_per_task=1,
            auto_accept_delay_seconds=86_400,
            answer_spec=SPEC,
        ),
        metadata=client,
    )
    return reply.project.project_id


async def add_gold(stack: Stack, client: Metadata, project_id: str) -> None:
    """Two gold tasks, once the quality service knows the client's key and the project,
    and the gold share at 50 %: every ordinary claim then brings gold while some is left."""
    request = quality_api.AddGoldTasksRequest(
        project_id=project_id,
        gold_tasks=[
            quality_api.GoldTask(
                idempotency_key=f"gold-{n}",
                payload_json=f'{{"photo": "gold-{n}"}}',
                answer_json='{"severity": "severe"}',
            )
            for n in range(2)
        ],
    )

    async def added() -> bool:
        try:
            reply = await stack.quality.AddGoldTasks(request, metadata=client)
        except grpc.aio.AioRpcError as err:
            # The API key and the project reach the quality service through events.
            if err.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND):
                return False
            raise
        return len(reply.gold_tasks) == 2

    await eventually(added, timeout=WAIT)
    policy = quality_api.QualityPolicy(project_id=project_id, gold_share_percent=50)
    reply = await stack.quality.SetQualityPolicy(
        quality_api.SetQualityPolicyRequest(policy=policy), metadata=client
    )
    assert reply.policy.gold_share_percent == 50


async def ordinary_tasks(stack: Stack, client: Metadata, project_id: str, count: int) -> set[str]:
    reply = await stack.tasks.SubmitTasks(
        task_api.SubmitTasksRequest(
            project_id=project_id,
            tasks=[
                task_api.TaskSpec(idempotency_key=unique("t"), payload_json=f'{{"photo": {n}}}')
                for n in range(count)
            ],
        ),
        metadata=client,
    )
    return {t.task_id for t in reply.tasks}


async def claim(stack: Stack, worker: Metadata, task_id: str) -> work_api.Claim:
    reply = await stack.work.ClaimTask(
        work_api.ClaimTaskRequest(request_id=unique("c"), task_id=task_id), metadata=worker
    )
    return reply.claim


async def answer(stack: Stack, worker: Metadata, claim_id: str) -> None:
    await stack.work.SubmitWork(
        work_api.SubmitWorkRequest(claim_id=claim_id, result=ANSWER),
        metadata=worker,
    )


def fields(message: Any) -> set[str]:
    return {f.name for f, _ in message.ListFields()}


async def test_a_wrong_answer_to_gold_met_among_ordinary_work_scores_25(
    stack: Stack, streams: list[LiveOffers]
) -> None:
    client = await as_client(stack, unique("gold-lab"))
    worker = await as_contractor(stack, unique("gold-worker"))
    project_id = await spec_project(stack, client)
    await add_gold(stack, client, project_id)

    live = LiveOffers(
        stack.work.StreamOffers(
            work_api.StreamOffersRequest(project_id=project_id), metadata=worker
        )
    )
    streams.append(live)
    ordinary = await ordinary_tasks(stack, client, project_id, 3)
    offers: dict[str, work_api.Offer] = {}
    while not ordinary <= offers.keys():
        offer = await live.offered()
        assert offer is not None, "the ordinary tasks were not offered"
        offers[offer.task_id] = offer

    gold_offer = None
    ordinary_claim = None
    for task_id in sorted(ordinary):  # until a gold offer arrives
        ordinary_claim = await claim(stack, worker, task_id)
        await answer(stack, worker, ordinary_claim.claim_id)
        gold_offer = await live.offered(within=15.0)
        if gold_offer is not None:
            break
    assert gold_offer is not None and ordinary_claim is not None, "no gold was offered"
    assert gold_offer.task_id not in ordinary
    assert gold_offer.project_id == project_id
    assert fields(gold_offer) == fields(offers[ordinary_claim.task_id])

    gold_claim = await claim(stack, worker, gold_offer.task_id)
    assert fields(gold_claim) == fields(ordinary_claim)
    assert gold_claim.payload_json.startswith('{"photo": "gold-')
    await answer(stack, worker, gold_claim.claim_id)

    found: list[quality_api.Score] = []

    async def scored() -> bool:
        reply = await stack.quality.ListMyScores(
            quality_api.ListMyScoresRequest(project_id=project_id), metadata=worker
        )
        found[:] = [s for s in reply.scores if s.measure == quality_api.SCORE_MEASURE_GOLD_ACCURACY]
        return bool(found)

    await eventually(scored, timeout=WAIT)
    [score] = found
    assert (score.value, score.accepted, score.reviewed) == (25, 0, 1)  # 0.5 / 2

    listed = await stack.quality.ListGoldTasks(
        quality_api.ListGoldTasksRequest(project_id=project_id), metadata=client
    )
    assert sorted((g.answered, g.correct) for g in listed.gold_tasks) == [(0, 0), (1, 0)]
