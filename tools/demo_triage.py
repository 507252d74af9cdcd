"""The triage project: an answer spec, gold tasks, a rule that suspends, and the answers
contractors give there.

Why a careless contractor is always caught (the demo fails if one is not):

- Issuing. The gold share is 50 %, so an ordinary claim draws gold with probability
  q = 50 / (100 - 50) = 1: every ordinary triage claim made while the contractor holds
  no open gold brings one (docs/quality.md, "The gold share"). Nothing is left to chance.
- Supply. Careless contractors work only in triage and keep claiming until they are
  suspended; the lab keeps its triage queue stocked while one of them is at large
  (``keep_stocked``), so they never run out of ordinary claims to draw gold with.
  ``gold_count`` leaves each of them ``GOLD_ANSWERED_ENOUGH`` (12) gold tasks to meet
  even after the others' sanctions retired the gold they showed (at most the score
  window, 10, each).
- Answers. A random answer matches a key (10 findings x 4 urgencies) with p = 1/40.
  The rule (gold accuracy below 50, at least 3 answers) fires at the first answer
  after which fewer than half of the last (up to 10) answers were right. The chance
  that a contractor answering at random is still not caught after 12 gold answers is
  2.3e-8 (an exact count over every sequence of right and wrong answers:
  ``escape_probability``), so about 7e-8 that one of three escapes.
- Careful contractors answer gold with its key, so their accuracy is 75 or more and the
  rule never touches them.

Waits are bounded (``GOLD_WAIT``, the run's timeout); none decides who is caught.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import timedelta
from fractions import Fraction

from crewline.client import (
    Client,
    QualityRule,
    RuleAction,
    RuleMeasure,
    TaskStatus,
    build,
)
from crewline.v1 import project_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from tools.demo_market import (
    FINDINGS,
    URGENCIES,
    GoldPlan,
    MarketPlan,
    TaskPlan,
    triage_task,
)

GOLD_SHARE = 50
RULE = QualityRule(
    rule_id="careless-triage",
    measure=RuleMeasure.GOLD_ACCURACY,
    below=50,
    min_sample=3,
    action=RuleAction.SUSPEND,
    duration=timedelta(hours=1),
)
GOLD_FEEDBACK = "The finding or the urgency does not match the reference answer."
STOCK_LOW = 2  # open triage tasks below which the lab adds more, while needed
STOCK_BATCH = 2
STOCK_MAX = 60  # extra tasks at most: a run cannot grow without end
STOCK_POLL = 0.5


def spec() -> project_pb2.AnswerSpec:
    return build.answer_spec(
        build.choice_field("finding", FINDINGS, prompt="What does the photo show?"),
        build.choice_field("urgency", URGENCIES, prompt="How soon should a doctor see it?"),
    )


def gold_tasks(plan: MarketPlan) -> list[quality_api.GoldTask]:
    return [build.gold_task(g.payload, g.answer, idempotency_key=g.key) for g in plan.gold]


async def set_up(sdk: Client, plan: MarketPlan, project_id: str) -> None:
    """Gold, its share and the rule (each call changes nothing when repeated)."""
    if plan.gold:
        await sdk.add_gold_tasks(project_id, gold_tasks(plan))
    await sdk.set_quality_policy(project_id, gold_share_percent=GOLD_SHARE, rules=[RULE])


def careful_answer(plan: MarketPlan, payload: object, rng: random.Random) -> dict[str, str]:
    """A careful expert's answer: the key when the photo is gold (the simulation looks it
    up, standing in for expertise), else any fitting answer."""
    return plan.gold_answer(payload) or random_answer(rng)


def random_answer(rng: random.Random) -> dict[str, str]:
    return {"finding": rng.choice(FINDINGS), "urgency": rng.choice(URGENCIES)}


def judged_right(gold: GoldPlan | None, result: bytes) -> bool:
    """Whether work on a gold photo matches its key (the lab's review of gold work)."""
    try:
        answer = json.loads(result)
    except ValueError:
        return False
    return gold is not None and answer == gold.answer


def escape_probability(p: Fraction, answers: int, *, window: int = 10, least: int = 3) -> Fraction:
    """The chance that a contractor right with probability ``p`` per gold answer is not
    caught by ``RULE`` within ``answers`` answers: every sequence of outcomes, counted
    exactly (the last ``window`` outcomes are the state)."""
    states: dict[tuple[int, ...], Fraction] = {(): Fraction(1)}
    for _ in range(answers):
        following: dict[tuple[int, ...], Fraction] = {}
        for seen, chance in states.items():
            for outcome, weight in ((1, p), (0, 1 - p)):
                counted = (*seen, outcome)[-window:]
                if len(counted) >= least and _below(sum(counted), len(counted)):
                    continue  # caught
                following[counted] = following.get(counted, Fraction(0)) + chance * weight
        states = following
    return sum(states.values(), Fraction(0))


def _below(right: int, answered: int) -> bool:
    """Gold accuracy (K = 1/2 smoothing, shown rounded half up) below ``RULE.below``."""
    value = Fraction(100) * (Fraction(1, 2) + right) / (1 + answered)
    return int(value + Fraction(1, 2)) < (RULE.below or 0)


async def open_tasks(sdk: Client, project_id: str) -> int:
    """Ordinary triage tasks nobody has claimed yet."""
    found = 0
    async for t in sdk.tasks(project_id=project_id, page_size=500):
        found += not t.reserved_for and t.status is TaskStatus.OPEN
    return found


def more_tasks(plan: MarketPlan, first: int, count: int) -> list[TaskPlan]:
    return [triage_task(plan.run_id, first + n) for n in range(count)]


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
