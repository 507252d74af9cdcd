"""The demo marketplace (`make demo`) reconciles to the cent against real services, and
its reconciliation catches what does not add up."""

from __future__ import annotations

import asyncio
from fractions import Fraction

from rich.console import Console

from crewline.client import Endpoints
from tools.demo_display import print_summary
from tools.demo_market import (
    DemoConfig,
    MarketPlan,
    Pay,
    Verdict,
    hourly_pay_minor,
    plan_market,
    review,
)
from tools.demo_reconcile import CLAIM_LABELS, LedgerTerms
from tools.demo_run import run_demo
from tools.demo_summary import Summary, check, check_usd, fee_minor, format_usd, gini
from tools.demo_triage import escape_probability

from harness import Stack


def endpoints(stack: Stack) -> Endpoints:
    return Endpoints(
        dispatcher=stack.services["dispatcher"].grpc_addr,
        matcher=stack.services["matcher"].grpc_addr,
        ledger=stack.services["ledger"].grpc_addr,
        quality=stack.services["quality"].grpc_addr,
    )


async def test_the_marketplace_reconciles_every_count_and_cent(stack: Stack) -> None:
    config = DemoConfig(tasks=40, contractors=12, timeout=120)
    plan = plan_market(config)

    summary = await run_demo(
        config, endpoints=endpoints(stack), operator_credential=stack.operator_credential
    )

    assert summary.problems == []
    # The plan's tasks, and any the lab added to triage while a careless one was at large.
    assert list(summary.tasks_by_state) == ["completed"]
    assert summary.tasks_by_state["completed"] >= len(plan.tasks) == 40 + 18
    handed_in = summary.claims[CLAIM_LABELS["submitted"]]
    assert summary.pieces["accepted"] + summary.pieces.get("rejected", 0) == handed_in
    assert handed_in >= plan.slots_planned() + summary.gold["answered"]
    claims = summary.claims
    ended = ("submitted", "released", "expired", "project_paused")
    assert claims["granted"] == sum(claims.get(CLAIM_LABELS[k], 0) for k in ended)
    assert CLAIM_LABELS["active"] not in claims
    assert sum(c.claims for c in summary.contractors) == claims["granted"]
    assert 0.0 <= summary.claims_gini < 1.0
    assert summary.money["referral bonus paid"] == 25000  # c002 was referred by c001
    assert summary.books_balanced
    assert all(c.ok for c in summary.checks) and len(summary.checks) >= 40
    assert_careless_caught_and_one_appeal_upheld(summary, plan)
    console = Console(record=True, width=120, force_terminal=False)
    print_summary(summary, console)
    shown = console.export_text()
    assert "careless-triage" in shown and "expected" in shown and "appealed: upheld" in shown
    assert "Reconciled:" in shown


def assert_careless_caught_and_one_appeal_upheld(summary: Summary, plan: MarketPlan) -> None:
    careless = {p.id for p in plan.careless}
    assert len(careless) == 3
    caught = [s for s in summary.sanctions if s.contractor_id in careless]
    assert {s.contractor_id for s in summary.sanctions} == careless  # and nobody careful
    for s in caught:
        assert s.careless and s.rule == "careless-triage" and s.action == "SUSPEND"
        assert s.value < s.below == 50 and s.sample >= 3
        assert s.evidence_count >= 3 and s.evidence
        assert all(line.startswith("gold photo ") and "expected" in line for line in s.evidence)
    [appeal] = summary.appeals
    assert appeal.contractor_id in careless
    assert (appeal.state, appeal.decided_by) == ("UPHELD", "CLIENT")
    [appealed] = [s for s in caught if s.contractor_id == appeal.contractor_id]
    assert appealed.state == "LIFTED"
    assert all(s.state == "ACTIVE" for s in caught if s is not appealed)
    by_name = {c.name: c for c in summary.checks}
    for name in (
        "careless contractors caught",
        "appeals upheld",
        "accepted by appeal = the appeal's acceptances",
        "rejections given = submissions rejected + accepted by appeal",
        "accepted submissions paid twice",
        "books balanced (VerifyBooks)",
    ):
        assert by_name[name].ok, name


async def test_runs_sharing_a_stack_reconcile_each_on_its_own(stack: Stack) -> None:
    configs = [DemoConfig(tasks=24, contractors=8, seed=seed, timeout=120) for seed in (1, 2)]

    summaries = await asyncio.gather(
        *(
            run_demo(c, endpoints=endpoints(stack), operator_credential=stack.operator_credential)
            for c in configs
        )
    )

    assert [s.problems for s in summaries] == [[], []]
    assert [list(s.tasks_by_state) for s in summaries] == [["completed"], ["completed"]]
    assert summaries[0].run_id != summaries[1].run_id


