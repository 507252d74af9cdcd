"""Gold through the real stack, as a client and a contractor meet it: a project with an
answer spec and gold at a 50 % share, ordinary tasks, a live StreamOffers read in the
background, claims and answers. Raw stubs: what any gRPC client sends and sees."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from crewline.v1 import money_pb2, project_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import Metadata, unique
from harness import Stack
from stack import eventually

REWARD_MINOR = 500  # what the project pays a submission
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


async def spec_project(stack: Stack, client: Metadata) -> str:
    reply = await stack.tasks.CreateProject(
        task_api.CreateProjectRequest(
            request_id=unique("proj"),
            title="Rate rashes",
            instructions="Rate the rash.",
            pay_terms=project_pb2.PayTerms(
                per_submission=project_pb2.PerSubmissionPay(
                    reward=money_pb2.Money(currency_code="USD", amount_minor=REWARD_MINOR)
                )
            ),
            assignments_per_task=1,
            auto_accept_delay_seconds=86_400,
            answer_spec=SPEC,
        ),
        metadata=client,
    )
    return reply.project.project_id


async def add_gold(
    stack: Stack,
    client: Metadata,
    project_id: str,
    *,
    rules: tuple[quality_api.QualityRule, ...] = (),
) -> None:
    """Two gold tasks, once the quality service knows the client's key and the project,
    and the gold share at 50 % (every ordinary claim then brings gold while some is left)
    with ``rules``."""
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
    policy = quality_api.QualityPolicy(project_id=project_id, gold_share_percent=50, rules=rules)
    setting = quality_api.SetQualityPolicyRequest(policy=policy)
    setting.update_mask.paths.extend(["gold_share_percent", "rules"])
    reply = await stack.quality.SetQualityPolicy(setting, metadata=client)
    assert reply.policy.gold_share_percent == 50
    assert [r.rule_id for r in reply.policy.rules] == [r.rule_id for r in rules]


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


async def gold_answers(
    stack: Stack,
    worker: Metadata,
    live: LiveOffers,
    ordinary: set[str],
    *,
    gold_result: bytes = ANSWER,
) -> tuple[list[str], list[str]]:
    """Claim ordinary work, answering each, until two gold tasks came and were answered
    with ``gold_result`` (by default wrongly): (ordinary claim ids, gold claim ids)."""
    seen: set[str] = set()
    while not ordinary <= seen:  # the matcher knows them all
        offer = await live.offered()
        assert offer is not None, "the ordinary tasks were not offered"
        seen.add(offer.task_id)
    done: list[str] = []
    gold: list[str] = []
    for task_id in sorted(ordinary):
        granted = await claim(stack, worker, task_id)
        await answer(stack, worker, granted.claim_id)
        done.append(granted.claim_id)
        offer = await live.offered(within=15.0)
        while offer is not None and offer.task_id in ordinary:
            offer = await live.offered(within=15.0)
        if offer is None:
            continue
        gold_claim = await claim(stack, worker, offer.task_id)
        await stack.work.SubmitWork(
            work_api.SubmitWorkRequest(claim_id=gold_claim.claim_id, result=gold_result),
            metadata=worker,
        )
        gold.append(gold_claim.claim_id)
        if len(gold) == 2:
            return done, gold
    raise AssertionError(f"only {len(gold)} gold task(s) came")


async def reject(stack: Stack, client: Metadata, submission_id: str) -> None:
    async def pending() -> bool:
        try:
            await stack.tasks.RejectSubmission(
                task_api.RejectSubmissionRequest(
                    submission_id=submission_id, feedback="answers look random"
                ),
                metadata=client,
            )
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:  # the work is on its way
                return False
            raise
        return True

    await eventually(pending, timeout=WAIT)


async def reviews_counted(stack: Stack, worker: Metadata, project_id: str, count: int) -> None:
    """Once the quality service has counted ``count`` reviews of the worker's work in the
    project (it learns them from the dispatcher's events): a rejection can be appealed,
    and a ruling finds it, only then."""

    async def counted() -> bool:
        reply = await stack.quality.ListMyScores(
            quality_api.ListMyScoresRequest(project_id=project_id), metadata=worker
        )
        return any(
            s.measure == quality_api.SCORE_MEASURE_ACCEPTANCE_RATE and s.reviewed == count
            for s in reply.scores
        )

    await eventually(counted, timeout=WAIT)
