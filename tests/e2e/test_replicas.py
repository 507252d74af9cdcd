"""Two matcher replicas on one database and one consumer group: claims stay first come
first served across them, and events reach the pool whichever replica consumes them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import grpc
import pytest

from crewline.ctl.rpc import error_reason
from crewline.v1 import work_service_pb2 as work_api
from crewline.v1 import work_service_pb2_grpc

from flow import as_contractor, claim, offered, submit_task, unique, wait_offered
from harness import ServiceProcess, Stack
from stack import eventually


def consumed_by(service: ServiceProcess, correlations: set[str]) -> set[str]:
    """Which of these correlation ids the service's consumer applied (not skipped as duplicate)."""
    found = set()
    for line in service.log_text().splitlines():
        if '"event_consumed"' in line:
            entry = json.loads(line)
            if entry["outcome"] == "applied" and entry["correlation_id"] in correlations:
                found.add(entry["correlation_id"])
    return found


@pytest.fixture
async def replica(stack: Stack) -> AsyncIterator[work_service_pb2_grpc.WorkServiceStub]:
    second = stack.services["matcher"].replica("replica")
    second.start()
    stack.services["matcher-replica"] = second
    try:
        await stack.wait_healthy("matcher-replica")
        # The group has handed the replica its share of the tasks topic's partitions.
        await eventually(second.holds_partitions)
        async with grpc.aio.insecure_channel(second.grpc_addr) as channel:
            yield work_service_pb2_grpc.WorkServiceStub(channel)
    finally:
        del stack.services["matcher-replica"]
        assert second.terminate() == 0


@pytest.mark.parametrize("slots", [1, 3])
async def test_claims_racing_across_two_replicas_never_exceed_the_slots(
    stack: Stack, replica: work_service_pb2_grpc.WorkServiceStub, slots: int
) -> None:
    task = await submit_task(stack, slots=slots)
    await wait_offered(stack, task.task_id)
    stubs = [stack.work, replica]
    racers = [await as_contractor(stack, unique(f"racer{i}")) for i in range(40)]

    async def attempt(i: int) -> work_api.Claim | grpc.aio.AioRpcError:
        request = work_api.ClaimTaskRequest(request_id=unique("r"), task_id=task.task_id)
        try:
            return (await stubs[i % 2].ClaimTask(request, metadata=racers[i])).claim
        except grpc.aio.AioRpcError as err:
            return err

    results = await asyncio.gather(*(attempt(i) for i in range(len(racers))))
    granted = [r for r in results if isinstance(r, work_api.Claim)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(granted) == slots and len({c.contractor_id for c in granted}) == slots
    assert {(e.code(), error_reason(e)) for e in refused} == {
        (grpc.StatusCode.FAILED_PRECONDITION, "NO_FREE_SLOT")
    }


async def test_a_stream_on_one_replica_sees_tasks_the_other_ingested_and_claimed(
    stack: Stack, replica: work_service_pb2_grpc.WorkServiceStub
) -> None:
    watchers = {"primary": stack.work, "replica": replica}
    calls = {
        name: stub.StreamOffers(
            work_api.StreamOffersRequest(), metadata=await as_contractor(stack, unique(name))
        )
        for name, stub in watchers.items()
    }
    for call in calls.values():  # the snapshot (other tests' tasks) ends before ours begin
        while (await call.read()).WhichOneof("event") != "snapshot_end":
            pass
    tasks = {(await submit_task(stack, correlation_id=unique("corr"))).task_id for _ in range(20)}
    try:
        for call in calls.values():
            seen: set[str] = set()
            while not tasks <= seen:
                message = await asyncio.wait_for(call.read(), 30)
                seen.update(
                    c.offered.task_id
                    for c in message.changes.changes
                    if c.WhichOneof("change") == "offered"
                )
        # A claim through the replica is withdrawn from the stream the primary holds.
        taken = sorted(tasks)[0]
        await replica.ClaimTask(
            work_api.ClaimTaskRequest(request_id=unique("r"), task_id=taken),
            metadata=await as_contractor(stack, unique("w")),
        )
        reasons: list[int] = []
        while not reasons:
            message = await asyncio.wait_for(calls["primary"].read(), 30)
            reasons = [
                c.withdrawn.reason
                for c in message.changes.changes
                if c.WhichOneof("change") == "withdrawn" and c.withdrawn.task_id == taken
            ]
        assert reasons == [work_api.WITHDRAWAL_REASON_FILLED]
    finally:
        for call in calls.values():
            call.cancel()


async def test_tasks_reach_the_pool_whichever_replica_consumes_them(
    stack: Stack, replica: work_service_pb2_grpc.WorkServiceStub
) -> None:
    correlations = [unique("corr") for _ in range(30)]  # random keys: every partition gets some
    tasks = [await submit_task(stack, correlation_id=c) for c in correlations]
    for task in tasks:
        await wait_offered(stack, task.task_id)

    by_replica = consumed_by(stack.services["matcher-replica"], set(correlations))
    by_primary = consumed_by(stack.services["matcher"], set(correlations))
    assert by_replica and by_primary  # the group split the work...
    assert by_replica.isdisjoint(by_primary)  # ...and no event was applied twice
    assert by_replica | by_primary == set(correlations)
    # One pool: a task the replica consumed is claimed through the primary.
    task = tasks[correlations.index(next(iter(by_replica)))]
    assert await offered(stack, unique("probe"), task.task_id)
    assert (await claim(stack, unique("w"), task.task_id)).task_id == task.task_id
