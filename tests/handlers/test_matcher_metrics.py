"""The matcher's own metrics, read from its registry after real handler calls on a real
database: ClaimTask decisions by outcome, and the offer streams' fan-out latency."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry
from test_matcher_claims import DERM, _dsn, block, claim, contractor, next_item, project, task

from crewline.errors import DomainError
from crewline.health import WorkerHealth
from crewline.metrics import Metrics
from crewline.v1 import project_pb2
from matcher.adapters.metrics import CLAIM_OUTCOMES
from matcher.adapters.offer_hub import OfferHub
from matcher.deps import Deps
from matcher.domain import grants

from stack import eventually

PAUSED = project_pb2.PROJECT_STATE_PAUSED
HUB_SERVICE = "matcher_metrics_test"


def claim_counts(deps: Deps) -> dict[str, float | None]:
    registry = deps.metrics.registry
    return {
        o: registry.get_sample_value("crewline_matcher_claims_total", {"outcome": o})
        for o in CLAIM_OUTCOMES
    }


async def refusal_reason(deps: Deps, contractor_id: str, task_id: uuid.UUID) -> str | None:
    with pytest.raises(DomainError) as caught:
        await claim(deps, contractor_id, task_id)
    return caught.value.reason


def test_the_claim_outcomes_are_a_grant_a_repeat_and_every_refusal_reason() -> None:
    refusals = set(grants._REFUSALS)  # what the claim_task() statement may answer
    assert set(CLAIM_OUTCOMES) == {"granted", "repeated", "TERMS_CHANGED"} | refusals
    assert len(CLAIM_OUTCOMES) == len(set(CLAIM_OUTCOMES))


async def test_each_claim_decision_is_counted_once_under_its_outcome(matcher_deps: Deps) -> None:
    assert claim_counts(matcher_deps) == dict.fromkeys(CLAIM_OUTCOMES, 0.0)  # all exist at 0
    p = await project(matcher_deps, requirements=DERM)
    t = await task(matcher_deps, p, slots=1)
    await contractor(matcher_deps, "novice", derm=40)
    await contractor(matcher_deps, "barred", derm=99)
    await block(matcher_deps, "barred", p)
    await contractor(matcher_deps, "ana", derm=90)
    await contractor(matcher_deps, "ben", derm=90)
    await contractor(matcher_deps, "cap", limit=1)

    assert await refusal_reason(matcher_deps, "novice", t) == "NOT_QUALIFIED"
    assert await refusal_reason(matcher_deps, "barred", t) == "BLOCKED"
    assert await refusal_reason(matcher_deps, "ana", uuid.uuid4()) == "NOT_FOUND"
    await claim(matcher_deps, "ana", t, request="r-1")
    await claim(matcher_deps, "ana", t, request="r-1")  # the same request: its claim again
    assert await refusal_reason(matcher_deps, "ana", t) == "ALREADY_CLAIMED"
    assert await refusal_reason(matcher_deps, "ben", t) == "NO_FREE_SLOT"

    q = await project(matcher_deps)
    await claim(matcher_deps, "cap", await task(matcher_deps, q))
    other = await task(matcher_deps, q)
    assert await refusal_reason(matcher_deps, "cap", other) == "AT_CLAIM_LIMIT"
    await project(matcher_deps, project_id=q, revision=2, state=PAUSED)
    assert await refusal_reason(matcher_deps, "ben", other) == "TASK_CLOSED"

    assert claim_counts(matcher_deps) == {
        "granted": 2,
        "repeated": 1,
        "NOT_FOUND": 1,
        "TASK_CLOSED": 1,
        "NOT_QUALIFIED": 1,
        "BLOCKED": 1,
        "ALREADY_CLAIMED": 1,
        "AT_CLAIM_LIMIT": 1,
        "NO_FREE_SLOT": 1,
        "TERMS_CHANGED": 0,
    }


async def test_racers_for_the_last_slots_count_as_grants_and_lost_races(
    matcher_deps: Deps,
) -> None:
    p = await project(matcher_deps)
    t = await task(matcher_deps, p, slots=3)
    racers = [await contractor(matcher_deps, f"c{i}") for i in range(20)]
    await asyncio.gather(*(claim(matcher_deps, c, t) for c in racers), return_exceptions=True)
    counts = claim_counts(matcher_deps)
    assert (counts["granted"], counts["NO_FREE_SLOT"]) == (3, 17)
    assert sum(v or 0 for v in counts.values()) == 20


# --- the offer hub's fan-out ------------------------------------------------------------


@pytest.fixture
async def hub(matcher_deps: Deps) -> AsyncIterator[tuple[OfferHub, CollectorRegistry]]:
    metrics = Metrics.create(HUB_SERVICE)
    offer_hub = OfferHub(
        pool=matcher_deps.pool,
        dsn=await _dsn(matcher_deps),
        clock=matcher_deps.clock,
        registry=metrics.registry,
        service=HUB_SERVICE,
        worker_health=WorkerHealth(metrics=metrics),
        buffer=50,
    )
    runner = asyncio.create_task(offer_hub.run())
    await asyncio.wait_for(offer_hub.listening.wait(), 10)
    yield offer_hub, metrics.registry
    offer_hub.stop()
    await runner


async def test_fanout_is_observed_once_for_a_signal_that_reached_a_stream_and_never_else(
    matcher_deps: Deps, hub: tuple[OfferHub, CollectorRegistry]
) -> None:
    offer_hub, registry = hub

    def sample(name: str, labels: dict[str, str] | None = None) -> float:
        return registry.get_sample_value(f"crewline_{HUB_SERVICE}_{name}", labels or {}) or 0.0

    async def opened_signals(n: int) -> bool:
        return sample("offer_signals_total", {"kind": "task_opened"}) == n

    p = await project(matcher_deps)
    await contractor(matcher_deps, "ana")
    await task(matcher_deps, p)  # no stream open: the signal reaches nobody
    await eventually(lambda: opened_signals(1))
    assert sample("offer_fanout_seconds_count") == 0

    stream = offer_hub.open("ana", None)
    assert len(await offer_hub.snapshot(stream, 10)) == 1  # a snapshot is no fan-out
    t = await task(matcher_deps, p)
    offer, _ = await next_item(stream)
    assert offer.task_id == t

    async def observed() -> bool:
        return sample("offer_fanout_seconds_count") == 1

    await eventually(observed)
    assert sample("offer_fanout_seconds_sum") > 0
    assert sample("offer_messages_total", {"kind": "offered"}) == 1
    offer_hub.close(stream)
