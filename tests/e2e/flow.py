"""Small client-side steps the e2e tests share, through the SDK (``crewline.client``).

Principals are made on first use, through the operator calls: ``as_client(stack, "acme")``
creates the client and an API key the first time, ``as_contractor`` a contractor and a
token; both return the call metadata that authenticates them, for tests that send raw
requests on ``stack``'s stubs. ``client_sdk``/``contractor_sdk``/``operator_sdk`` give the
SDK object of the same principal (one per principal and stack, its channels kept open).
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

from crewline.client import Client, Contractor, CrewlineError, Endpoints, Operator, build
from crewline.client.base import Base
from crewline.client.metadata import bearer_metadata as bearer
from crewline.v1 import client_admin_service_pb2 as client_admin
from crewline.v1 import (
    client_admin_service_pb2_grpc,
    contractor_admin_service_pb2_grpc,
    ledger_service_pb2,
    ledger_service_pb2_grpc,
    project_pb2,
    quality_service_pb2_grpc,
    task_service_pb2_grpc,
    work_service_pb2_grpc,
)
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from harness import SERVICES, ServiceProcess, Stack, service_env
from stack import (
    create_topics,
    eventually,
    fresh_database,
    kafka_settings,
    run_secrets,
    start_infra,
)

Metadata = tuple[tuple[str, str], ...]

__all__ = ["Metadata", "bearer"]

# (id(stack), principal) -> its SDK object; the e2e tier runs on one event loop.
_SDK: dict[tuple[int, str], Base] = {}


async def refused(call: Awaitable[object]) -> grpc.aio.AioRpcError:
    """The gRPC error ``call`` fails with (a raw stub's, or the one under an SDK error)."""
    try:
        await call
    except grpc.aio.AioRpcError as err:
        return err
    except CrewlineError as err:
        assert isinstance(err.rpc_error, grpc.aio.AioRpcError), err
        return err.rpc_error
    raise AssertionError("the call should have been refused")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def endpoints(stack: Stack) -> Endpoints:
    """The stack's services, as the SDK reaches them."""
    return Endpoints(
        dispatcher=stack.services["dispatcher"].grpc_addr,
        matcher=stack.services["matcher"].grpc_addr,
        ledger=stack.services["ledger"].grpc_addr,
        quality=stack.services["quality"].grpc_addr,
    )


def as_operator(stack: Stack) -> Metadata:
    return bearer(stack.operator_credential)


def operator_sdk(stack: Stack) -> Operator:
    """The operator, through the SDK."""
    key = (id(stack), "operator")
    if key not in _SDK:
        _SDK[key] = Operator(credential=stack.operator_credential, endpoints=endpoints(stack))
    sdk = _SDK[key]
    assert isinstance(sdk, Operator)
    return sdk


async def new_client_key(stack: Stack, client_id: str) -> client_admin.CreateApiKeyResponse:
    """Create the client (idempotent) and a fresh API key for it."""
    op = operator_sdk(stack)
    await op.create_client(client_id)
    return await op.create_api_key(client_id)


async def new_contractor_token(
    stack: Stack, contractor_id: str, **profile: Any
) -> contractor_admin.IssueContractorTokenResponse:
    """Create the contractor (idempotent; ``profile``: other ``Operator.create_contractor``
    arguments, e.g. referred_by) and issue a fresh token."""
    op = operator_sdk(stack)
    await op.create_contractor(contractor_id, **profile)
    return await op.issue_token(contractor_id)


async def _credential(stack: Stack, name: str, make: Callable[[], Awaitable[str]]) -> str:
    if name not in stack.credentials:
        stack.credentials[name] = await make()
    return stack.credentials[name]


async def _client_secret(stack: Stack, client_id: str) -> str:
    return (await new_client_key(stack, client_id)).secret


async def _contractor_secret(stack: Stack, contractor_id: str, **profile: Any) -> str:
    return (await new_contractor_token(stack, contractor_id, **profile)).secret


async def as_client(stack: Stack, client_id: str) -> Metadata:
    name = f"client:{client_id}"
    return bearer(await _credential(stack, name, lambda: _client_secret(stack, client_id)))


async def as_contractor(stack: Stack, contractor_id: str, **profile: Any) -> Metadata:
    """The contractor's call metadata; made on first use with ``profile`` (see
    ``new_contractor_token``)."""
    name = f"contractor:{contractor_id}"
    return bearer(
        await _credential(stack, name, lambda: _contractor_secret(stack, contractor_id, **profile))
    )


async def client_sdk(stack: Stack, client_id: str) -> Client:
    """The client ``client_id`` through the SDK (made on first use)."""
    key = (id(stack), f"client:{client_id}")
    if key not in _SDK:
        secret = await _credential(
            stack, f"client:{client_id}", lambda: _client_secret(stack, client_id)
        )
        _SDK[key] = Client(credential=secret, endpoints=endpoints(stack))
    sdk = _SDK[key]
    assert isinstance(sdk, Client)
    return sdk


async def contractor_sdk(stack: Stack, contractor_id: str, **profile: Any) -> Contractor:
    """The contractor ``contractor_id`` through the SDK (made on first use, with
    ``profile``)."""
    key = (id(stack), f"contractor:{contractor_id}")
    if key not in _SDK:
        secret = await _credential(
            stack,
            f"contractor:{contractor_id}",
            lambda: _contractor_secret(stack, contractor_id, **profile),
        )
        _SDK[key] = Contractor(credential=secret, endpoints=endpoints(stack))
    sdk = _SDK[key]
    assert isinstance(sdk, Contractor)
    return sdk


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

    ``fields`` are any other ``Client.create_project`` arguments (slots default 1, as the
    server's; auto-accept after 1 s unless given, so unreviewed work is paid within a test).
    """
    fields.setdefault("auto_accept_delay_seconds", 1)
    sdk = await client_sdk(stack, client)
    project = await sdk.create_project(
        request_id=request_id or None,
        title=title,
        instructions="Rate the model's answer from 1 to 5.",
        requirements=requirements,
        pay_terms=pay_terms or build.per_submission(build.usd(reward)),
        **fields,
    )
    return str(project.project_id)


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
    ``project``); ``request_id`` is the task's idempotency key. The task as the server
    sent it (the SDK result's ``raw``), as the tests' own stubs see the services."""
    project_id = await project_of(stack, client=client, name=project, reward=amount)
    sdk = await client_sdk(stack, client)
    task = await sdk.submit_task(
        project_id,
        payload,
        idempotency_key=request_id or None,
        slots=slots,
        correlation_id=correlation_id or None,
    )
    return task.raw


def hourly(rate: int, *, cap_seconds: int = 3600) -> project_pb2.PayTerms:
    """Pay terms of ``rate`` USD minor units an hour, at most ``cap_seconds`` paid per task."""
    return build.hourly(build.usd(rate), max_paid_seconds=cap_seconds)


async def tasks_in(
    stack: Stack, project_id: str, count: int = 1, *, client: str = "acme", **spec: Any
) -> list[task_api.Task]:
    """``count`` tasks in the project; ``spec``: other ``crewline.client.task`` arguments
    (slots, priority, lifetime_seconds). As messages, as ``submit_task``."""
    sdk = await client_sdk(stack, client)
    tasks = await sdk.submit_tasks(project_id, [build.task("{}", **spec) for _ in range(count)])
    return [task.raw for task in tasks]


async def open_tasks(stack: Stack, contractor: str, project_id: str = "") -> list[str]:
    """Every task id offered to the contractor, page by page."""
    sdk = await contractor_sdk(stack, contractor)
    return [offer.task_id async for offer in sdk.offers(project_id=project_id, page_size=100)]


async def offered(stack: Stack, contractor: str, task_id: str) -> bool:
    return task_id in await open_tasks(stack, contractor)


async def wait_offered(stack: Stack, *task_ids: str) -> None:
    """Until each task is on offer. A batch's tasks lie on several partitions, which the
    matcher applies one after another: the last one pooled need not be the last submitted."""
    for task_id in task_ids:
        await eventually(functools.partial(offered, stack, unique("probe"), task_id))


async def claim(
    stack: Stack, contractor: str, task_id: str, request_id: str = ""
) -> work_api.Claim:
    """The claim as a message, as ``submit_task``."""
    sdk = await contractor_sdk(stack, contractor)
    return (await sdk.claim(task_id, request_id=request_id or None)).raw


async def submit_work(stack: Stack, contractor: str, claim_id: str) -> work_api.Claim:
    sdk = await contractor_sdk(stack, contractor)
    return (await sdk.submit(claim_id, b"4/5")).raw


async def balance(stack: Stack, account: str) -> int:
    """The account's USD balance in cents."""
    found = await operator_sdk(stack).balance(account_id=account)
    return sum(m.minor for m in found.balances if m.currency == "USD")


async def wait_balance(stack: Stack, account: str, amount: int) -> None:
    async def reached() -> bool:
        return await balance(stack, account) == amount

    await eventually(reached)


async def verified(stack: Stack) -> ledger_service_pb2.VerifyBooksResponse:
    """The ledger's books verified, with nothing unbalanced, unpaid or paid twice."""
    report = await stack.ledger.VerifyBooks(
        ledger_service_pb2.VerifyBooksRequest(), metadata=as_operator(stack)
    )
    assert report.balanced, report
    assert report.unbalanced_transaction_count == 0
    assert report.mismatched_balance_count == 0
    assert report.unpaid_count == report.paid_twice_count == report.rejected_with_pay_count == 0
    return report


@contextlib.asynccontextmanager
async def running_stack(scope: str, log_dir: Path, *, log_prefix: str = "") -> AsyncIterator[Stack]:
    """The four services started on fresh databases and a Kafka namespace named after
    ``scope``, healthy, as a ``Stack``; stopped (SIGTERM) at the end."""
    start_infra()
    kafka = kafka_settings(scope)
    await create_topics(kafka)
    services: dict[str, ServiceProcess] = {}
    for name in SERVICES:
        db = await fresh_database(f"{scope}_{name}")
        env, addr, metrics_url = service_env(name, kafka.namespace, db.database)
        log = log_dir / f"{log_prefix}{name}.log"
        services[name] = ServiceProcess(name, env, log, addr, metrics_url)
        services[name].start()
    channels = [grpc.aio.insecure_channel(services[n].grpc_addr) for n in SERVICES]
    s = Stack(
        services=services,
        tasks=task_service_pb2_grpc.TaskServiceStub(channels[0]),
        work=work_service_pb2_grpc.WorkServiceStub(channels[1]),
        ledger=ledger_service_pb2_grpc.LedgerServiceStub(channels[2]),
        quality=quality_service_pb2_grpc.QualityServiceStub(channels[3]),
        clients=client_admin_service_pb2_grpc.ClientAdminServiceStub(channels[0]),
        contractors=contractor_admin_service_pb2_grpc.ContractorAdminServiceStub(channels[1]),
        operator_credential=run_secrets().operator_credential(),
        kafka=kafka,
    )
    try:
        await s.wait_healthy()
        yield s
    finally:
        await close_sdks(s)
        for ch in channels:
            await ch.close()
        for svc in services.values():
            if svc.proc and svc.proc.poll() is None:
                svc.terminate()


async def close_sdks(stack: Stack) -> None:
    """Close the SDK objects made for ``stack`` (their channels)."""
    for key in [k for k in _SDK if k[0] == id(stack)]:
        await _SDK.pop(key).close()
