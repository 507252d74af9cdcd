"""Small client-side steps the e2e tests share.

Principals are made on first use, through the operator RPCs: ``as_client(stack, "acme")``
creates the client and an API key the first time, ``as_contractor`` a contractor and a
token; both return the call metadata that authenticates them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Sequence
from typing import Any

import grpc

from crewline.auth.credentials import bearer_metadata as bearer
from crewline.edge import CORRELATION_METADATA
from crewline.v1 import client_admin_service_pb2 as client_admin
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import money_pb2, project_pb2
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from harness import Stack
from stack import eventually

Metadata = tuple[tuple[str, str], ...]


async def refused(call: Awaitable[object]) -> grpc.aio.AioRpcError:
    try:
        await call
    except grpc.aio.AioRpcError as err:
        return err
    raise AssertionError("the call should have been refused")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def as_operator(stack: Stack) -> Metadata:
    return bearer(stack.operator_credential)


async def new_client_key(stack: Stack, client_id: str) -> client_admin.CreateApiKeyResponse:
    """Create the client (idempotent) and a fresh API key for it."""
    op = as_operator(stack)
    await stack.clients.CreateClient(
        client_admin.CreateClientRequest(client_id=client_id), metadata=op
    )
    return await stack.clients.CreateApiKey(  # type: ignore[no-any-return]
        client_admin.CreateApiKeyRequest(request_id=unique("key"), client_id=client_id),
        metadata=op,
    )


async def new_contractor_token(
    stack: Stack, contractor_id: str, **profile: Any
) -> contractor_admin.IssueContractorTokenResponse:
    """Create the contractor (idempotent; ``profile``: other CreateContractorRequest
    fields, e.g. referred_by) and issue a fresh token."""
    op = as_operator(stack)
    await stack.contractors.CreateContractor(
        contractor_admin.CreateContractorRequest(contractor_id=contractor_id, **profile),
        metadata=op,
    )
    return await stack.contractors.IssueContractorToken(  # type: ignore[no-any-return]
        contractor_admin.IssueContractorTokenRequest(contractor_id=contractor_id), metadata=op
    )


async def as_client(stack: Stack, client_id: str) -> Metadata:
    name = f"client:{client_id}"
    if name not in stack.credentials:
        stack.credentials[name] = (await new_client_key(stack, client_id)).secret
    return bearer(stack.credentials[name])


async def as_contractor(stack: Stack, contractor_id: str, **profile: Any) -> Metadata:
    """The contractor's call metadata; made on first use with ``profile`` (see
    ``new_contractor_token``)."""
    name = f"contractor:{contractor_id}"
    if name not in stack.credentials:
        token = await new_contractor_token(stack, contractor_id, **profile)
        stack.credentials[name] = token.secret
    return bearer(stack.credentials[name])


async def new_project(
    stack: Stack,
    *,
    client: str = "acme",
    requirements: Sequence[project_pb2.Requirement] = (),
    reward: int = 2500,
    title: str = "derm-ratings",
    request_id: str = "",
    pay_terms: project_pb2.PayTerms | None = None,
    **fields: Any,
) -> str:
    """Create a project paying ``reward`` (USD minor units) per accepted submission, or on
    ``pay_terms``; its id.

    ``fields`` are any other CreateProjectRequest fields (slots default 1, as the server's;
    auto-accept after 1 s unless given, so unreviewed work is paid within a test).
    """
    fields.setdefault("auto_accept_delay_seconds", 1)
    reply = await stack.tasks.CreateProject(
        task_api.CreateProjectRequest(
            request_id=request_id or unique("proj"),
            title=title,
            instructions="Rate the model's answer from 1 to 5.",
            requirements=list(requirements),
            pay_terms=pay_terms
            or project_pb2.PayTerms(
                per_submission=project_pb2.PerSubmissionPay(
                    reward=money_pb2.Money(currency_code="USD", amount_minor=reward)
                )
            ),
            **fields,
        ),
        metadata=await as_client(stack, client),
    )
    return str(reply.project.project_id)


async def project_of(stack: Stack, *, client: str, name: str, reward: int) -> str:
    """The client's project called ``name`` paying ``reward``, made on first use."""
    ref = f"{client}/{name}/{reward}"
    if ref not in stack.projects:
        stack.projects[ref] = await new_project(
            stack, client=client, title=name, reward=reward, request_id=f"flow-{name}-{reward}"
        )
    return stack.projects[ref]