async def test_a_run_that_expects_another_fee_does_not_reconcile(stack: Stack) -> None:
    """The services charge 20 %; a demo that expects 15 % must say the clients' charges
    are off, and nothing else."""
    config = DemoConfig(tasks=12, contractors=8, timeout=120)

    summary = await run_demo(
        config,
        endpoints=endpoints(stack),
        operator_credential=stack.operator_credential,
        terms=LedgerTerms(fee_bps=1500),
    )

    assert not summary.ok
    failed = [c.name for c in summary.checks if not c.ok]
    assert failed == [
        "clients charged (pay, bonuses and the fee)",
        "clients charged other than their pieces",
    ]


def test_a_seed_fixes_what_a_run_attempts() -> None:
    first, second = (plan_market(DemoConfig(seed=11)) for _ in range(2))
    other = plan_market(DemoConfig(seed=12))

    def attempted(plan: MarketPlan) -> tuple[object, ...]:
        tasks = [(t.index, t.project) for t in plan.tasks]
        people = [
            (c.number, c.scores, c.licensed, c.pace, c.flakiness, c.referred_by is not None)
            for c in plan.contractors
        ]
        return tasks, people

    assert attempted(first) == attempted(second)
    assert attempted(other) != attempted(first)
    assert first.run_id != second.run_id  # ids never repeat, even for one seed
    assert first.contractors[1].referred_by == first.contractors[0].id


def test_reviews_depend_on_the_seed_the_task_and_the_contractor_only() -> None:
    a, b = plan_market(DemoConfig(seed=3)), plan_market(DemoConfig(seed=3))
    pairs = list(zip(a.tasks, b.tasks, strict=True))[:50]
    verdicts_a = [review(3, t, a.contractors[t.index % 8], "domain.law") for t, _ in pairs]
    verdicts_b = [review(3, u, b.contractors[u.index % 8], "domain.law") for _, u in pairs]
    assert verdicts_a == verdicts_b
    assert set(verdicts_a) <= set(Verdict)


def test_a_careless_contractor_escapes_the_rule_almost_never() -> None:
    """demo_triage's argument: a random answer matches a key 1 time in 40; after 12 gold
    answers the chance of not having been caught is about 2.3e-8."""
    assert escape_probability(Fraction(1, 40), 12) < Fraction(1, 10**7)
    assert escape_probability(Fraction(1, 40), 3) > Fraction(1, 1000)  # 3 are not enough
    assert escape_probability(Fraction(1), 12) == 1  # the rule never touches the careful
    # Two right of the first three (62.5 -> 63) is not below 50; one right (38) is.
    assert escape_probability(Fraction(1, 2), 3) == Fraction(1, 2)


def test_hourly_pay_and_fees_round_up_to_a_cent() -> None:
    assert hourly_pay_minor(9000 * 300, 2, 60) == 1500  # $90/h x 300, 2 s: $15.00
    assert hourly_pay_minor(1000, 1, 60) == 1  # 0.28 cents rounds up
    assert hourly_pay_minor(3600, 100, 60) == 60  # capped at 60 s
    assert fee_minor(1250, 2000) == 250
    assert fee_minor(1, 2000) == 1
    assert Pay.HOURLY.value == "hourly"


def test_gini_of_claims() -> None:
    assert gini([5, 5, 5, 5]) == 0.0
    assert gini([]) == 0.0 and gini([0, 0]) == 0.0
    assert gini([0, 0, 0, 12]) == 0.75  # one contractor took every claim of four
    assert 0.0 < gini([1, 2, 3, 10]) < 0.75


def test_a_failed_check_makes_the_run_fail() -> None:
    good = check_usd("pay", 1500, 1500)
    bad = check("claims granted", 10, 11)
    summary = Summary(
        run_id="x",
        seed=1,
        tasks_by_state={},
        claims={},
        pieces={},
        contractors=(),
        claims_gini=0.0,
        money={},
        books={},
        books_balanced=True,
        checks=(good, bad),
        elapsed_seconds=1.0,
    )
    assert good.ok and not bad.ok
    assert summary.problems == ["claims granted: expected 10, found 11"]
    assert not summary.ok


def test_money_is_formatted_from_integer_cents() -> None:
    assert format_usd(301250) == "$3,012.50"
    assert format_usd(-5) == "-$0.05"
    assert format_usd(0) == "$0.00"
