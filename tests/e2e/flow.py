"""Small client-side steps the e2e tests share."""

from __future__ import annotations

import uuid

from crewline.grpc_server import CORRELATION_METADATA
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import money_pb2
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from harness import Stack
from stack import eventually


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def submit_task(
    stack: Stack,
    *,
    slots: int = 1,
    amount: int = 2500,
    client: str = "acme",
    project: str = "derm-ratings",
    request_id: str = "",
    correlation_id: str = "",
) -> task_api.Task:
    metadata = ((CORRELATION_METADATA, correlation_id),) if correlation_id else None
    reply = await stack.tasks.SubmitTask(
        task_api.SubmitTaskRequest(
            request_id=request_id or unique("req"),
            client_id=client,
            project_id=project,
            slots=slots,
            reward=money_pb2.Money(currency_code="USD", amount_minor=amount),
            instructions="Rate the model's answer from 1 to 5.",
        ),
        metadata=metadata,
    )
    return reply.task


async def open_tasks(stack: Stack, contractor: str, project_id: str = "") -> list[str]:
    """Every task id offered to the contractor, page by page."""
    found: list[str] = []
    token = ""
    while True:
        reply = await stack.work.ListOpenTasks(
            work_api.ListOpenTasksRequest(
                contractor_id=contractor, page_size=100, page_token=token, project_id=project_id
            )
        )
        found.extend(t.task_id for t in reply.tasks)
        token = reply.next_page_token
        if not token:
            return found


async def offered(stack: Stack, contractor: str, task_id: str) -> bool:
    return task_id in await open_tasks(stack, contractor)


async def wait_offered(stack: Stack, task_id: str) -> None:
    await eventually(lambda: offered(stack, unique("probe"), task_id))


async def claim(
    stack: Stack, contractor: str, task_id: str, request_id: str = ""
) -> work_api.Claim:
    reply = await stack.work.ClaimTask(
        work_api.ClaimTaskRequest(
            request_id=request_id or unique("claim"), contractor_id=contractor, task_id=task_id
        )
    )
    return reply.claim


async def submit_work(stack: Stack, contractor: str, claim_id: str) -> work_api.Claim:
    reply = await stack.work.SubmitWork(
        work_api.SubmitWorkRequest(claim_id=claim_id, contractor_id=contractor, result=b"4/5")
    )
    return reply.claim


async def balance(stack: Stack, account: str) -> int:
    reply = await stack.ledger.GetBalance(ledger_api.GetBalanceRequest(account_id=account))
    return sum(m.amount_minor for m in reply.balances if m.currency_code == "USD")


async def wait_balance(stack: Stack, account: str, amount: int) -> None:
    async def reached() -> bool:
        return await balance(stack, account) == amount

    await eventually(reached)