async def submit_task(
    stack: Stack,
    *,
    slots: int = 1,
    amount: int = 2500,
    client: str = "acme",
    project: str = "derm-ratings",
    request_id: str = "",
    correlation_id: str = "",
    payload: str = '{"answer": "Likely benign; see a dermatologist if it changes."}',
) -> task_api.Task:
    """One task in the client's project called ``project`` paying ``amount`` per accepted
    submission (the project is made on first use: its id is ``task.project_id``, not
    ``project``); ``request_id`` is the task's idempotency key."""
    project_id = await project_of(stack, client=client, name=project, reward=amount)
    metadata = await as_client(stack, client)
    if correlation_id:
        metadata += ((CORRELATION_METADATA, correlation_id),)
    reply = await stack.tasks.SubmitTask(
        task_api.SubmitTaskRequest(
            project_id=project_id,
            task=task_api.TaskSpec(
                idempotency_key=request_id or unique("task"), payload_json=payload, slots=slots
            ),
        ),
        metadata=metadata,
    )
    return reply.task


def hourly(rate: int, *, cap_seconds: int = 3600) -> project_pb2.PayTerms:
    """Pay terms of ``rate`` USD minor units an hour, at most ``cap_seconds`` paid per task."""
    return project_pb2.PayTerms(
        hourly=project_pb2.HourlyPay(
            rate=money_pb2.Money(currency_code="USD", amount_minor=rate),
            max_paid_seconds=cap_seconds,
        )
    )


async def tasks_in(
    stack: Stack, project_id: str, count: int = 1, *, client: str = "acme", **spec: Any
) -> list[task_api.Task]:
    """``count`` tasks in the project; ``spec`` is any other TaskSpec field (slots, ...)."""
    reply = await stack.tasks.SubmitTasks(
        task_api.SubmitTasksRequest(
            project_id=project_id,
            tasks=[
                task_api.TaskSpec(idempotency_key=unique("t"), payload_json="{}", **spec)
                for _ in range(count)
            ],
        ),
        metadata=await as_client(stack, client),
    )
    return list(reply.tasks)


async def open_tasks(stack: Stack, contractor: str, project_id: str = "") -> list[str]:
    """Every task id offered to the contractor, page by page."""
    found: list[str] = []
    token = ""
    while True:
        reply = await stack.work.ListOffers(
            work_api.ListOffersRequest(page_size=100, page_token=token, project_id=project_id),
            metadata=await as_contractor(stack, contractor),
        )
        found.extend(o.task_id for o in reply.offers)
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
        work_api.ClaimTaskRequest(request_id=request_id or unique("claim"), task_id=task_id),
        metadata=await as_contractor(stack, contractor),
    )
    return reply.claim


async def submit_work(stack: Stack, contractor: str, claim_id: str) -> work_api.Claim:
    reply = await stack.work.SubmitWork(
        work_api.SubmitWorkRequest(claim_id=claim_id, result=b"4/5"),
        metadata=await as_contractor(stack, contractor),
    )
    return reply.claim


async def balance(stack: Stack, account: str) -> int:
    reply = await stack.ledger.GetBalance(
        ledger_api.GetBalanceRequest(account_id=account), metadata=as_operator(stack)
    )
    return sum(m.amount_minor for m in reply.balances if m.currency_code == "USD")


async def wait_balance(stack: Stack, account: str, amount: int) -> None:
    async def reached() -> bool:
        return await balance(stack, account) == amount

    await eventually(reached)
