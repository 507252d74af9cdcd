"""A disputed gold key, corrected, rescores everyone, on the real stack. A careful
contractor answers both gold tasks as their key says (severe); a careless one answers both
otherwise (mild), is suspended by the project's rule (gold accuracy below 40 on at least
2 answers) with both as evidence, and the client rejects one of those answers. They
dispute that gold task's key; the client agrees and corrects it to mild. Then the careless
contractor's answer is right after all: their sanction no longer holds and is lifted,
their rejected work on it is accepted (ACCEPTED_BY_KEY_CORRECTION) and paid once, and the
careful contractor, whose answer is now wrong, is rescored from 83 to 50. No timing is
asserted: each wait has a generous bound."""

from __future__ import annotations

from google.protobuf import duration_pb2

from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import Metadata, as_client, as_contractor, balance, unique, verified
from gold_flow import (
    REWARD_MINOR,
    WAIT,
    LiveOffers,
    add_gold,
    gold_answers,
    ordinary_tasks,
    reject,
    reviews_counted,
    spec_project,
)
from harness import Stack
from stack import eventually

RIGHT = b'{"severity": "severe", "score": 3}'
RULE = quality_api.QualityRule(
    rule_id="careless",
    measure=quality_api.RULE_MEASURE_GOLD_ACCURACY,
    below=40,
    min_sample=2,
    action=quality_api.RULE_ACTION_SUSPEND,
    duration=duration_pb2.Duration(seconds=3600),
)


async def works_through_gold(
    stack: Stack,
    client: Metadata,
    worker: Metadata,
    project_id: str,
    streams: list[LiveOffers],
    **result: bytes,
) -> list[str]:
    """The worker's claims on both gold tasks, met among ordinary work of their own."""
    live = LiveOffers(
        stack.work.StreamOffers(
            work_api.StreamOffersRequest(project_id=project_id), metadata=worker
        )
    )
    streams.append(live)
    ordinary = await ordinary_tasks(stack, client, project_id, 6)
    _, gold = await gold_answers(stack, worker, live, ordinary, **result)
    return gold


async def gold_accuracy(
    stack: Stack, worker: Metadata, project_id: str
) -> quality_api.Score | None:
    reply = await stack.quality.ListMyScores(
        quality_api.ListMyScoresRequest(project_id=project_id), metadata=worker
    )
    found = [s for s in reply.scores if s.measure == quality_api.SCORE_MEASURE_GOLD_ACCURACY]
    return found[0] if found else None


async def test_a_corrected_key_lifts_the_sanction_it_caused_pays_and_rescores_everyone(
    stack: Stack, streams: list[LiveOffers]
) -> None:
    lab, careless_id = unique("dispute-lab"), unique("careless")
    client = await as_client(stack, lab)
    careful = await as_contractor(stack, unique("careful"))
    careless = await as_contractor(stack, careless_id)
    project_id = await spec_project(stack, client)
    await add_gold(stack, client, project_id, rules=(RULE,))

    await works_through_gold(stack, client, careful, project_id, streams, gold_result=RIGHT)

    async def careful_scored() -> bool:
        score = await gold_accuracy(stack, careful, project_id)
        return score is not None and (score.value, score.reviewed) == (83, 2)

    await eventually(careful_scored, timeout=WAIT)
    gold = await works_through_gold(stack, client, careless, project_id, streams)
    await reject(stack, client, gold[0])
    await reviews_counted(stack, careless, project_id, 1)

    sanctions: list[quality_api.Sanction] = []

    async def sanctioned() -> bool:
        reply = await stack.quality.ListMySanctions(
            quality_api.ListMySanctionsRequest(project_id=project_id), metadata=careless
        )
        sanctions[:] = reply.sanctions
        return bool(sanctions)

    await eventually(sanctioned, timeout=WAIT)
    [sanction] = sanctions
    assert (sanction.state, sanction.measured_value) == (quality_api.SANCTION_STATE_ACTIVE, 17)
    [shown] = [e for e in sanction.evidence if e.submission_id == gold[0]]

    filed = await stack.quality.DisputeGoldKey(
        quality_api.DisputeGoldKeyRequest(
            idempotency_key=unique("dispute"),
            task_id=shown.task_id,
            note="The photo shows a mild rash; the key says severe",
        ),
        metadata=careless,
    )
    assert (filed.dispute.state, filed.dispute.gold_id) == (quality_api.DISPUTE_STATE_OPEN, "")

    queue = await stack.quality.ListDisputes(
        quality_api.ListDisputesRequest(project_id=project_id), metadata=client
    )
    [seen] = queue.disputes
    assert seen.dispute_id == filed.dispute.dispute_id and seen.gold_id
    resolved = await stack.quality.ResolveDispute(
        quality_api.ResolveDisputeRequest(
            dispute_id=seen.dispute_id,
            correct=quality_api.GoldKeyCorrection(answer_json='{"severity": "mild"}'),
            note="You are right: corrected",
        ),
        metadata=client,
    )
    dispute = resolved.dispute
    assert dispute.state == quality_api.DISPUTE_STATE_CORRECTED
    assert list(dispute.overturned_sanction_ids) == [sanction.sanction_id]
    assert list(dispute.accepted_submission_ids) == [gold[0]]

    # The sanction the wrong key caused is lifted.
    async def lifted() -> bool:
        reply = await stack.quality.ListMySanctions(
            quality_api.ListMySanctionsRequest(project_id=project_id), metadata=careless
        )
        return reply.sanctions[0].state == quality_api.SANCTION_STATE_LIFTED

    await eventually(lifted, timeout=WAIT)

    # The careful contractor's answer to that gold is wrong now: 1 of 2.
    async def careful_rescored() -> bool:
        score = await gold_accuracy(stack, careful, project_id)
        return score is not None and (score.value, score.accepted, score.reviewed) == (50, 1, 2)

    await eventually(careful_rescored, timeout=WAIT)

    # The rejected answer is accepted by the correction, and paid once.
    async def accepted() -> bool:
        reply = await stack.tasks.GetSubmission(
            task_api.GetSubmissionRequest(submission_id=gold[0]), metadata=client
        )
        return reply.submission.accepted_by == events_pb2.ACCEPTED_BY_KEY_CORRECTION

    await eventually(accepted, timeout=WAIT)

    async def paid() -> bool:
        return await balance(stack, f"contractor:{careless_id}") == REWARD_MINOR

    await eventually(paid, timeout=WAIT)
    await verified(stack)

    mine = await stack.quality.ListMyDisputes(
        quality_api.ListMyDisputesRequest(), metadata=careless
    )
    assert [(d.state, d.gold_id) for d in mine.disputes] == [
        (quality_api.DISPUTE_STATE_CORRECTED, "")
    ]
