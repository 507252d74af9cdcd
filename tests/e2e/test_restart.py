"""A service stopped with SIGTERM mid-flow and started again loses no event."""

from __future__ import annotations

import asyncio

from flow import balance, claim, operator_sdk, submit_task, submit_work, unique, wait_offered
from harness import Stack
from stack import eventually


async def test_sigterm_mid_flow_then_restart_pays_every_piece_of_work_once(stack: Stack) -> None:
    workers = [unique("w") for _ in range(5)]
    tasks = [await submit_task(stack, slots=len(workers), amount=300) for _ in range(6)]
    for task in tasks:
        await wait_offered(stack, task.task_id)

    async def work(contractor: str) -> None:
        for task in tasks:
            granted = await claim(stack, contractor, task.task_id)
            await submit_work(stack, contractor, granted.claim_id)

    # Half the work, then SIGTERM the dispatcher while its events are in flight.
    await asyncio.gather(*(work(c) for c in workers[:3]))
    dispatcher = stack.services["dispatcher"]
    assert dispatcher.terminate() == 0  # graceful drain, clean exit
    await asyncio.gather(*(work(c) for c in workers[3:]))  # the matcher keeps taking work
    dispatcher.start()
    await stack.wait_healthy("dispatcher")

    # And SIGTERM the ledger while pay is flowing.
    ledger = stack.services["ledger"]
    assert ledger.terminate() == 0
    ledger.start()
    await stack.wait_healthy("ledger")

    expected = 300 * len(tasks)

    async def all_paid() -> bool:
        return all([await balance(stack, f"contractor:{c}") == expected for c in workers])

    await eventually(all_paid, timeout=120)
    for c in workers:
        assert await balance(stack, f"contractor:{c}") == expected  # never more
    books = await operator_sdk(stack).verify_books()
    assert books.balanced
