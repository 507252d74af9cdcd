"""The SDK's scores: each score call answers typed ``Score``s (a page, and every score page
by page; async and blocking), whichever audience asks, against a stand-in quality service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from grpc_standin import Refusal, StandIns

from crewline.client import (
    Client,
    Contractor,
    Endpoints,
    InvalidArgument,
    Operator,
    Score,
    ScoreMeasure,
    sync,
)
from crewline.v1 import quality_service_pb2 as quality_api

SCORE = {
    "contractor_id": "dr-lee",
    "project_id": "p-1",
    "measure": "SCORE_MEASURE_ACCEPTANCE_RATE",
    "value": 75,
    "accepted": 1,
    "reviewed": 1,
    "window": 10,
    "updated_at": "2026-03-01T14:05:09Z",
}
LATER = {**SCORE, "project_id": "p-2", "value": 25, "accepted": 0}


def quality(servers: StandIns) -> Endpoints:
    return Endpoints(quality=servers.address("quality"))


def test_a_score_reads_every_field_typed_and_says_itself_in_one_line() -> None:
    message = quality_api.Score(
        contractor_id="dr-lee",
        project_id="p-1",
        measure=quality_api.SCORE_MEASURE_ACCEPTANCE_RATE,
        value=67,
        accepted=3,
        reviewed=4,
        window=10,
    )
    message.updated_at.FromDatetime(datetime(2026, 3, 1, 14, 5, tzinfo=UTC))
    score = Score.from_pb(message)
    assert score.measure is ScoreMeasure.ACCEPTANCE_RATE
    assert (score.value, score.accepted, score.reviewed, score.window) == (67, 3, 4, 10)
    assert score.updated_at == datetime(2026, 3, 1, 14, 5, tzinfo=UTC)
    assert score.raw is message
    assert str(score) == (
        "dr-lee in p-1: ACCEPTANCE_RATE 67, 3 of 4 reviewed accepted (window 10),"
        " updated 2026-03-01 14:05 UTC"
    )
    assert repr(score) == (
        "Score(contractor_id='dr-lee', project_id='p-1', measure=ACCEPTANCE_RATE,"
        " value=67, reviewed=4)"
    )


def test_a_measure_newer_than_the_sdk_is_none_and_the_message_keeps_it() -> None:
    score = Score.from_pb(quality_api.Score(measure=99, value=50))
    assert score.measure is None and score.raw.measure == 99
    assert score.updated_at is None
    assert "UNKNOWN 50" in str(score)


async def test_a_contractors_own_scores_come_typed_a_page_and_every_page(
    servers: StandIns,
) -> None:
    servers.play(
        {"ListMyScores": [{"scores": [SCORE], "next_page_token": "t2"}, {"scores": [LATER]}]}
    )
    async with Contractor(credential="a.b.c", endpoints=quality(servers), env={}) as me:
        page = await me.my_scores_page(project_id="p-1", page_size=1)
        servers.play(
            {"ListMyScores": [{"scores": [SCORE], "next_page_token": "t2"}, {"scores": [LATER]}]}
        )
        every = [s async for s in me.my_scores(page_size=1)]

    [first] = page.items
    assert isinstance(first, Score) and first.measure is ScoreMeasure.ACCEPTANCE_RATE
    assert (first.project_id, first.value, page.next_page_token) == ("p-1", 75, "t2")
    assert [(s.project_id, s.value) for s in every] == [("p-1", 75), ("p-2", 25)]
    assert [r.request for r in servers.received] == [
        {"page_size": 1},
        {"page_size": 1, "page_token": "t2"},
    ]
    assert {r.server for r in servers.received} == {"quality"}


async def test_one_contractors_scores_come_typed_to_a_client_and_an_operator(
    servers: StandIns,
) -> None:
    answers = {"GetContractorScores": [{"scores": [SCORE, LATER]}]}
    servers.play(answers)
    async with Client(credential="crwk_k_s", endpoints=quality(servers), env={}) as client:
        page = await client.contractor_scores_page("dr-lee", project_id="p-1")
    async with Operator(credential="crwo_op", endpoints=quality(servers), env={}) as op:
        every = [s async for s in op.contractor_scores("dr-lee")]

    assert [s.value for s in page.items] == [75, 25] and page.next_page_token == ""
    assert every == list(page.items)
    assert [r.request for r in servers.received] == [
        {"contractor_id": "dr-lee", "project_id": "p-1"},
        {"contractor_id": "dr-lee"},
    ]
    assert [r.authorization for r in servers.received] == ["Bearer crwk_k_s", "Bearer crwo_op"]


def test_the_blocking_sdk_answers_the_same_scores(servers: StandIns) -> None:
    servers.play(
        {"ListMyScores": [{"scores": [SCORE]}], "GetContractorScores": [{"scores": [LATER]}]}
    )
    with sync.Contractor(credential="a.b.c", endpoints=quality(servers), env={}) as me:
        [mine] = me.my_scores_page().items
        assert [s.value for s in me.my_scores()] == [75]
    with sync.Client(credential="crwk_k_s", endpoints=quality(servers), env={}) as client:
        [theirs] = list(client.contractor_scores("dr-lee", project_id="p-2"))
        assert client.contractor_scores_page("dr-lee").items == (theirs,)
    with sync.Operator(credential="crwo_op", endpoints=quality(servers), env={}) as op:
        assert list(op.contractor_scores("dr-lee")) == [theirs]
        assert op.contractor_scores_page("dr-lee").items == (theirs,)

    assert (mine.project_id, mine.value) == ("p-1", 75)
    assert (theirs.project_id, theirs.value, theirs.accepted) == ("p-2", 25, 0)


def test_a_refused_score_call_names_the_quality_service_and_the_field(servers: StandIns) -> None:
    refused = Refusal(
        "INVALID_ARGUMENT", "is required", "INVALID_ARGUMENT", {"field": "contractor_id"}
    )
    servers.play({"GetContractorScores": [refused]})
    with sync.Operator(credential="crwo_op", endpoints=quality(servers), env={}) as op:
        with pytest.raises(InvalidArgument) as err:
            op.contractor_scores_page("")
    assert (err.value.service, err.value.address) == ("quality", servers.address("quality"))
    assert err.value.field == "contractor_id"
