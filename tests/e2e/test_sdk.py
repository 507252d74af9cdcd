"""The Python SDK (``crewline.client``) against the four services.

Each audience's main calls; refusals as exceptions with code, reason and field; the same
request id answered the same; and the streams resuming by themselves across a restart
of the service that serves them.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import grpc
import pytest

from crewline.client import (
    AlreadyExists,
    ClaimStatus,
    Client,
    InvalidArgument,
    Money,
    NotFound,
    Offered,
    PermissionDenied,
    Refused,
    Resync,
    SnapshotEnd,
    Submission,
    SubmissionStatus,
    TaskStatus,
    Unauthenticated,
    build,
)
from crewline.client.offers import OfferEvent, OfferStream
from crewline.v1 import task_service_pb2 as task_api

from flow import (
    client_sdk,
    contractor_sdk,
    endpoints,
    new_client_key,
    new_contractor_token,
    new_project,
    operator_sdk,
    unique,
    wait_offered,
)
from harness import Stack
from stack import ROOT, eventually

T = TypeVar("T")


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


async def test_a_client_publishes_a_contractor_works_and_the_client_reviews_and_pays(
    stack: Stack,
) -> None:
    client_id, worker_id = unique("sdk-client"), unique("sdk-worker")
    client = await client_sdk(stack, client_id)
    worker = await contractor_sdk(stack, worker_id)
    project = await client.create_project(
        title="Caption clips",
        instructions="Caption each clip.",
        pay_terms=build.per_submission(build.usd(400)),
        auto_accept_delay_seconds=86_400,
    )
    tasks = await client.submit_tasks(
        project.project_id, [build.task({"clip": n}) for n in range(3)]
    )
    assert [t.status for t in tasks] == [TaskStatus.OPEN] * 3
    assert tasks[0].payload == '{"clip":0}' and tasks[0].raw.payload_json == '{"clip":0}'
    assert str(project).startswith(f"project {project.project_id} 'Caption clips': ACTIVE,")
    assert str(project.pay_terms) == "$4.00 USD per submission"
    listed = [t.task_id async for t in client.tasks(project_id=project.project_id, page_size=1)]
    assert sorted(listed) == sorted(t.task_id for t in tasks)  # three pages of one
    assert project.project_id in [p.project_id async for p in client.projects(page_size=1)]

    for t in tasks:
        await wait_offered(stack, t.task_id)
    offered = [o.task_id async for o in worker.offers(project_id=project.project_id)]
    assert sorted(offered) == sorted(t.task_id for t in tasks)
    claims = [await worker.claim(t.task_id) for t in tasks]
    beat = await worker.heartbeat(claims[0].claim_id, worked_seconds=1)
    assert beat.worked_seconds == 1
    for c in claims:
        done = await worker.submit(c.claim_id, "caption", worked_seconds=1)
        assert done.status is ClaimStatus.SUBMITTED
    mine = [c.claim_id async for c in worker.claims(project_id=project.project_id, page_size=2)]
    assert sorted(mine) == sorted(c.claim_id for c in claims)

    pending: list[Submission] = []

    async def handed_in() -> bool:  # the work reaches the dispatcher through Kafka
        pending[:] = [
            s
            async for s in client.submissions(
                project_id=project.project_id, status=SubmissionStatus.PENDING_REVIEW
            )
        ]
        return len(pending) == 3

    await eventually(handed_in)
    first, second, third = pending
    accepted = await client.accept(first.submission_id, feedback="good")
    rejected = await client.reject(second.submission_id, feedback="off by a second")
    await client.accept(third.submission_id)
    bonus = await client.grant_bonus(
        first.submission_id, amount=Money.of("0.50", "USD"), reason="fast", idempotency_key="b-1"
    )
    again = await client.grant_bonus(
        first.submission_id, amount=build.usd(50), reason="fast", idempotency_key="b-1"
    )  # the message is taken as well: the same bonus
    assert accepted.status is SubmissionStatus.ACCEPTED and accepted.earned == usd("4")
    assert rejected.status is SubmissionStatus.REJECTED
    assert bonus.bonus.amount == usd("0.50") and again.bonus.bonus_id == bonus.bonus.bonus_id

    op = operator_sdk(stack)

    async def paid() -> bool:
        found = await worker.balance()
        return found.balances == (usd("8.50"),)

    await eventually(paid)
    earnings = await worker.earnings()
    assert [line.paid for line in earnings.total] == [usd("8")]  # for work
    assert earnings.other == (usd("0.50"),)  # the bonus
    assert str(earnings).startswith(f"earnings of {worker_id}: $8.00 USD for 2 submissions")
    statement = [e.amount async for e in worker.statement(page_size=1)]
    assert sorted(m.minor for m in statement if m) == [50, 400, 400]
    books = await op.verify_books()
    assert books.balanced and books.paid_twice_count == 0
    assert await op.health_all() == {
        "dispatcher": "SERVING",
        "matcher": "SERVING",
        "ledger": "SERVING",
        "quality": "SERVING",
    }


async def test_refusals_carry_code_reason_field_and_message(stack: Stack) -> None:
    worker = await contractor_sdk(stack, unique("sdk-worker"))
    with pytest.raises(InvalidArgument) as bad:
        await worker.claim("not-a-uuid")
    assert (bad.value.code, bad.value.reason, bad.value.field) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
        "task_id",
    )
    assert "task_id" in bad.value.message and bad.value.correlation_id

    with pytest.raises(NotFound) as missing:
        await worker.claim("00000000-0000-4000-8000-000000000000")
    assert missing.value.code_name == "NOT_FOUND"

    client = await client_sdk(stack, unique("sdk-client"))
    project = await client.create_project(
        title="One slot", pay_terms=build.per_submission(build.usd(10))
    )
    (task,) = await client.submit_tasks(project.project_id, [build.task({}, slots=1)])
    await wait_offered(stack, task.task_id)
    await worker.claim(task.task_id)
    with pytest.raises(AlreadyExists) as twice:
        await worker.claim(task.task_id)
    assert twice.value.reason == "ALREADY_CLAIMED"
    other = await contractor_sdk(stack, unique("sdk-late"))
    with pytest.raises(Refused) as full:
        await other.claim(task.task_id)
    assert full.value.reason == "NO_FREE_SLOT"

    stranger = Client(credential="crwk_nonsense", endpoints=endpoints(stack))
    async with stranger:
        with pytest.raises(Unauthenticated) as forged:
            await stranger.get_project(project.project_id)
    assert forged.value.reason == "CREDENTIAL_MALFORMED"

    # A contractor's token is no client's key.
    token = (await new_contractor_token(stack, unique("sdk-wrong"))).secret
    async with Client(credential=token, endpoints=endpoints(stack)) as wrong_kind:
        with pytest.raises(PermissionDenied) as denied:
            await wrong_kind.list_projects_page()
    assert denied.value.code == grpc.StatusCode.PERMISSION_DENIED


async def test_the_same_request_id_gets_the_same_answer(stack: Stack) -> None:
    client = await client_sdk(stack, unique("sdk-client"))
    terms = build.per_submission(build.usd(10))
    rid = unique("proj")
    first = await client.create_project(title="Once", pay_terms=terms, request_id=rid)
    again = await client.create_project(title="Once", pay_terms=terms, request_id=rid)
    assert again.project_id == first.project_id

    spec = build.task({"n": 1}, idempotency_key=unique("key"), slots=2)
    (task,) = await client.submit_tasks(first.project_id, [spec])
    (same,) = await client.submit_tasks(first.project_id, [spec])
    assert same.task_id == task.task_id

    await wait_offered(stack, task.task_id)
    worker = await contractor_sdk(stack, unique("sdk-worker"))
    claim_id = unique("claim")
    granted = await worker.claim(task.task_id, request_id=claim_id)
    repeated = await worker.claim(task.task_id, request_id=claim_id)
    assert repeated.claim_id == granted.claim_id
    held = [c.claim_id async for c in worker.claims(task_id=task.task_id)]
    assert held == [granted.claim_id]  # one claim, however often it was asked for

    with pytest.raises(InvalidArgument) as reused:
        await client.create_project(title="Other", pay_terms=terms, request_id=rid)
    assert reused.value.field == "request_id"


async def collect(stream: AsyncIterator[T], into: list[T]) -> None:
    async for item in stream:
        into.append(item)


async def until(check: Callable[[], bool], *, timeout: float = 90.0) -> None:
    async def holds() -> bool:
        return check()

    await eventually(holds, timeout=timeout)


async def restart(stack: Stack, name: str) -> None:
    service = stack.services[name]
    assert await asyncio.to_thread(service.terminate) == 0
    service.start()
    await stack.wait_healthy(name)


async def test_watch_resumes_across_a_dispatcher_restart_missing_and_doubling_nothing(
    stack: Stack,
) -> None:
    client_id = unique("sdk-watch")
    client = await client_sdk(stack, client_id)
    project = await new_project(stack, client=client_id, auto_accept_delay_seconds=1)
    watch = client.watch(project_id=project)
    start = await watch.connect()
    seen: list[task_api.WatchEvent] = []
    reader = asyncio.create_task(collect(watch, seen))
    try:
        before, during = await client.submit_tasks(project, [build.task({}), build.task({})])
        await until(lambda: len(seen) >= 2)  # both published

        await asyncio.to_thread(stack.services["dispatcher"].terminate)
        worker = await contractor_sdk(stack, unique("sdk-worker"))
        await wait_offered(stack, during.task_id)  # the matcher works on meanwhile
        granted = await worker.claim(during.task_id)
        stack.services["dispatcher"].start()
        await stack.wait_healthy("dispatcher")

        after = (await client.submit_tasks(project, [build.task({})]))[0]
        await worker.submit(granted.claim_id, "done")

        def kinds() -> Counter[str | None]:
            return Counter(e.WhichOneof("event") for e in seen)

        await until(lambda: kinds()["work_submitted"] == 1 and kinds()["task_changed"] >= 3)
        assert watch.reconnects >= 1
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await watch.aclose()

    cursors = [e.cursor for e in seen]
    assert len(set(cursors)) == len(cursors)  # nothing doubled
    reference = client.watch(project_id=project, cursor=start)
    expected: list[task_api.WatchEvent] = []
    reading = asyncio.create_task(collect(reference, expected))
    try:
        await until(lambda: len(expected) >= len(seen))
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        await reference.aclose()
    assert [e.cursor for e in expected[: len(seen)]] == cursors  # nothing missed
    changed = {e.task_id for e in seen if e.HasField("task_changed")}
    assert {before.task_id, during.task_id, after.task_id} <= changed
    assert [e.task_id for e in seen if e.HasField("claim_granted")] == [during.task_id]


async def test_offers_resync_after_a_matcher_restart(stack: Stack) -> None:
    client_id = unique("sdk-offers")
    project = await new_project(stack, client=client_id)
    client = await client_sdk(stack, client_id)
    (early,) = await client.submit_tasks(project, [build.task({})])
    await wait_offered(stack, early.task_id)

    worker = await contractor_sdk(stack, unique("sdk-worker"))
    offers: OfferStream = worker.stream_offers(project_id=project)
    events: list[OfferEvent] = []
    reader = asyncio.create_task(collect(offers, events))
    try:
        await until(lambda: any(isinstance(e, SnapshotEnd) for e in events))
        assert list(offers.current) == [early.task_id]

        await restart(stack, "matcher")
        (late,) = await client.submit_tasks(project, [build.task({})])
        await until(lambda: sorted(offers.current) == sorted([early.task_id, late.task_id]))
        assert offers.reconnects >= 1
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await offers.aclose()

    resync = next(i for i, e in enumerate(events) if e == Resync(reconnected=True))
    after = events[resync + 1 :]
    offered_again = [e.task_id for e in after if isinstance(e, Offered)]
    assert early.task_id in offered_again  # the snapshot came again after reconnecting
    assert any(isinstance(e, SnapshotEnd) for e in after)


async def test_the_readme_examples_publish_work_and_review_against_the_stack(
    stack: Stack,
) -> None:
    client_id, worker_id = unique("example-lab"), unique("example-ann")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREWLINE_")}
    env["PYTHONUNBUFFERED"] = "1"  # progress shows even if a script hangs
    env.update(
        CREWLINE_DISPATCHER_GRPC_ADDR=stack.services["dispatcher"].grpc_addr,
        CREWLINE_MATCHER_GRPC_ADDR=stack.services["matcher"].grpc_addr,
        CREWLINE_LEDGER_GRPC_ADDR=stack.services["ledger"].grpc_addr,
    )
    client_env = {**env, "CREWLINE_CREDENTIAL": (await new_client_key(stack, client_id)).secret}
    worker_env = {
        **env,
        "CREWLINE_CREDENTIAL": (await new_contractor_token(stack, worker_id)).secret,
    }
    client = await asyncio.create_subprocess_exec(
        sys.executable,
        "examples/sdk_client.py",
        "3",
        cwd=ROOT,
        env=client_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert client.stdout is not None
    first = (await asyncio.wait_for(client.stdout.readline(), 60)).decode()
    assert first.startswith("project ") and "published 3 tasks" in first, first
    project_id = first.split()[1].rstrip(":")
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "examples/sdk_contractor.py",
        "3",
        project_id,
        cwd=ROOT,
        env=worker_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    worker_out, worker_err = await finished(worker)
    client_rest, client_err = await finished(client)
    assert worker.returncode == 0, worker_err.decode()
    assert client.returncode == 0, client_err.decode()
    print(first + client_rest.decode(), worker_out.decode(), sep="\n")  # for the README

    worker_lines = worker_out.decode().splitlines()
    assert sum("claimed and submitted" in line for line in worker_lines) == 3
    assert "3 claims on record" in worker_lines
    reviews = client_rest.decode().splitlines()
    assert sum(worker_id in line for line in reviews) == 3
    assert sum("accepted" in line for line in reviews) == 2
    assert sum("rejected" in line for line in reviews) == 1
    assert reviews[-1].startswith(f"reviewed 3 submissions; account client:{client_id}:")


async def finished(proc: asyncio.subprocess.Process) -> tuple[bytes, bytes]:
    """The process's output once it exits; killed (and its output shown) if it hangs."""
    try:
        return await asyncio.wait_for(proc.communicate(), 120)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(f"hung:\n{out.decode()}\n{err.decode()}") from None
