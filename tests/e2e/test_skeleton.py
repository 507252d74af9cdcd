"""The walking skeleton, end to end through gRPC, Kafka and PostgreSQL."""

from __future__ import annotations

from crewline.client import Money, PostingKind, SubmissionStatus, TaskStatus
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import (
    balance,
    claim,
    client_sdk,
    operator_sdk,
    submit_task,
    submit_work,
    unique,
    wait_balance,
    wait_offered,
)
from harness import Stack


async def test_submitted_task_is_claimed_done_accepted_and_paid_once(stack: Stack) -> None:
    ann, client = unique("ann"), unique("client")
    task = await submit_task(stack, slots=1, amount=2500, client=client)
    assert task.status == task_api.TASK_STATUS_OPEN

    await wait_offered(stack, task.task_id)  # TaskPublished reached the matcher
    granted = await claim(stack, ann, task.task_id)
    assert granted.status == work_api.CLAIM_STATUS_ACTIVE
    assert granted.pay_terms.per_submission.reward.amount_minor == 2500
    done = await submit_work(stack, ann, granted.claim_id)
    assert done.status == work_api.CLAIM_STATUS_SUBMITTED

    await wait_balance(stack, f"contractor:{ann}", 2500)  # auto-accepted, then paid
    assert await balance(stack, f"client:{client}") == -3000  # 2,500 and the 20 % fee

    found = await (await client_sdk(stack, client)).get_task(task.task_id)
    assert found.task.status is TaskStatus.COMPLETED
    assert (found.task.claimed_count, found.task.submitted_count, found.task.accepted_count) == (
        1,
        1,
        1,
    )
    assert [(s.submission_id, s.contractor_id, s.status) for s in found.submissions] == [
        (granted.claim_id, ann, SubmissionStatus.ACCEPTED)
    ]
    op = operator_sdk(stack)
    books = await op.verify_books()
    assert books.balanced and books.unbalanced_transaction_count == 0
    assert books.unpaid_count == books.paid_twice_count == 0
    statement = [e async for e in op.statement(account_id=f"contractor:{ann}")]
    assert [(e.kind, e.source, e.amount) for e in statement] == [
        (PostingKind.PAY, f"submission:{granted.claim_id}", Money.of("25", "USD"))
    ]


async def test_submitting_work_again_changes_nothing_and_pays_once(stack: Stack) -> None:
    bo = unique("bo")
    task = await submit_task(stack, amount=700)
    await wait_offered(stack, task.task_id)
    granted = await claim(stack, bo, task.task_id)
    first = await submit_work(stack, bo, granted.claim_id)
    again = await submit_work(stack, bo, granted.claim_id)
    assert first == again
    await wait_balance(stack, f"contractor:{bo}", 700)
    # Everything after the pay has drained through; still exactly one payment.
    found = await (await client_sdk(stack, "acme")).get_task(task.task_id)
    assert found.task.submitted_count == 1 and found.task.accepted_count == 1
    assert await balance(stack, f"contractor:{bo}") == 700
