"""The demo marketplace (`make demo`) reconciles to the cent against real services."""

from __future__ import annotations

import asyncio

from tools.demo import run_demo
from tools.demo_display import format_usd
from tools.demo_market import Addresses, DemoConfig

from harness import Stack


def addresses(stack: Stack) -> Addresses:
    return Addresses(
        dispatcher=stack.services["dispatcher"].grpc_addr,
        matcher=stack.services["matcher"].grpc_addr,
        ledger=stack.services["ledger"].grpc_addr,
    )


async def test_racing_contractors_fill_every_slot_once_and_are_paid_once(stack: Stack) -> None:
    config = DemoConfig(
        addresses=addresses(stack),
        operator_credential=stack.operator_credential,
        tasks=20,
        contractors=6,
        slots=2,
        timeout=60,
    )

    summary = await run_demo(config)

    assert summary.problems == []
    assert summary.tasks_submitted == 20 and summary.slots_total == 40
    assert summary.claims_granted == summary.work_submitted == summary.pieces_accepted == 40
    assert summary.tasks_unsettled == 0 and summary.contractors_mispaid == 0
    assert summary.paid_minor == summary.expected_minor == config.planned_total_minor()
    assert summary.client_balance_minor == -summary.expected_charge_minor
    assert sum(summary.earnings_minor) == summary.expected_minor
    assert summary.books_balanced and summary.unbalanced_transactions == 0


async def test_runs_sharing_a_stack_reconcile_each_on_its_own(stack: Stack) -> None:
    configs = [
        DemoConfig(
            addresses=addresses(stack),
            operator_credential=stack.operator_credential,
            tasks=8,
            contractors=4,
            slots=1,
            timeout=60,
        )
        for _ in range(2)
    ]

    summaries = await asyncio.gather(*(run_demo(c) for c in configs))

    assert [s.problems for s in summaries] == [[], []]
    assert [s.claims_granted for s in summaries] == [8, 8]
    assert [s.paid_minor for s in summaries] == [c.planned_total_minor() for c in configs]


def test_money_is_formatted_from_integer_cents() -> None:
    assert format_usd(301250) == "$3,012.50"
    assert format_usd(-5) == "-$0.05"
    assert format_usd(0) == "$0.00"
