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

from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import work_service_pb2 as work_api

from flow import as_client, as_contractor, unique
from gold_flow import (
    WAIT,
    LiveOffers,
    add_gold,
    answer,
    claim,
    fields,
    ordinary_tasks,
    spec_project,
)
from harness import Stack
from stack import eventually


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
