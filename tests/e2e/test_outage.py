"""Kafka or PostgreSQL goes away: nothing acknowledged is lost, and every service
recovers by itself when the dependency returns. Without PostgreSQL a service is not
ready; without Kafka it stays ready, since its outbox still takes writes.

These stop the test session's own PostgreSQL and Kafka (never a `make up` stack), and
run last so that no other test sees the outage (see tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crewline.client import Unavailable
from crewline.v1 import task_service_pb2 as task_api

from flow import claim, submit_task, submit_work, unique, wait_balance, wait_offered
from harness import SERVICES, Stack
from stack import eventually, infra_command, infra_env

pytestmark = pytest.mark.disruptive


async def infra(script: str, action: str) -> None:
    proc = await asyncio.create_subprocess_exec(*infra_command(script, action), env=infra_env())
    assert await proc.wait() == 0, f"{script} {action} failed"


async def status(stack: Stack, name: str) -> int:
    async with grpc.aio.insecure_channel(stack.services[name].grpc_addr) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        return int(reply.status)


async def all_not_serving(stack: Stack) -> bool:
    statuses = [await status(stack, n) for n in SERVICES]
    return set(statuses) == {health_pb2.HealthCheckResponse.NOT_SERVING}


async def pay_flows(stack: Stack, task: task_api.Task, amount: int) -> None:
    worker = unique("after-outage")
    await wait_offered(stack, task.task_id)
    granted = await claim(stack, worker, task.task_id)
    await submit_work(stack, worker, granted.claim_id)
    await wait_balance(stack, f"contractor:{worker}", amount)


async def kafka_seen_down(stack: Stack) -> bool:
    pages = [await asyncio.to_thread(fetch, stack.services[n].metrics_url) for n in SERVICES]
    return all('dependency_up{dependency="kafka"} 0.0' in page for page in pages)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as page:
        return str(page.read().decode())


async def test_kafka_outage_keeps_services_ready_and_acknowledged_tasks_and_recovers(
    stack: Stack,
) -> None:
    await infra("kafka.sh", "down")
    try:
        await eventually(lambda: kafka_seen_down(stack))

        # Readiness holds: the outbox still takes writes, and the dispatcher
        # acknowledges work whose event waits in its outbox. (Polled: a PostgreSQL probe
        # that timed out on a busy machine is NOT_SERVING until the next; Kafka's absence
        # never is, or this would not end.)
        async def all_serving() -> bool:
            statuses = [await status(stack, n) for n in SERVICES]
            return set(statuses) == {health_pb2.HealthCheckResponse.SERVING}

        await eventually(all_serving)
        task = await submit_task(stack, amount=4200)
    finally:
        await infra("kafka.sh", "up")
    await stack.wait_healthy()
    await pay_flows(stack, task, 4200)


async def test_postgres_outage_answers_unavailable_and_recovers(stack: Stack) -> None:
    await infra("postgres.sh", "down")
    try:
        await eventually(lambda: all_not_serving(stack))
        with pytest.raises(Unavailable) as err:  # after the SDK's retries
            await submit_task(stack)
        assert err.value.code == grpc.StatusCode.UNAVAILABLE
    finally:
        await infra("postgres.sh", "up")
    await stack.wait_healthy()
    await pay_flows(stack, await submit_task(stack, amount=1300), 1300)
