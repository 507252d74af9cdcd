"""Two matcher replicas on one database and one consumer group: claims stay first come
first served across them, and events reach the pool whichever replica consumes them.
Then two replicas of every service at once: work is shared and nothing is done twice."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crewline.client.errors import error_reason
from crewline.client.metadata import CORRELATION_METADATA
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import (
    ledger_service_pb2_grpc,
    quality_service_pb2_grpc,
    task_service_pb2_grpc,
    work_service_pb2_grpc,
)
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import (
    Metadata,
    as_client,
    as_contractor,
    as_operator,
    claim,
    new_project,
    offered,
    submit_task,
    unique,
    wait_offered,
)
from harness import SERVICES, ServiceProcess, Stack
from stack import eventually


def consumed_by(service: ServiceProcess, correlations: set[str]) -> set[str]:
    """Which of these correlation ids the service's consumer applied (not skipped as duplicate)."""
    found = set()
    for line in service.log_lines():
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
    await wait_offered(stack, *(t.task_id for t in tasks))

    def by(service: str) -> set[str]:
        return consumed_by(stack.services[service], set(correlations))

    async def all_logged() -> bool:  # a consumer logs an event once it has committed it
        return len(by("matcher-replica")) + len(by("matcher")) >= len(correlations)

    await eventually(all_logged)
    by_replica, by_primary = by("matcher-replica"), by("matcher")
    assert by_replica and by_primary  # the group split the work...
    assert by_replica.isdisjoint(by_primary)  # ...and no event was applied twice
    assert by_replica | by_primary == set(correlations)
    # One pool: a task the replica consumed is claimed through the primary.
    task = tasks[correlations.index(next(iter(by_replica)))]
    assert await offered(stack, unique("probe"), task.task_id)
    assert (await claim(stack, unique("w"), task.task_id)).task_id == task.task_id


# --- Two replicas of each of the three services at once -------------------------------


def applied_event_ids(service: ServiceProcess) -> Counter[str]:
    """How many times the service's consumer applied each event id (from its log)."""
    applied: Counter[str] = Counter()
    for line in service.log_lines():
        if '"event_consumed"' in line:
            entry = json.loads(line)
            if entry["outcome"] == "applied":
                applied[entry["event_id"]] += 1
    return applied


