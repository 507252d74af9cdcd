"""What operators see: health checks, metrics pages, correlation ids across services."""

from __future__ import annotations

import asyncio
import json
import signal
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crewline.client.metadata import CORRELATION_METADATA
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import as_client, as_contractor, claim, submit_task, unique, wait_balance, wait_offered
from harness import SERVICES, Stack
from stack import eventually

SERVICE_NAMES = {
    "dispatcher": "crewline.v1.TaskService",
    "matcher": "crewline.v1.WorkService",
    "ledger": "crewline.v1.LedgerService",
    "quality": "crewline.v1.QualityService",
}


@pytest.mark.parametrize("name", SERVICES)
async def test_health_check_says_serving_overall_and_per_service(stack: Stack, name: str) -> None:
    async with grpc.aio.insecure_channel(stack.services[name].grpc_addr) as channel:
        health = health_pb2_grpc.HealthStub(channel)

        # Polled: a dependency probe that timed out on a busy machine makes a service
        # NOT_SERVING until its next probe, and that is the check working.
        async def serving() -> bool:
            replies = [
                await health.Check(health_pb2.HealthCheckRequest(service=service))
                for service in ("", SERVICE_NAMES[name])
            ]
            return all(r.status == health_pb2.HealthCheckResponse.SERVING for r in replies)

        await eventually(serving)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as page:
        return str(page.read().decode())


@pytest.mark.parametrize("name", SERVICES)
async def test_metrics_page_shows_the_services_own_metrics(stack: Stack, name: str) -> None:
    prefix = f"crewline_{name}_"
    text = ""

    async def both_dependencies_up() -> bool:  # polled, as the health check above
        nonlocal text
        text = await asyncio.to_thread(fetch, stack.services[name].metrics_url)
        return all(
            f'{prefix}dependency_up{{dependency="{d}"}} 1.0' in text for d in ("postgres", "kafka")
        )

    await eventually(both_dependencies_up)
    for metric in (
        "rpc_requests_total",
        "rpc_duration_seconds",
        "outbox_backlog_events",
        "dependency_up",
    ):
        assert f"# TYPE {prefix}{metric}" in text


def consumed_lines(stack: Stack, service: str, correlation: str) -> list[dict[str, object]]:
    """The service's ``event_consumed`` log lines that carry ``correlation``."""
    lines = stack.services[service].log_lines()
    parsed = [json.loads(line) for line in lines if correlation in line]
    return [line for line in parsed if line.get("event") == "event_consumed"]


async def wait_consumed(
    stack: Stack, service: str, correlation: str, event_type: str = ""
) -> dict[str, object]:
    """The first ``event_consumed`` line with ``correlation`` (of ``event_type``, if given)."""

    def found() -> list[dict[str, object]]:
        lines = consumed_lines(stack, service, correlation)
        return [x for x in lines if not event_type or x.get("event_type") == event_type]

    async def logged() -> bool:
        return bool(found())

    await eventually(logged)
    return found()[0]


async def test_correlation_id_follows_a_request_through_kafka_to_the_next_service(
    stack: Stack,
) -> None:
    correlation = unique("corr")
    project_id = (await submit_task(stack)).project_id
    call = stack.tasks.SubmitTask(
        task_api.SubmitTaskRequest(
            project_id=project_id,
            task=task_api.TaskSpec(idempotency_key=unique("task"), payload_json="{}"),
        ),
        metadata=(*await as_client(stack, "acme"), (CORRELATION_METADATA, correlation)),
    )
    await call
    assert (CORRELATION_METADATA, correlation) in tuple(await call.trailing_metadata())

    line = await wait_consumed(stack, "matcher", correlation)
    assert line["correlation_id"] == correlation
    assert line["outcome"] == "applied"
    assert line["event_type"] == "crewline.v1.TaskPublished"


async def test_correlation_id_of_submitted_work_reaches_the_ledger_through_the_deadline(
    stack: Stack,
) -> None:
    worker, correlation = unique("eve"), unique("corr")
    task = await submit_task(stack, amount=900)
    await wait_offered(stack, task.task_id)
    granted = await claim(stack, worker, task.task_id)
    await stack.work.SubmitWork(
        work_api.SubmitWorkRequest(claim_id=granted.claim_id, result=b"ok"),
        metadata=(*await as_contractor(stack, worker), (CORRELATION_METADATA, correlation)),
    )
    # matcher -> WorkSubmitted -> dispatcher (auto-accept clock) -> SubmissionAccepted -> ledger
    # (the ledger reads the claims topic too, for settlements: it sees WorkSubmitted first)
    line = await wait_consumed(stack, "ledger", correlation, "crewline.v1.SubmissionAccepted")
    assert line["correlation_id"] == correlation
    assert line["outcome"] == "applied"
    await wait_balance(stack, f"contractor:{worker}", 900)


async def test_sigterm_says_not_serving_while_still_listening_for_the_shutdown_delay(
    stack: Stack,
) -> None:
    """Kubernetes' pause between NOT_SERVING and closing the listener: after SIGTERM a
    service with a shutdown delay still answers health checks, with NOT_SERVING, then
    drains and exits 0."""
    replica = stack.services["ledger"].replica("delay", CREWLINE_SHUTDOWN_DELAY_SECONDS="15")
    replica.start()
    assert replica.proc is not None
    try:
        assert await replica.wait_serving() == "SERVING"
        replica.proc.send_signal(signal.SIGTERM)
        async with grpc.aio.insecure_channel(replica.grpc_addr) as channel:
            health = health_pb2_grpc.HealthStub(channel)

            async def not_serving() -> bool:
                statuses = [
                    (await health.Check(health_pb2.HealthCheckRequest(service=name))).status
                    for name in ("readiness", "liveness", "")
                ]
                return set(statuses) == {health_pb2.HealthCheckResponse.NOT_SERVING}

            await eventually(not_serving, timeout=10)
        assert replica.proc.poll() is None  # still up, still listening
        assert await asyncio.to_thread(replica.proc.wait, 60) == 0
    finally:
        if replica.proc.poll() is None:
            replica.proc.kill()
