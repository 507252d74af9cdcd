"""2,000 contractors race for 100 tasks of 3 slots: exactly 300 grants, none doubled,
every loser refused with its reason."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

import asyncpg
import grpc

from bench.common import (
    Stack,
    Summary,
    new_client,
    new_contractors,
    new_project,
    submit_tasks,
    task_specs,
    wait_pooled,
    wait_quiet,
)
from crewline.client.errors import error_reason
from crewline.client.metadata import bearer_metadata
from crewline.v1 import work_service_pb2 as work_api

CONTRACTORS, TASKS, SLOTS = 2000, 100, 3
IN_FLIGHT = 200  # under the matcher's 256 admitted calls


async def run(stack: Stack, summary: Summary) -> None:
    print("contention: seeding 2,000 contractors (IssueContractorToken) and 100 tasks")
    client = await new_client(stack, stack.name("race-client"))
    project = await new_project(stack, client, title=stack.name("race"), slots=SLOTS)
    ids = [stack.name(f"race-c{i}") for i in range(CONTRACTORS)]
    tokens = dict(zip(ids, await new_contractors(stack, ids), strict=True))
    task_ids = await submit_tasks(
        stack, client, project, task_specs(stack.name("race"), TASKS, slots=SLOTS)
    )
    await wait_pooled(stack, task_ids)
    await wait_quiet()

    # Each contractor tries two tasks, and its first one again under a new request id.
    rng = random.Random(6)
    attempts = []
    for c in ids:
        first, second = rng.sample(task_ids, 2)
        attempts += [(c, first), (c, second), (c, first)]
    rng.shuffle(attempts)
    work = stack.work()
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def attempt(contractor: str, task_id: str) -> tuple[str, str, str]:
        request = work_api.ClaimTaskRequest(request_id=uuid.uuid4().hex, task_id=task_id)
        async with gate:
            try:
                await work.ClaimTask(
                    request, metadata=bearer_metadata(tokens[contractor]), timeout=60
                )
            except grpc.aio.AioRpcError as err:
                return contractor, task_id, f"{err.code().name}/{error_reason(err)}"
        return contractor, task_id, "GRANTED"

    print(f"contention: {len(attempts)} ClaimTask calls, {IN_FLIGHT} in flight")
    started = asyncio.get_running_loop().time()
    results = await asyncio.gather(*(attempt(c, t) for c, t in attempts))
    elapsed = asyncio.get_running_loop().time() - started
    outcomes = Counter(r for _, _, r in results)
    granted = [(c, t) for c, t, r in results if r == "GRANTED"]
    per_task = Counter(t for _, t in granted)
    doubled = len(granted) - len(set(granted))
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        in_db = await conn.fetchval(
            "SELECT count(*) FROM claims WHERE task_id = ANY($1::uuid[])",
            [uuid.UUID(t) for t in task_ids],
        )
        free = await conn.fetchval(
            "SELECT sum(free_slots) FROM open_tasks WHERE task_id = ANY($1::uuid[])",
            [uuid.UUID(t) for t in task_ids],
        )
    finally:
        await conn.close()
    ok = (
        len(granted) == TASKS * SLOTS == in_db
        and doubled == 0
        and set(per_task.values()) == {SLOTS}
        and free == 0
        and {o.split("/")[-1] for o in outcomes} <= {"GRANTED", "NO_FREE_SLOT", "ALREADY_CLAIMED"}
    )
    summary.add(
        "Contention: 2,000 contractors x 100 tasks x 3 slots",
        f"{'PASS' if ok else 'FAIL'}: {len(granted)} granted (claims rows {in_db}, free slots "
        f"left {free}), {doubled} doubled, {len(results)} calls in {elapsed:.1f}s; "
        + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
    )