def scrape(service: ServiceProcess) -> dict[str, float]:
    """Calls answered OK and events applied so far, from the service's /metrics page."""
    with urllib.request.urlopen(service.metrics_url, timeout=5) as page:
        text = page.read().decode()
    totals = {"calls": 0.0, "applied": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_rpc_requests_total") and sample.labels["code"] == "OK":
                totals["calls"] += sample.value
            elif (
                sample.name.endswith("_events_consumed_total")
                and sample.labels["outcome"] == "applied"
            ):
                totals["applied"] += sample.value
    return totals


@dataclass(frozen=True)
class Pair:
    """Both processes of one service; stubs to each, the primary's first."""

    processes: tuple[ServiceProcess, ServiceProcess]
    tasks: tuple[task_service_pb2_grpc.TaskServiceStub, ...]
    work: tuple[work_service_pb2_grpc.WorkServiceStub, ...]
    ledger: tuple[ledger_service_pb2_grpc.LedgerServiceStub, ...]
    quality: tuple[quality_service_pb2_grpc.QualityServiceStub, ...]


@pytest.fixture
async def replicas(stack: Stack) -> AsyncIterator[dict[str, Pair]]:
    """A second process of every service, each holding its share of its group's partitions."""
    started = {name: stack.services[name].replica("replica") for name in SERVICES}
    async with AsyncExitStack() as exits:
        try:
            for name, second in started.items():
                second.start()
                stack.services[f"{name}-replica"] = second
            await stack.wait_healthy(*(f"{name}-replica" for name in SERVICES))
            pairs = {}
            for name, second in started.items():
                primary = stack.services[name]
                # After the rebalance, both members of the group hold partitions.
                await eventually(primary.holds_partitions)
                await eventually(second.holds_partitions)
                channels = [
                    await exits.enter_async_context(grpc.aio.insecure_channel(p.grpc_addr))
                    for p in (primary, second)
                ]
                pairs[name] = Pair(
                    processes=(primary, second),
                    tasks=tuple(task_service_pb2_grpc.TaskServiceStub(c) for c in channels),
                    work=tuple(work_service_pb2_grpc.WorkServiceStub(c) for c in channels),
                    ledger=tuple(ledger_service_pb2_grpc.LedgerServiceStub(c) for c in channels),
                    quality=tuple(quality_service_pb2_grpc.QualityServiceStub(c) for c in channels),
                )
            yield pairs
        finally:
            codes = {}
            for name, second in started.items():
                stack.services.pop(f"{name}-replica", None)
                if second.proc is not None:
                    codes[name] = second.terminate()
            assert set(codes.values()) <= {0}, codes


async def hand_in_work(
    stack: Stack, pairs: dict[str, Pair], project: str, md: Metadata, count: int
) -> list[tuple[str, str]]:
    """``count`` tasks submitted, claimed and handed in, each call alternating between the
    two processes of its service; (contractor, submission id) for each."""
    tasks, work = pairs["dispatcher"].tasks, pairs["matcher"].work
    done = []
    for i in range(count):
        reply = await tasks[i % 2].SubmitTasks(
            task_api.SubmitTasksRequest(
                project_id=project,
                tasks=[task_api.TaskSpec(idempotency_key=unique("t"), payload_json="{}")],
            ),
            metadata=md,
        )
        task_id = reply.tasks[0].task_id
        await wait_offered(stack, task_id)
        worker = unique("w")
        contractor = await as_contractor(stack, worker)
        granted = await work[i % 2].ClaimTask(
            work_api.ClaimTaskRequest(request_id=unique("r"), task_id=task_id),
            metadata=contractor,
        )
        await work[(i + 1) % 2].SubmitWork(
            work_api.SubmitWorkRequest(claim_id=granted.claim.claim_id, result=b"4/5"),
            metadata=contractor,
        )
        done.append((worker, granted.claim.claim_id))
    return done


async def accept_each_twice(
    tasks: tuple[task_service_pb2_grpc.TaskServiceStub, ...], md: Metadata, submissions: list[str]
) -> None:
    """Accept each submission through one replica, then again through the other (a no-op)."""
    for i, submission_id in enumerate(submissions):

        async def known(
            stub: task_service_pb2_grpc.TaskServiceStub = tasks[i % 2], sid: str = submission_id
        ) -> bool:
            try:
                await stub.GetSubmission(
                    task_api.GetSubmissionRequest(submission_id=sid), metadata=md
                )
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.NOT_FOUND, err
                return False
            return True

        await eventually(known)  # the dispatcher learns of it from the matcher's event
        for j in (i, i + 1):
            reply = await tasks[j % 2].AcceptSubmission(
                task_api.AcceptSubmissionRequest(submission_id=submission_id),
                metadata=(*md, (CORRELATION_METADATA, unique("accept"))),
            )
            assert reply.submission.status == task_api.SUBMISSION_STATUS_ACCEPTED


async def test_two_replicas_of_every_service_share_the_work_and_pay_each_submission_once(
    stack: Stack, replicas: dict[str, Pair]
) -> None:
    processes = [p for pair in replicas.values() for p in pair.processes]
    before = [await asyncio.to_thread(scrape, p) for p in processes]
    client, reward, count = unique("lab"), 1000, 16
    md = await as_client(stack, client)
    project = await new_project(
        stack, client=client, reward=reward, auto_accept_delay_seconds=86_400
    )
    handed_in = await hand_in_work(stack, replicas, project, md, count)
    await accept_each_twice(replicas["dispatcher"].tasks, md, [s for _, s in handed_in])

    ledger = replicas["ledger"].ledger

    async def balance_of(account: str, i: int) -> int:
        reply = await ledger[i % 2].GetBalance(
            ledger_api.GetBalanceRequest(account_id=account), metadata=as_operator(stack)
        )
        return sum(m.amount_minor for m in reply.balances if m.currency_code == "USD")

    fee = -(-reward // 5)  # the ledger's default 20 % platform fee, rounded up

    async def all_paid() -> bool:
        return await balance_of(f"client:{client}", 0) == -count * (reward + fee)

    await eventually(all_paid)
    for i, (worker, _) in enumerate(handed_in):  # paid once, as either replica sees it
        assert await balance_of(f"contractor:{worker}", i) == reward
        assert await balance_of(f"contractor:{worker}", i + 1) == reward
    for stub in ledger:
        books = await stub.VerifyBooks(ledger_api.VerifyBooksRequest(), metadata=as_operator(stack))
        assert books.balanced, books
        assert books.paid_twice_count == books.unpaid_count == 0, books
        assert books.unbalanced_transaction_count == books.mismatched_balance_count == 0, books
    for i, (worker, _) in enumerate(handed_in):  # each acceptance scored once, seen by both
        for stub in (replicas["quality"].quality[i % 2], replicas["quality"].quality[(i + 1) % 2]):

            async def scored(
                stub: quality_service_pb2_grpc.QualityServiceStub = stub, worker: str = worker
            ) -> bool:
                reply = await stub.GetContractorScores(
                    quality_api.GetContractorScoresRequest(contractor_id=worker),
                    metadata=as_operator(stack),
                )
                return [(s.accepted, s.reviewed) for s in reply.scores] == [(1, 1)]

            await eventually(scored)

    after = [await asyncio.to_thread(scrape, p) for p in processes]
    for process, old, new in zip(processes, before, after, strict=True):
        label = process.log_path.name
        assert new["calls"] > old["calls"], f"{label} served no calls"
        assert new["applied"] > old["applied"], f"{label} applied no events"
    for name, pair in replicas.items():  # no event applied by both processes, or twice by one
        primary, second = (applied_event_ids(p) for p in pair.processes)
        assert not set(primary) & set(second), name
        assert max((primary + second).values()) == 1, name
