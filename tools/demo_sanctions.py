"""After the market closes: one caught contractor appeals their suspension and the lab
upholds it; then what the quality service says about the run's sanctions, held against
what the demo knows (who was careless, what the gold keys are)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crewline.client import (
    AcceptedBy,
    Appeal,
    AppealState,
    Client,
    GoldEvidence,
    Sanction,
    SanctionState,
    SubmissionStatus,
)
from tools import demo_audit as audit
from tools.demo_careless import CarelessContractor
from tools.demo_market import MarketPlan, payload_item
from tools.demo_summary import AppealLine, Check, SanctionLine, check

if TYPE_CHECKING:  # demo_reconcile imports this module
    from tools.demo_reconcile import Market

APPEAL_TEXT = (
    "I was new to triage and rushed my first photos. I have read the guidelines again;"
    " please let me back in."
)
DECISION_NOTE = "Upheld: first suspension, and the guidelines were updated this week."
DISPATCHER_WAIT = 30.0
EVIDENCE_SHOWN = 2  # lines of evidence per sanction in the summary


@dataclass(frozen=True, kw_only=True)
class QualityFindings:
    sanctions: tuple[Sanction, ...] = ()  # in the triage project, as the lab sees them
    own: dict[str, tuple[str, ...]] = field(default_factory=dict)  # careless -> their ids
    appeal: Appeal | None = None  # decided


async def appeal_and_find(market: Market, errors: list[str]) -> QualityFindings:
    """The first contractor caught appeals; the lab upholds; until the dispatcher has
    turned the rejections it names into acceptances (bounded). Then every sanction."""
    lab = next((c for c in market.clients if c.triage_project), None)
    if lab is None or lab.triage_project is None:
        return QualityFindings()
    project_id = lab.triage_project
    caught = sorted(
        (c for c in market.contractors if isinstance(c, CarelessContractor) and c.caught),
        key=lambda c: c.profile.id,
    )
    decided = None
    if caught and (sanction := caught[0].caught) is not None:
        me = market.sdks[caught[0].profile.id]
        filed = await me.file_appeal(
            sanction_id=sanction.sanction_id,
            text=APPEAL_TEXT,
            idempotency_key=f"demo-{market.plan.run_id}-appeal",
        )
        decided = await lab.sdk.decide_appeal(filed.appeal_id, uphold=True, note=DECISION_NOTE)
        if not await _accepted_by_dispatcher(lab.sdk, decided.accepted_submission_ids):
            errors.append(f"the upheld appeal's acceptances took over {DISPATCHER_WAIT:.0f} s")
    own = {
        c.profile.id: tuple([s.sanction_id async for s in market.sdks[c.profile.id].my_sanctions()])
        for c in caught
    }
    sanctions = tuple([s async for s in lab.sdk.sanctions(project_id)])
    return QualityFindings(sanctions=sanctions, own=own, appeal=decided)


async def _accepted_by_dispatcher(sdk: Client, ids: tuple[str, ...]) -> bool:
    give_up = time.monotonic() + DISPATCHER_WAIT
    while time.monotonic() < give_up:
        found = [await sdk.get_submission(i) for i in ids]
        if all(s.status is SubmissionStatus.ACCEPTED for s in found):
            return True
        await asyncio.sleep(0.3)
    return False


def checks(plan: MarketPlan, q: QualityFindings, found: audit.Submitted) -> list[Check]:
    careless = {p.id for p in plan.careless}
    sanctioned = {s.contractor_id for s in q.sanctions}
    by_appeal = {s.submission_id for _, s in found.all if s.accepted_by is AcceptedBy.APPEAL}
    upheld = q.appeal is not None and q.appeal.state is AppealState.UPHELD
    lifted = [s for s in q.sanctions if q.appeal and s.sanction_id == q.appeal.sanction_id]
    return [
        check("careless contractors caught", len(careless), len(careless & sanctioned)),
        check("careful contractors sanctioned", 0, len(sanctioned - careless)),
        check(
            "sanctions a contractor sees other than the lab",
            0,
            sum(
                set(ids) != {s.sanction_id for s in q.sanctions if s.contractor_id == who}
                for who, ids in q.own.items()
            ),
        ),
        check("sanctions their rule does not bear out", 0, sum(map(_unfounded, q.sanctions))),
        check(
            "gold evidence judged other than by its key",
            0,
            sum(_misjudged(plan, e.item) for s in q.sanctions for e in s.evidence),
        ),
        check("appeals upheld", 1 if careless else 0, int(upheld)),
        check(
            "appealed sanctions lifted",
            1 if careless else 0,
            sum(s.state is SanctionState.LIFTED for s in lifted),
        ),
        check(
            "accepted by appeal = the appeal's acceptances",
            sorted(q.appeal.accepted_submission_ids if q.appeal else ()),
            sorted(by_appeal),
        ),
    ]


def _unfounded(s: Sanction) -> bool:
    """Not what the rule says: the value at or above its line, or too few answers."""
    rule = s.rule
    if rule is None or rule.below is None:
        return True
    return not (s.measured_value < rule.below and s.sample >= (rule.min_sample or 5))


def _misjudged(plan: MarketPlan, item: object) -> bool:
    if not isinstance(item, GoldEvidence):
        return True  # a gold rule shows gold
    key = plan.gold_answer(item.payload)
    return key is None or item.expected != key or item.correct != (item.answer == key)


def lines(
    plan: MarketPlan, q: QualityFindings
) -> tuple[tuple[SanctionLine, ...], tuple[AppealLine, ...]]:
    careless = {p.id for p in plan.careless}
    shown = tuple(
        SanctionLine(
            contractor_id=s.contractor_id,
            careless=s.contractor_id in careless,
            rule=str(s.rule.rule_id if s.rule else "-"),
            measure=str(s.rule.measure if s.rule else "-"),
            value=s.measured_value,
            below=s.rule.below if s.rule and s.rule.below is not None else -1,
            sample=s.sample,
            action=str(s.action),
            state=str(s.state),
            evidence=tuple(_evidence(e.item) for e in s.evidence[:EVIDENCE_SHOWN]),
            evidence_count=len(s.evidence),
        )
        for s in sorted(q.sanctions, key=lambda s: s.contractor_id)
    )
    appeals: tuple[AppealLine, ...] = ()
    if (a := q.appeal) is not None:
        appeals = (
            AppealLine(
                contractor_id=a.contractor_id,
                state=str(a.state),
                decided_by=str(a.decided_by),
                note=a.decision_note,
                accepted=len(a.accepted_submission_ids),
            ),
        )
    return shown, appeals


def _evidence(item: object) -> str:
    if not isinstance(item, GoldEvidence):
        return str(item)
    photo = payload_item(item.payload)
    verdict = "right" if item.correct else "wrong"
    answered, expected = _said(item.answer), _said(item.expected)
    return f"gold photo {photo}: answered {answered}, expected {expected} ({verdict})"


def _said(answer: object) -> str:
    if isinstance(answer, dict):
        return "/".join(str(answer.get(f, "?")) for f in ("finding", "urgency"))
    return str(answer)
