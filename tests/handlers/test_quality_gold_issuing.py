"""Gold as contractors meet it, through the quality service's handlers on a real
database, with a random source that does as it is told: an ordinary claim issues gold
(GoldIssued through the outbox, keyed by contractor, carrying the payload and never the
key), at most one open at a time, never the same gold twice, none once every gold task
is met, none at share 0 or in a project not active; an answer is scored (tolerance,
labels also accepted) into a gold accuracy published as ScoreChanged; redelivery
changes nothing."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest
from aiokafka import ConsumerRecord
from gold_support import (
    ACME,
    Draws,
    add,
    deliver,
    ended,
    gold_of,
    granted,
    issued,
    item,
    new_id,
    outbox,
    project_changed,
    submitted,
)

from crewline.consumer import EventConsumer
from crewline.events import CLAIMS_TOPIC, QUALITY_TOPIC, parse_envelope, wrap
from crewline.metrics import Metrics
from crewline.protobuf import from_timestamp
from crewline.settings import KafkaSettings
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.deps import Deps
from quality.domain import gold, issuing
from quality.domain.gold_keys import FieldRule
from quality.domain.issuing import LAPSE_GRACE
from quality.handlers import event_routes
from quality.handlers.gold import list_gold_tasks, set_policy

SEVERITY = item(0, '{"severity": "refer"}', FieldRule(field="severity", also_accepted=("watch",)))
CONFIDENCE = item(1, '{"confidence": 0.85}', FieldRule(field="confidence", tolerance=0.1))
SIGNS = item(2, '{"signs": ["rash", "itch"], "severity": "benign"}')


async def project_with_gold(deps: Deps, *, share: int | None = 50, **project: object) -> list[str]:
    """Project p1 of acme, with the spec and three gold tasks; their ids, in order."""
    await deliver(deps, project_changed(**project))  # type: ignore[arg-type]
    if share is not None:
        cmd = issuing.set_policy(client_id="acme", project_id="p1", gold_share_percent=share)
        await set_policy(cmd, deps)
    return [str(g.gold_id) for g in await add(deps, SEVERITY, CONFIDENCE, SIGNS)]


def told(deps: Deps, draw: float = 0.0, index: int = 0) -> Deps:
    return dataclasses.replace(deps, random=Draws(draw, index))


async def claim_ordinary(deps: Deps, contractor: str = "ann") -> None:
    await deliver(deps, granted(new_id(), new_id(), contractor=contractor))


async def test_an_ordinary_claim_issues_gold_through_the_outbox_without_its_key(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = told(quality_deps, index=1)
    golds = await project_with_gold(deps)
    await claim_ordinary(deps)

    [(key, event, envelope)] = await outbox(deps, events_pb2.GoldIssued)
    assert key == b"ann"
    assert parse_envelope(envelope).type == "crewline.v1.GoldIssued"
    assert isinstance(event, events_pb2.GoldIssued)
    assert (event.project_id, event.client_id, event.contractor_id) == ("p1", "acme", "ann")
    assert event.payload_json == CONFIDENCE.payload_json
    assert from_timestamp(event.issued_at) == clock.now()
    assert await gold_of(deps, event.task_id) == golds[1]
    assert b"0.85" not in envelope and b"tolerance" not in envelope  # the key stays here
    topic = await deps.pool.fetchval("SELECT DISTINCT topic FROM outbox")
    assert topic == QUALITY_TOPIC


async def test_no_gold_while_one_is_open_and_more_once_it_is_answered(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = told(quality_deps)
    golds = await project_with_gold(deps)
    await claim_ordinary(deps)
    [first] = await issued(deps)
    await claim_ordinary(deps)  # issued, not claimed yet: open
    claim = new_id()
    await deliver(deps, granted(claim, first.task_id))  # a claim on gold draws nothing
    await claim_ordinary(deps)  # claimed, not handed in: open
    assert len(await issued(deps)) == 1

    await deliver(deps, submitted(claim, first.task_id, b'{"severity": "refer"}', clock.now()))
    await claim_ordinary(deps)
    second = (await issued(deps))[1]
    assert await gold_of(deps, second.task_id) == golds[1]  # index 0 of the two not met
    await claim_ordinary(deps, contractor="bob")  # another contractor has their own
    assert [e.contractor_id for e in await issued(deps)] == ["ann", "ann", "bob"]


async def test_never_the_same_gold_twice_and_ordinary_work_once_every_one_is_met(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = dataclasses.replace(quality_deps, random=random.Random(3))
    golds = await project_with_gold(deps)
    met: list[str] = []
    for _ in range(6):
        await claim_ordinary(deps)  # share 50: every ordinary claim draws gold
        found = await issued(deps)
        if len(found) == len(met):
            break
        task = found[-1].task_id
        met.append(await gold_of(deps, task))
        claim = new_id()
        # Claimed, then given back: met all the same (the claim showed its payload).
        await deliver(deps, granted(claim, task), ended(claim, task, clock.now()))
    assert sorted(met) == sorted(golds)
    for _ in range(3):
        await claim_ordinary(deps)
    assert len(await issued(deps)) == 3  # gold ran out; ordinary claims go on


async def test_gold_never_claimed_lapses_after_the_task_lifetime_and_is_not_met(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = told(quality_deps, index=2)
    golds = await project_with_gold(deps, lifetime=600)
    await claim_ordinary(deps)
    clock.advance(timedelta(seconds=600) + LAPSE_GRACE - timedelta(seconds=1))
    await claim_ordinary(deps)
    assert len(await issued(deps)) == 1  # still open
    clock.advance(timedelta(seconds=1))
    await claim_ordinary(deps)
    first, second = await issued(deps)
    # Never claimed, never seen: the same gold may come again.
    assert await gold_of(deps, first.task_id) == await gold_of(deps, second.task_id) == golds[2]
    assert first.task_id != second.task_id


@pytest.mark.parametrize(
    ("share", "state", "draw"),
    [
        (0, "active", 0.0),  # no gold wanted
        (50, "paused", 0.0),  # the project takes no work
        (50, "closed", 0.0),
        (5, "active", 0.053),  # above 5 / 95 = 0.0526...
    ],
)
async def test_no_gold_is_issued_at_share_0_in_a_project_not_active_or_on_a_losing_draw(
    quality_deps: Deps, share: int, state: str, draw: float
) -> None:
    deps = told(quality_deps, draw=draw)
    await project_with_gold(deps, share=share, state=state)
    await claim_ordinary(deps)
    assert await issued(deps) == []


async def test_the_default_share_of_5_issues_on_a_draw_under_1_in_19(quality_deps: Deps) -> None:
    deps = told(quality_deps, draw=0.052)
    await project_with_gold(deps, share=None)
    await claim_ordinary(deps)
    assert len(await issued(deps)) == 1


async def test_a_claim_draws_once_however_often_its_event_comes(quality_deps: Deps) -> None:
    deps = told(quality_deps, draw=0.9)
    await project_with_gold(deps, share=20)  # q = 0.25: 0.9 draws no gold
    claim = granted(new_id(), new_id())
    await deliver(deps, claim)
    # The same claim under another event id, drawing now what would win: nothing.
    await deliver(told(deps, draw=0.0), claim)
    assert await issued(deps) == []

    consumer = _consumer(told(deps, draw=0.0))
    other = granted(new_id(), new_id())
    envelope = wrap(other, producer="matcher", correlation_id="c")
    assert await consumer.apply(_record(0, envelope)) == "applied"
    assert await consumer.apply(_record(1, envelope)) == "duplicate"  # the inbox drops it
    assert len(await issued(deps)) == 1


async def test_answers_to_gold_are_scored_into_gold_accuracy(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    golds = await project_with_gold(deps)
    outcomes = [
        (0, b'{"severity": "watch", "signs": ["rash"], "confidence": 0.1}', True),
        (1, b'{"severity": "refer", "signs": ["rash"], "confidence": 0.95}', True),
        (2, b'{"severity": "benign", "signs": ["rash"], "confidence": 0.5}', False),
    ]
    for index, answer, _ in outcomes:
        await _answer(told(deps, index=0), clock, answer)
        assert await gold_of(deps, (await issued(deps))[-1].task_id) == golds[index]

    changes = [e for _, e, _ in await outbox(deps, events_pb2.ScoreChanged)]
    assert [(e.value, e.accepted, e.reviewed, e.version) for e in changes] == [  # type: ignore[attr-defined]
        (75, 1, 1, 1),
        (83, 2, 2, 2),
        (63, 2, 3, 3),  # 2.5 / 4
    ]
    last = changes[-1]
    assert isinstance(last, events_pb2.ScoreChanged)
    assert last.measure == api.SCORE_MEASURE_GOLD_ACCURACY
    assert (last.contractor_id, last.project_id, last.client_id, last.window) == (
        "ann",
        "p1",
        "acme",
        10,
    )
    page, _ = await list_gold_tasks(gold.list_gold(ACME, project_id="p1"), deps)
    assert [(g.answered, g.correct) for g in page] == [(1, 1), (1, 1), (1, 0)]
    sample = deps.metrics.registry.get_sample_value
    assert sample("crewline_quality_gold_answers_total", {"outcome": "correct"}) == 2
    assert sample("crewline_quality_gold_answers_total", {"outcome": "incorrect"}) == 1
    assert sample("crewline_quality_gold_issued_total", {}) == 3


async def test_a_wrong_answer_outside_the_tolerance_and_a_redelivered_one_count_once(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = told(quality_deps, index=1)
    await project_with_gold(deps)
    claim, task = await _answer(deps, clock, b'{"confidence": 0.7}')  # 0.15 off, 0.1 allowed
    before = await outbox(deps, events_pb2.ScoreChanged)
    assert [e.value for _, e, _ in before] == [25]  # type: ignore[attr-defined]
    again = submitted(claim, task, b'{"confidence": 0.85}', clock.now())
    clock.advance(timedelta(minutes=1))
    await deliver(deps, again)  # a copy (even with another result) changes nothing
    assert await outbox(deps, events_pb2.ScoreChanged) == before
    assert await deps.pool.fetchval("SELECT count(*) FROM gold_answers") == 1
    score = await deps.pool.fetchrow("SELECT * FROM scores WHERE measure = 'gold_accuracy'")
    assert (score["accepted"], score["reviewed"], score["value"]) == (0, 1, 25)


async def test_ordinary_work_is_not_scored_as_gold(quality_deps: Deps, clock: FakeClock) -> None:
    deps = told(quality_deps, draw=0.99)
    await project_with_gold(deps, share=5)
    claim, task = new_id(), new_id()
    await deliver(deps, granted(claim, task), submitted(claim, task, b"{}", clock.now()))
    assert await deps.pool.fetchval("SELECT count(*) FROM gold_answers") == 0
    assert await outbox(deps, events_pb2.ScoreChanged) == []


async def _answer(deps: Deps, clock: FakeClock, result: bytes) -> tuple[str, str]:
    """An ordinary claim that brings gold, then the gold claimed and answered."""
    await claim_ordinary(deps)
    task = (await issued(deps))[-1].task_id
    claim = new_id()
    clock.advance(timedelta(minutes=1))
    await deliver(deps, granted(claim, task), submitted(claim, task, result, clock.now()))
    return claim, task


def _consumer(deps: Deps) -> EventConsumer:
    return EventConsumer(
        group_id="quality",
        topics=[CLAIMS_TOPIC],
        routes=event_routes(deps),
        pool=deps.pool,
        kafka=KafkaSettings(),  # never contacted: records are handed to apply()
        metrics=Metrics.create("quality"),
        client_id="test",
    )


def _record(offset: int, envelope: object) -> ConsumerRecord[bytes, bytes]:
    value = envelope.SerializeToString()  # type: ignore[attr-defined]
    return ConsumerRecord(CLAIMS_TOPIC, 0, offset, 0, 0, b"k", value, None, 1, len(value), ())
