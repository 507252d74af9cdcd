"""Helpers for the quality service's rules and sanctions on the handler tier: a project
with gold and rules, a contractor answering gold, reviews and time flags as the
dispatcher publishes them, the durable clock fired on the fake clock, and sanctions as
their readers list them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from gold_support import Draws, add, deliver, granted, issued, item, new_id, outbox, project_changed
from gold_support import submitted as work_submitted

from crewline.auth.principal import Kind, Principal
from crewline.clock import DeadlineClock
from crewline.metrics import Metrics
from crewline.protobuf import timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from quality.deps import Deps
from quality.domain import issuing, sanctions
from quality.domain.rules import RuleAction, RuleInput, RuleMeasure
from quality.domain.sanctions import Sanction
from quality.handlers import clock_handlers
from quality.handlers.gold import set_policy
from quality.handlers.sanctions import find_sanctions

RIGHT = b'{"severity": "refer"}'
WRONG = b'{"severity": "benign"}'
ANN = Principal(Kind.CONTRACTOR, "ann")
BOB = Principal(Kind.CONTRACTOR, "bob")
OPERATOR = Principal(Kind.OPERATOR, "ops")


def rule_input(
    rule_id: str = "careless",
    measure: RuleMeasure = RuleMeasure.GOLD_ACCURACY,
    *,
    below: int | None = 50,
    above: int | None = None,
    min_sample: int | None = 5,
    action: RuleAction = RuleAction.SUSPEND,
    duration: timedelta | None = None,
) -> RuleInput:
    return RuleInput(
        rule_id=rule_id,
        measure=measure,
        below=below,
        above=above,
        min_sample=min_sample,
        action=action,
        duration=duration,
    )


async def set_rules(
    deps: Deps, *rules: RuleInput, project: str = "p1", client: str = "acme"
) -> None:
    cmd = issuing.set_policy(
        client_id=client,
        project_id=project,
        gold_share_percent=50,
        rules=rules,
        update_mask=["gold_share_percent", "rules"],
    )
    await set_policy(cmd, deps)


async def gold_project(deps: Deps, *rules: RuleInput, golds: int = 8) -> Deps:
    """Project p1 of acme with ``golds`` gold tasks keyed severity=refer, gold share 50 %
    and ``rules``; deps whose draws always issue the first gold not met."""
    await deliver(deps, project_changed())
    await add(deps, *(item(n) for n in range(golds)))
    await set_rules(deps, *rules)
    return dataclasses.replace(deps, random=Draws())


async def answer_gold(deps: Deps, clock: FakeClock, result: bytes, contractor: str = "ann") -> str:
    """An ordinary claim brings gold, which the contractor claims and answers; the gold
    task's id (or "" when none came)."""
    before = len(await issued(deps))
    await deliver(deps, granted(new_id(), new_id(), contractor=contractor))
    found = await issued(deps)
    if len(found) == before:
        return ""
    task = found[-1].task_id
    claim = new_id()
    await deliver(
        deps,
        granted(claim, task, contractor=contractor),
        work_submitted(claim, task, result, clock.now(), contractor=contractor),
    )
    clock.advance(timedelta(minutes=1))
    return task


async def changes(deps: Deps) -> list[tuple[bytes, events_pb2.SanctionChanged, bytes]]:
    return await outbox(deps, events_pb2.SanctionChanged)  # type: ignore[return-value]


async def fire_clocks(deps: Deps, clock: FakeClock) -> int:
    ticker = DeadlineClock(
        pool=deps.pool,
        handlers=clock_handlers(deps),
        metrics=Metrics.create("quality_sanctions_test"),
        clock=clock,
    )
    return await ticker.fire_due()


async def mine(deps: Deps, caller: Principal = ANN, **kw: Any) -> list[Sanction]:
    found, _ = await find_sanctions(sanctions.my_sanctions(caller, **kw), deps)
    return found


async def listed(deps: Deps, caller: Principal, **kw: Any) -> tuple[list[Sanction], str]:
    return await find_sanctions(sanctions.sanctions(caller, **kw), deps)


def rejected(
    submission: str, clock: FakeClock, *, contractor: str = "ann", feedback: str = ""
) -> events_pb2.SubmissionRejected:
    return events_pb2.SubmissionRejected(
        submission_id=submission,
        task_id=f"t-{submission}",
        contractor_id=contractor,
        client_id="acme",
        project_id="p1",
        feedback=feedback,
        rejected_at=timestamp(clock.now()),
    )


def accepted(
    submission: str, clock: FakeClock, *, feedback: str = ""
) -> events_pb2.SubmissionAccepted:
    return events_pb2.SubmissionAccepted(
        submission_id=submission,
        task_id=f"t-{submission}",
        contractor_id="ann",
        client_id="acme",
        project_id="p1",
        accepted_by=events_pb2.ACCEPTED_BY_CLIENT,
        accepted_at=timestamp(clock.now()),
        feedback=feedback,
    )


def flagged(submission: str, clock: FakeClock) -> events_pb2.SubmissionFlagged:
    return events_pb2.SubmissionFlagged(
        submission_id=submission,
        task_id=f"t-{submission}",
        project_id="p1",
        client_id="acme",
        contractor_id="ann",
        flags=[events_pb2.ReviewFlag(kind=events_pb2.FLAG_KIND_FAST)],
        flagged_at=timestamp(clock.now()),
    )


def handed_in(submission: str, clock: FakeClock) -> events_pb2.WorkSubmitted:
    return work_submitted(submission, f"t-{submission}", b'{"severity": "watch"}', clock.now())
