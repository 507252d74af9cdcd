"""Overload and races are answered, not dropped.

A burst far beyond what a matcher takes at once gets RESOURCE_EXHAUSTED for the
excess, every one counted in its metrics; none is CANCELLED before reaching it.
Concurrent copies of one idempotent request all get the same answer.
"""

from __future__ import annotations

import asyncio
import re
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest

from crewline.v1 import work_service_pb2 as work_api
from crewline.v1 import work_service_pb2_grpc

from flow import as_contractor, claim, submit_task, submit_work, unique, wait_offered
from harness import ServiceProcess, Stack
from stack import PG_HOST, PG_PORT, PG_USER, eventually

BURST = 4000
LIMIT = 32


@pytest.fixture
async def small_matcher(
    stack: Stack,
) -> AsyncIterator[tuple[ServiceProcess, work_service_pb2_grpc.WorkServiceStub]]:
    """A second matcher (same database and group) that takes only LIMIT calls at once."""
    proc = stack.services["matcher"].replica("small", CREWLINE_MATCHER_MAX_IN_FLIGHT=str(LIMIT))
    proc.start()
    stack.services["matcher-small"] = proc
    try:
        await stack.wait_healthy("matcher-small")
        async with grpc.aio.insecure_channel(proc.grpc_addr) as channel:
            yield proc, work_service_pb2_grpc.WorkServiceStub(channel)
    finally:
        del stack.services["matcher-small"]
        assert proc.terminate() == 0


def counted(metrics_url: str, method: str) -> Counter[str]:
    with urllib.request.urlopen(metrics_url, timeout=5) as page:
        text = page.read().decode()
    pattern = rf'rpc_requests_total{{code="(\w+)",method="{method}"}} ([0-9.e+]+)'
    return Counter({code: int(float(n)) for code, n in re.findall(pattern, text)})


async def test_a_burst_beyond_the_limit_is_resource_exhausted_and_counted_never_cancelled(
    stack: Stack, small_matcher: tuple[ServiceProcess, work_service_pb2_grpc.WorkServiceStub]
) -> None:
    """The first LIMIT calls are held in flight (the test locks the task's row), so
    exactly the rest must be shed, however fast the matcher would otherwise be."""
    proc, stub = small_matcher
    task = await submit_task(stack, slots=50)
    await wait_offered(stack, task.task_id)
    racers = [await as_contractor(stack, unique("burst")) for _ in range(100)]

    async def one(i: int) -> str:
        request = work_api.ClaimTaskRequest(request_id=unique("b"), task_id=task.task_id)
        try:
            await stub.ClaimTask(request, metadata=racers[i % len(racers)], timeout=120)
        except grpc.aio.AioRpcError as err:
            return str(err.code().name)
        return "OK"

    db = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database=proc.env["CREWLINE_MATCHER_PG_DB"]
    )
    try:
        hold = db.transaction()
        await hold.start()
        await db.execute("SELECT 1 FROM open_tasks WHERE task_id = $1 FOR UPDATE", task.task_id)
        calls = [asyncio.ensure_future(one(i)) for i in range(BURST)]
        # Every admitted call now waits on the row, so exactly BURST - LIMIT come back.
        shed: list[str] = []
        for answer in asyncio.as_completed(calls, timeout=120):
            shed.append(await answer)
            if len(shed) == BURST - LIMIT:
                break
        await hold.rollback()
    finally:
        await db.close()
    seen = Counter(await asyncio.gather(*calls))
    print(f"\n{BURST} ClaimTask calls at once, limit {LIMIT} in flight: {dict(seen)}")
    assert Counter(shed) == {"RESOURCE_EXHAUSTED": BURST - LIMIT}
    assert set(seen) <= {"OK", "ALREADY_EXISTS", "RESOURCE_EXHAUSTED"}
    # The held calls all ran once the row was free: each a grant, or a racer's second try.
    assert seen["OK"] + seen["ALREADY_EXISTS"] == LIMIT and seen["OK"] > 0
    # Everything the callers saw, the matcher counted: nothing vanished before the edge.
    # (The edge counts a call as it ends, which may be just after its caller has the answer.)

    async def all_counted() -> bool:
        return counted(proc.metrics_url, "ClaimTask") == seen

    await eventually(all_counted, timeout=30)


async def test_concurrent_copies_of_one_submit_work_get_the_same_claim(stack: Stack) -> None:
    worker = unique("twin")
    task = await submit_task(stack)
    await wait_offered(stack, task.task_id)
    granted = await claim(stack, worker, task.task_id)

    answers = await asyncio.gather(
        *(submit_work(stack, worker, granted.claim_id) for _ in range(50))
    )

    assert all(a == answers[0] for a in answers)
    assert answers[0].status == work_api.CLAIM_STATUS_SUBMITTED


async def test_concurrent_copies_of_one_claim_and_one_task_get_the_same_answer(
    stack: Stack,
) -> None:
    rid = unique("same")
    tasks = await asyncio.gather(*(submit_task(stack, request_id=rid) for _ in range(30)))
    assert len({t.task_id for t in tasks}) == 1
    await wait_offered(stack, tasks[0].task_id)
    worker = unique("twin")
    claims = await asyncio.gather(
        *(claim(stack, worker, tasks[0].task_id, request_id=rid) for _ in range(30))
    )
    assert all(c == claims[0] for c in claims)
