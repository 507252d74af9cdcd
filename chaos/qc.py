"""Quality control in the chaos workload: one project of each client has an answer spec,
gold tasks (at the largest share, so that gold comes often) and a rule that suspends a
contractor whose gold accuracy falls below 60 on at least 2 answers. Careless
contractors answer every task of it wrongly; the client rejects wrong answers; a
suspended contractor appeals most of their sanctions, and the client upholds some,
denies some and leaves the rest to the quality service's deadline (short in the chaos
stack, ``APPEAL_DECISION_SECONDS``), which upholds them.

Every call goes through the SDK and into the history, as the other operations do."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from crewline.client import (
    Client,
    Contractor,
    CrewlineError,
    SubmissionStatus,
    answer_spec,
    choice_field,
    gold_task,
    number_field,
)
from crewline.client.results import AppealState, QualityRule, RuleAction, RuleMeasure, SanctionState

T = TypeVar("T")
Must = Callable[[str, dict[str, Any], Callable[[], Awaitable[T]]], Awaitable[T]]

KIND = "gold"  # the project kind (chaos.workload.KINDS) with quality control
SPEC = answer_spec(choice_field("label", ["right", "wrong"]), number_field("score", min=0, max=10))
GOLD = 12  # gold tasks per project: enough that retired ones (shown as evidence) leave some
SHARE = 50  # percent of what each contractor takes there: the largest share there is
TOLERANCE = {"score": 10.0}  # any score is right: only the label decides
RULE = QualityRule(
    rule_id="careless",
    measure=RuleMeasure.GOLD_ACCURACY,
    below=60,
    min_sample=2,
    action=RuleAction.SUSPEND,
    duration=timedelta(hours=1),
)
CARELESS_EVERY = 4  # contractor n is careless when n % 4 == 2: x002, x006, ...
APPEAL_SHARE = 0.75  # of the sanctions a careless contractor meets


def gold_key(n: int) -> dict[str, Any]:
    """Gold n's key: the right label, and a score no answer uses, so that the key's text
    is its own (searched for where no key may be)."""
    return {"label": "right", "score": round(1 + n / 100, 2)}


def careless(contractor_id: str) -> bool:
    return contractor_id.startswith("x") and int(contractor_id[1:]) % CARELESS_EVERY == 2


def answer(contractor_id: str) -> dict[str, Any]:
    return {"label": "wrong" if careless(contractor_id) else "right", "score": 5}


async def equip(must: Must[Any], client_id: str, client: Client, project_id: str) -> None:
    """The project's gold and policy (the quality service learns a new project from the
    dispatcher's events, so ``must`` asks again until it knows it)."""
    keys = [f"{client_id}-gold-{n}" for n in range(GOLD)]
    golds = [
        gold_task({"q": key}, gold_key(n), idempotency_key=key, tolerance=TOLERANCE)
        for n, key in enumerate(keys)
    ]
    added = await must(
        "add_gold_tasks",
        {
            "client_id": client_id,
            "project_id": project_id,
            "keys": keys,
            "answers": [g.answer_json for g in golds],
            "tolerance": TOLERANCE,
        },
        partial(client.add_gold_tasks, project_id, golds),
    )
    assert len(added) == GOLD
    await must(
        "set_quality_policy",
        {
            "client_id": client_id,
            "project_id": project_id,
            "gold_share_percent": SHARE,
            "rules": [RULE.rule_id],
        },
        partial(client.set_quality_policy, project_id, gold_share_percent=SHARE, rules=[RULE]),
    )


Retried = Callable[..., Awaitable[Any]]


class QualityClient:
    """A client's side: reviews the gold project's work (rejecting wrong answers) and
    decides appeals: a third upheld, a third denied, a third left to the deadline."""

    def __init__(self, client_id: str, sdk: Client, project_id: str, retried: Retried) -> None:
        self.id, self.sdk, self.project, self.retried = client_id, sdk, project_id, retried
        self.process = f"client:{client_id}"

    async def review(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                page = await self.sdk.list_submissions_page(
                    project_id=self.project, status=SubmissionStatus.PENDING_REVIEW, page_size=50
                )
            except CrewlineError:
                await asyncio.sleep(0.5)
                continue
            for sub in page.items:
                wrong = b'"wrong"' in sub.result
                f = "reject" if wrong else "accept"
                sid = sub.submission_id
                call = (
                    partial(self.sdk.reject, sid, feedback="chaos: wrong label")
                    if wrong
                    else partial(self.sdk.accept, sid)
                )
                await self.retried(
                    self.process, f, {"client_id": self.id, "submission_id": sid}, call
                )
            if not page.items:
                await asyncio.sleep(0.3)

    async def decide(self, stop: asyncio.Event) -> None:
        decided: set[str] = set()
        while not stop.is_set():
            try:
                page = await self.sdk.list_appeals_page(
                    self.project, state=AppealState.PENDING, page_size=50
                )
            except CrewlineError:
                await asyncio.sleep(0.5)
                continue
            for appeal in page.items:
                if appeal.appeal_id in decided:
                    continue
                decided.add(appeal.appeal_id)
                roll = random.Random(appeal.appeal_id).random()
                if roll < 1 / 3:
                    continue  # the deadline decides it
                uphold = roll < 2 / 3
                await self.retried(
                    self.process,
                    "decide_appeal",
                    {"client_id": self.id, "appeal_id": appeal.appeal_id, "uphold": uphold},
                    partial(self.sdk.decide_appeal, appeal.appeal_id, uphold=uphold, note="chaos"),
                )
            await asyncio.sleep(0.5)


async def appeal_sanctions(
    contractor_id: str,
    sdk: Contractor,
    retried: Retried,
    appealed: set[str],
) -> None:
    """A careless contractor's look at their sanctions: each active one not yet looked
    at is appealed, most of the time."""
    try:
        page = await sdk.my_sanctions_page(page_size=50)
    except CrewlineError:
        return
    for sanction in page.items:
        if sanction.state != SanctionState.ACTIVE or sanction.sanction_id in appealed:
            continue
        appealed.add(sanction.sanction_id)
        if random.Random(sanction.sanction_id).random() >= APPEAL_SHARE:
            continue
        key = f"appeal-{sanction.sanction_id}"
        await retried(
            f"contractor:{contractor_id}",
            "file_appeal",
            {
                "contractor_id": contractor_id,
                "sanction_id": sanction.sanction_id,
                "idempotency_key": key,
            },
            partial(
                sdk.file_appeal,
                text="chaos: I was careful",
                sanction_id=sanction.sanction_id,
                idempotency_key=key,
            ),
            lambda a: {"appeal_id": a.appeal_id},
        )
