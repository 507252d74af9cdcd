"""An operator's lists and payout preview on the real stack, through the SDK's blocking
``Operator``: contractors filtered by qualification and block, and a payout previewed,
then run, then listed. Pay is in CHF, a currency no other e2e test uses, so the preview
sees only this test's balances."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from crewline.client import Money, build
from crewline.client.errors import CrewlineError
from crewline.client.sync import Operator
from crewline.v1 import project_pb2

from flow import claim, endpoints, new_project, submit_work, tasks_in, unique, wait_offered
from harness import Stack
from stack import eventually

CHF = "CHF"


async def chf_balance(op: Operator, contractor: str) -> int:
    found = await asyncio.to_thread(op.balance, account_id=f"contractor:{contractor}")
    return sum(m.minor for m in found.balances if m.currency == CHF)


async def test_an_operator_lists_contractors_and_previews_then_runs_a_payout(
    stack: Stack,
) -> None:
    with Operator(credential=stack.operator_credential, endpoints=endpoints(stack)) as op:
        qualification = f"e2e.lists-{unique('q').split('-')[1]}"
        op.define_qualification_type(qualification, kind=project_pb2.QUALIFICATION_KIND_PRESENCE)
        ann, bob, cy = unique("ann"), unique("bob"), unique("cy")
        for who in (cy, bob, ann):
            op.create_contractor(who)
        for who in (ann, bob):
            op.grant_qualification(who, qualification)
        op.block(bob, reason="e2e")

        listed = list(op.contractors(qualification=qualification, page_size=1))
        assert [(c.contractor.contractor_id, c.blocked) for c in listed] == [
            (ann, False),
            (bob, True),
        ]
        assert listed[1].blocked_everywhere
        unblocked = op.list_contractors_page(qualification=qualification, blocked=False)
        assert [c.contractor.contractor_id for c in unblocked.contractors] == [ann]
        assert unblocked.next_page_token == ""

        rich, poor = unique("rich"), unique("poor")
        project = await new_project(
            stack, pay_terms=build.per_submission(build.money(3000, CHF)), title="chf"
        )
        tasks = await tasks_in(stack, project, 3)
        await wait_offered(stack, *(t.task_id for t in tasks))
        for worker, task in ((rich, tasks[0]), (rich, tasks[1]), (poor, tasks[2])):
            granted = await claim(stack, worker, task.task_id)
            await submit_work(stack, worker, granted.claim_id)
        for worker, earned in ((rich, 6000), (poor, 3000)):
            await eventually(lambda w=worker, e=earned: _has(op, w, e))

        threshold = Money.of("50", CHF)
        preview = op.preview_payout_batch(threshold=threshold)
        assert [(p.contractor_id, p.account_id, p.amount) for p in preview.payouts] == [
            (rich, f"contractor:{rich}", Money.of("60", CHF))
        ]
        assert preview.total == Money.of("60", CHF) and preview.threshold == threshold
        assert await chf_balance(op, rich) == 6000  # the preview moved nothing

        batch_id = unique("chf-batch")
        batch = op.run_payout_batch(threshold=threshold, batch_id=batch_id)
        assert [(p.contractor_id, p.amount) for p in batch.payouts] == [
            (p.contractor_id, p.amount) for p in preview.payouts
        ]
        assert batch.total == preview.total and batch.payout_count == 1
        assert await chf_balance(op, rich) == 0 and await chf_balance(op, poor) == 3000

        mine = [b for b in op.payout_batches(page_size=2) if b.batch_id == batch_id]
        assert [(b.payout_count, b.total, len(b.payouts)) for b in mine] == [
            (1, Money.of("60", CHF), 0)
        ]
        assert mine[0].completed_at is not None

        # The operator's own mistakes are named, not INTERNAL.
        for call in (
            lambda: op.list_clients_page(page_token="not a token"),
            lambda: op.list_bonuses_page(page_token=CHF),
            lambda: op.list_payout_batches_page(page_token=unblocked.next_page_token + "x"),
            lambda: op.list_contractors_page(page_size=501),
        ):
            with pytest.raises(CrewlineError) as err:
                call()
            assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
            assert err.value.field in ("page_token", "page_size"), err.value


async def _has(op: Operator, contractor: str, amount: int) -> bool:
    return await chf_balance(op, contractor) == amount
