"""Sanctions from gold accuracy, through the quality service's handlers on a real
database and a fake clock: a careless contractor is suspended once their gold answers
reach the rule's minimum sample, with the answers and the expected ones as evidence and
SanctionChanged (without evidence) through the outbox; nothing below the sample; no
second sanction while one holds; the durable clock ends it; the gold shown is retired
and never issued again; voided answers do not count when gold is recounted."""

from __future__ import annotations

import uuid
from datetime import timedelta

from gold_support import issued, outbox
from sanction_support import (
    RIGHT,
    WRONG,
    answer_gold,
    changes,
    fire_clocks,
    gold_project,
    mine,
    rule_input,
)

from crewline.events import QUALITY_TOPIC
from crewline.protobuf import from_timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.deps import Deps
from quality.domain.rules import DEFAULT_DURATION, RuleAction
from quality.domain.sanctions import SanctionState
from quality.handlers.issuing import recount_gold


async def test_a_careless_contractor_is_suspended_with_their_answers_as_evidence(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await gold_project(quality_deps, rule_input())
    tasks = [await answer_gold(deps, clock, WRONG) for _ in range(4)]
    assert await changes(deps) == [] and await mine(deps) == []  # 4 answers: below the sample

    tasks.append(await answer_gold(deps, clock, WRONG))
    imposed_at = clock.now() - timedelta(minutes=1)
    [(key, event, envelope)] = await changes(deps)
    assert key == b"ann"
    assert event.version == 1
    s = event.sanction
    assert (s.contractor_id, s.project_id, s.client_id) == ("ann", "p1", "acme")
    assert (s.action, s.state) == (api.RULE_ACTION_SUSPEND, api.SANCTION_STATE_ACTIVE)
    assert (s.measured_value, s.sample) == (8, 5)  # 0.5 / 6, smoothed
    assert s.rule.rule_id == "careless" and s.rule.below == 50
    assert from_timestamp(s.ends_at) == imposed_at + DEFAULT_DURATION
    assert not s.HasField("ended_at")
    assert list(s.evidence) == []  # never in an event
    assert b"benign" not in envelope and b"refer" not in envelope
    topic = await deps.pool.fetchval(
        "SELECT DISTINCT topic FROM outbox WHERE envelope = $1", envelope
    )
    assert topic == QUALITY_TOPIC

    [sanction] = await mine(deps)
    assert sanction.sanction_id == uuid.UUID(s.sanction_id)
    assert [e.task_id for e in sanction.evidence] == tasks[::-1]  # newest first
    for e in sanction.evidence:
        assert (e.kind, e.correct, e.answer_json) == ("gold", False, WRONG.decode())
        assert e.expected_json == RIGHT.decode()
        assert e.payload_json is not None and e.gold_id is not None


async def test_no_second_sanction_while_one_holds_and_the_clock_ends_it(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await gold_project(quality_deps, rule_input(duration=timedelta(hours=3)))
    for _ in range(5):
        await answer_gold(deps, clock, WRONG)
    [sanction] = await mine(deps)
    await answer_gold(deps, clock, WRONG)  # newer data, but the sanction holds
    assert len(await mine(deps)) == 1

    assert sanction.ends_at == sanction.imposed_at + timedelta(hours=3)
    clock.advance(sanction.ends_at - clock.now() - timedelta(seconds=1))
    assert await fire_clocks(deps, clock) == 0
    assert (await mine(deps))[0].state is SanctionState.ACTIVE
    clock.advance(timedelta(seconds=1))
    assert await fire_clocks(deps, clock) == 1
    [ended] = await mine(deps)
    assert (ended.state, ended.ended_at, ended.version) == (SanctionState.ENDED, clock.now(), 2)
    [_, (key, event, _)] = await changes(deps)
    assert (key, event.version, event.sanction.state) == (b"ann", 2, api.SANCTION_STATE_ENDED)
    assert from_timestamp(event.sanction.ended_at) == clock.now()
    assert event.sanction.sanction_id == str(sanction.sanction_id)
    assert await fire_clocks(deps, clock) == 0  # fired once

    # A new gold answer is data the first sanction did not rest on: the rule acts again.
    await answer_gold(deps, clock, WRONG)
    newest, _ = await mine(deps)
    assert newest.state is SanctionState.ACTIVE and newest.sanction_id != sanction.sanction_id


async def test_an_ended_sanction_does_not_fire_again_on_the_same_data(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await gold_project(quality_deps, rule_input(min_sample=3, duration=timedelta(hours=1)))
    for _ in range(3):
        await answer_gold(deps, clock, WRONG)
    clock.advance(timedelta(hours=1))
    assert await fire_clocks(deps, clock) == 1
    async with deps.pool.acquire() as conn, conn.transaction():
        await recount_gold(conn, contractor_id="ann", project_id="p1", client_id="acme", deps=deps)
    assert [s.state for s in await mine(deps)] == [SanctionState.ENDED]


async def test_a_careful_contractor_and_a_notice_rule(quality_deps: Deps, clock: FakeClock) -> None:
    deps = await gold_project(
        quality_deps,
        rule_input(),
        rule_input("star", below=None, above=80, action=RuleAction.NOTIFY),
    )
    for _ in range(5):
        await answer_gold(deps, clock, RIGHT)
    [notice] = await mine(deps)  # 5.5 / 6 = 92: above 80, not below 50
    assert notice.rule.rule_id == "star"
    assert (notice.state, notice.ends_at, notice.ended_at) == (
        SanctionState.ENDED,
        None,
        notice.imposed_at,
    )
    [(_, event, _)] = await changes(deps)
    assert (event.sanction.state, event.sanction.action) == (
        api.SANCTION_STATE_ENDED,
        api.RULE_ACTION_NOTIFY,
    )
    assert await deps.pool.fetchval("SELECT count(*) FROM deadlines") == 0  # no clock


async def test_gold_shown_as_evidence_is_retired_and_never_issued_again(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await gold_project(quality_deps, rule_input(), golds=7)
    for _ in range(5):
        await answer_gold(deps, clock, WRONG)
    [sanction] = await mine(deps)
    shown = {e.gold_id for e in sanction.evidence}
    retired = await deps.pool.fetch(
        "SELECT gold_id FROM gold_tasks WHERE retired_at IS NOT NULL ORDER BY gold_id"
    )
    assert {r["gold_id"] for r in retired} == shown and len(shown) == 5

    # Another contractor meets only the two gold tasks never shown, then ordinary work.
    before = len(await issued(deps))
    tasks = [await answer_gold(deps, clock, RIGHT, contractor="bob") for _ in range(4)]
    assert tasks[2:] == ["", ""] and all(tasks[:2])
    given = await deps.pool.fetch(
        "SELECT gold_id FROM gold_instances WHERE task_id = ANY($1::text[])", tasks[:2]
    )
    assert not {r["gold_id"] for r in given} & shown
    assert len(await issued(deps)) == before + 2


async def test_voided_answers_do_not_count_when_gold_is_recounted(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await gold_project(quality_deps)  # no rules
    tasks = [await answer_gold(deps, clock, WRONG) for _ in range(2)]
    tasks.append(await answer_gold(deps, clock, RIGHT))
    score = "SELECT value, accepted, reviewed FROM scores WHERE measure = 'gold_accuracy'"
    assert tuple(await deps.pool.fetchrow(score)) == (38, 1, 3)  # 1.5 / 4

    await deps.pool.execute(
        "UPDATE gold_answers SET voided = true WHERE task_id = ANY($1::text[])", tasks[:2]
    )
    async with deps.pool.acquire() as conn, conn.transaction():
        await recount_gold(conn, contractor_id="ann", project_id="p1", client_id="acme", deps=deps)
    assert tuple(await deps.pool.fetchrow(score)) == (75, 1, 1)  # 1.5 / 2
    *_, (_, changed, _) = await outbox(deps, events_pb2.ScoreChanged)
    assert isinstance(changed, events_pb2.ScoreChanged)
    assert (changed.value, changed.reviewed) == (75, 1)
