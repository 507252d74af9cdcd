"""Attacks on identity and tenancy, against the running services: none may succeed.

Each attempt is printed with the code it got (``pytest -s`` shows the table). A
client reaches for another client's resources through every RPC that takes an id,
a contractor acts as another or calls client and operator RPCs, and forged,
expired, revoked, wrong-kind and malformed credentials are tried on every service,
also after a revocation has propagated.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import field_mask_pb2

from crewline.auth.credentials import (
    TokenClaims,
    TokenSigner,
    new_operator_credential,
    new_signing_key_pem,
)
from crewline.client.errors import error_reason
from crewline.events import IDENTITY_TOPIC
from crewline.v1 import client_admin_service_pb2 as client_admin
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import money_pb2, project_pb2
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import (
    Metadata,
    as_client,
    as_contractor,
    as_operator,
    bearer,
    claim,
    new_client_key,
    new_contractor_token,
    submit_task,
    submit_work,
    unique,
    wait_offered,
)
from harness import SERVICES, Stack
from stack import eventually, read_topic, run_secrets

Attempt = Callable[[], Awaitable[object]]
# TaskService: what a client may call (on its own projects and tasks).
CLIENT_RPCS = {m.name for m in task_api.DESCRIPTOR.services_by_name["TaskService"].methods}


@dataclass
class Outcome:
    name: str
    code: str
    reason: str


async def attempt(name: str, call: Attempt) -> Outcome:
    try:
        await call()
    except grpc.aio.AioRpcError as err:
        return Outcome(name, err.code().name, error_reason(err) or "")
    return Outcome(name, "OK", "")


async def first_reply(stream: AsyncIterator[object]) -> object:
    async for reply in stream:
        return reply
    return None


def report(title: str, outcomes: list[Outcome]) -> None:
    print(f"\n{title}")
    for o in outcomes:
        print(f"  {o.code:<18} {o.reason:<24} {o.name}")
    successes = [o.name for o in outcomes if o.code == "OK"]
    print(f"  -> {len(successes)} successes of {len(outcomes)} attempts")
    assert successes == []


def signed(claims: TokenClaims, *, kind: str = "contractor", key: bytes | None = None) -> str:
    return TokenSigner(key or run_secrets().signing_key_file.read_bytes()).sign(claims, kind=kind)


@dataclass
class World:
    a: Metadata  # client A
    b: Metadata  # client B, who owns the task
    b_id: str
    x: Metadata  # contractor X, who holds the claim
    x_id: str
    y: Metadata  # contractor Y
    task: task_api.Task
    claim_id: str


@pytest.fixture
async def world(stack: Stack) -> World:
    a_id, b_id, x_id, y_id = unique("lab-a"), unique("lab-b"), unique("x"), unique("y")
    task = await submit_task(stack, client=b_id, slots=2)
    await wait_offered(stack, task.task_id)
    granted = await claim(stack, x_id, task.task_id)
    await submit_work(stack, x_id, granted.claim_id)
    w = World(
        a=await as_client(stack, a_id),
        b=await as_client(stack, b_id),
        b_id=b_id,
        x=await as_contractor(stack, x_id),
        x_id=x_id,
        y=await as_contractor(stack, y_id),
        task=task,
        claim_id=granted.claim_id,
    )
    # A new key reaches the matcher and the ledger by event: attack once it has.
    for md in (w.a, w.b, w.x, w.y):
        await eventually(lambda md=md: works_everywhere(stack, md))  # type: ignore[misc]
    return w


async def test_a_client_never_reaches_another_clients_resources(stack: Stack, world: World) -> None:
    w = world
    outcomes = [
        await attempt(
            "A GetTask(B's task)",
            lambda: stack.tasks.GetTask(
                task_api.GetTaskRequest(task_id=w.task.task_id), metadata=w.a
            ),
        ),
        await attempt(
            "A GetProject(B's project)",
            lambda: stack.tasks.GetProject(
                task_api.GetProjectRequest(project_id=w.task.project_id), metadata=w.a
            ),
        ),
        await attempt(
            "A UpdateProject(B's project)",
            lambda: stack.tasks.UpdateProject(
                task_api.UpdateProjectRequest(
                    project=project_pb2.Project(project_id=w.task.project_id, title="mine"),
                    update_mask=field_mask_pb2.FieldMask(paths=["title"]),
                ),
                metadata=w.a,
            ),
        ),
        await attempt(
            "A SubmitTasks(into B's project)",
            lambda: stack.tasks.SubmitTasks(
                task_api.SubmitTasksRequest(
                    project_id=w.task.project_id,
                    tasks=[task_api.TaskSpec(idempotency_key="k", payload_json="{}")],
                ),
                metadata=w.a,
            ),
        ),
        await attempt(
            "A ListTasks(B's project)",
            lambda: stack.tasks.ListTasks(
                task_api.ListTasksRequest(project_id=w.task.project_id), metadata=w.a
            ),
        ),
        await attempt(
            "A ListSubmissions(B's project)",
            lambda: stack.tasks.ListSubmissions(
                task_api.ListSubmissionsRequest(project_id=w.task.project_id), metadata=w.a
            ),
        ),
        await attempt(
            "A Watch(B's project)",
            lambda: first_reply(
                stack.tasks.Watch(task_api.WatchRequest(project_id=w.task.project_id), metadata=w.a)
            ),
        ),
        await attempt(
            "A GetBalance(client:B)",
            lambda: stack.ledger.GetBalance(
                ledger_api.GetBalanceRequest(account_id=f"client:{w.b_id}"), metadata=w.a
            ),
        ),
        await attempt(
            "A GetBalance(contractor:X)",
            lambda: stack.ledger.GetBalance(
                ledger_api.GetBalanceRequest(account_id=f"contractor:{w.x_id}"), metadata=w.a
            ),
        ),
    ]
    report("client A against client B", outcomes)
    assert {o.code for o in outcomes} == {"NOT_FOUND"}  # existence does not leak
    # B's own view is intact; A's listings do not show B's tasks or projects.
    mine = await stack.tasks.GetTask(task_api.GetTaskRequest(task_id=w.task.task_id), metadata=w.b)
    assert mine.task.task_id == w.task.task_id
    listed = await stack.tasks.ListTasks(task_api.ListTasksRequest(), metadata=w.a)
    assert w.task.task_id not in {t.task_id for t in listed.tasks}
    projects = await stack.tasks.ListProjects(task_api.ListProjectsRequest(), metadata=w.a)
    assert w.task.project_id not in {p.project_id for p in projects.projects}


async def test_a_contractor_never_acts_as_another_nor_as_client_or_operator(
    stack: Stack, world: World
) -> None:
    w, y = world, world.y
    foreign = [
        await attempt(
            "Y SubmitWork(X's claim)",
            lambda: stack.work.SubmitWork(
                work_api.SubmitWorkRequest(claim_id=w.claim_id, result=b"mine"), metadata=y
            ),
        ),
        await attempt(
            "Y GetBalance(contractor:X)",
            lambda: stack.ledger.GetBalance(
                ledger_api.GetBalanceRequest(account_id=f"contractor:{w.x_id}"), metadata=y
            ),
        ),
    ]
    report("contractor Y against contractor X", foreign)
    assert {o.code for o in foreign} == {"NOT_FOUND"}
    denied = [await attempt(name, call) for name, call in privileged_calls(stack, y, w)]
    report("contractor Y calling client and operator RPCs", denied)
    assert {o.code for o in denied} == {"PERMISSION_DENIED"}


async def test_a_client_never_calls_contractor_or_operator_rpcs(stack: Stack, world: World) -> None:
    w = world
    calls = [(n, c) for n, c in privileged_calls(stack, w.a, w) if n not in CLIENT_RPCS]
    calls += [
        (
            "ClaimTask",
            lambda: stack.work.ClaimTask(
                work_api.ClaimTaskRequest(request_id=unique("r"), task_id=w.task.task_id),
                metadata=w.a,
            ),
        ),
        (
            "ListOffers",
            lambda: stack.work.ListOffers(work_api.ListOffersRequest(), metadata=w.a),
        ),
    ]
    denied = [await attempt(name, call) for name, call in calls]
    report("client A calling contractor and operator RPCs", denied)
    assert {o.code for o in denied} == {"PERMISSION_DENIED"}


def privileged_calls(stack: Stack, md: Metadata, w: World) -> list[tuple[str, Attempt]]:
    """Client RPCs and every operator RPC, each called with ``md``."""
    return [
        (
            "CreateProject",
            lambda: stack.tasks.CreateProject(
                task_api.CreateProjectRequest(request_id="r", title="t"), metadata=md
            ),
        ),
        (
            "GetProject",
            lambda: stack.tasks.GetProject(
                task_api.GetProjectRequest(project_id=w.task.project_id), metadata=md
            ),
        ),
        (
            "ListProjects",
            lambda: stack.tasks.ListProjects(task_api.ListProjectsRequest(), metadata=md),
        ),
        (
            "UpdateProject",
            lambda: stack.tasks.UpdateProject(task_api.UpdateProjectRequest(), metadata=md),
        ),
        (
            "SubmitTasks",
            lambda: stack.tasks.SubmitTasks(
                task_api.SubmitTasksRequest(project_id=w.task.project_id), metadata=md
            ),
        ),
        (
            "SubmitTask",
            lambda: stack.tasks.SubmitTask(
                task_api.SubmitTaskRequest(project_id=w.task.project_id), metadata=md
            ),
        ),
        (
            "ListTasks",
            lambda: stack.tasks.ListTasks(task_api.ListTasksRequest(), metadata=md),
        ),
        (
            "GetTask",
            lambda: stack.tasks.GetTask(
                task_api.GetTaskRequest(task_id=w.task.task_id), metadata=md
            ),
        ),
        (
            "CreateClient",
            lambda: stack.clients.CreateClient(
                client_admin.CreateClientRequest(client_id="evil"), metadata=md
            ),
        ),
        (
            "CreateApiKey",
            lambda: stack.clients.CreateApiKey(
                client_admin.CreateApiKeyRequest(request_id="r", client_id=w.b_id), metadata=md
            ),
        ),
        (
            "ListApiKeys",
            lambda: stack.clients.ListApiKeys(
                client_admin.ListApiKeysRequest(client_id=w.b_id), metadata=md
            ),
        ),
        (
            "RevokeApiKey",
            lambda: stack.clients.RevokeApiKey(
                client_admin.RevokeApiKeyRequest(key_id="k"), metadata=md
            ),
        ),
        (
            "CreateContractor",
            lambda: stack.contractors.CreateContractor(
                contractor_admin.CreateContractorRequest(contractor_id="evil"), metadata=md
            ),
        ),
        (
            "IssueContractorToken",
            lambda: stack.contractors.IssueContractorToken(
                contractor_admin.IssueContractorTokenRequest(contractor_id=w.x_id), metadata=md
            ),
        ),
        (
            "RevokeContractorToken",
            lambda: stack.contractors.RevokeContractorToken(
                contractor_admin.RevokeContractorTokenRequest(token_id="t"), metadata=md
            ),
        ),
        (
            "VerifyBooks",
            lambda: stack.ledger.VerifyBooks(ledger_api.VerifyBooksRequest(), metadata=md),
        ),
        (
            "ListContractors",
            lambda: stack.contractors.ListContractors(
                contractor_admin.ListContractorsRequest(), metadata=md
            ),
        ),
        (
            "ListClients",
            lambda: stack.clients.ListClients(client_admin.ListClientsRequest(), metadata=md),
        ),
        (
            "ListBonuses",
            lambda: stack.clients.ListBonuses(
                client_admin.ListBonusesRequest(client_id=w.b_id), metadata=md
            ),
        ),
        (
            "PreviewPayoutBatch",
            lambda: stack.ledger.PreviewPayoutBatch(
                ledger_api.PreviewPayoutBatchRequest(
                    threshold=money_pb2.Money(currency_code="USD", amount_minor=1)
                ),
                metadata=md,
            ),
        ),
        (
            "ListPayoutBatches",
            lambda: stack.ledger.ListPayoutBatches(
                ledger_api.ListPayoutBatchesRequest(), metadata=md
            ),
        ),
    ]


def on_every_service(stack: Stack, md: Metadata) -> list[tuple[str, Attempt]]:
    """One call to each service that some principal may make."""
    return [
        (
            "dispatcher",
            lambda: stack.tasks.GetTask(
                task_api.GetTaskRequest(task_id=str(uuid.uuid4())), metadata=md
            ),
        ),
        ("matcher", lambda: stack.work.ListOffers(work_api.ListOffersRequest(), metadata=md)),
        ("ledger", lambda: stack.ledger.GetBalance(ledger_api.GetBalanceRequest(), metadata=md)),
    ]


async def test_bad_credentials_are_unauthenticated_on_every_service_with_the_reason(
    stack: Stack, world: World
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    claims = TokenClaims(world.x_id, uuid.uuid4().hex, now - timedelta(hours=1), now)
    a_key = stack.credentials[next(k for k in stack.credentials if k.startswith("client:lab-a"))]
    other_key, _ = new_signing_key_pem()
    bad: list[tuple[str, Metadata, str]] = [
        ("no credential", (), "CREDENTIAL_MISSING"),
        ("not a bearer", (("authorization", "Token abc"),), "CREDENTIAL_MALFORMED"),
        ("garbage", bearer("hello"), "CREDENTIAL_MALFORMED"),
        ("made-up API key", bearer("crwk_00112233aabbccdd_" + "x" * 43), "CREDENTIAL_FORGED"),
        ("real key id, wrong secret", bearer(a_key[:-4] + "AAAA"), "CREDENTIAL_FORGED"),
        ("made-up operator credential", bearer(new_operator_credential()), "CREDENTIAL_FORGED"),
        ("token signed by another key", bearer(signed(claims, key=other_key)), "CREDENTIAL_FORGED"),
        (
            "token expired one second ago",
            bearer(
                signed(
                    TokenClaims(
                        world.x_id,
                        claims.token_id,
                        now - timedelta(hours=1),
                        now - timedelta(seconds=1),
                    )
                )
            ),
            "CREDENTIAL_EXPIRED",
        ),
        (
            "signed token claiming to be an operator",
            bearer(
                signed(
                    TokenClaims(world.x_id, claims.token_id, now, now + timedelta(hours=1)),
                    kind="operator",
                )
            ),
            "CREDENTIAL_WRONG_KIND",
        ),
    ]
    outcomes = []
    for label, md, reason in bad:
        for service, call in on_every_service(stack, md):
            outcome = await attempt(f"{label} on the {service}", call)
            outcomes.append(outcome)
            assert (outcome.code, outcome.reason) == ("UNAUTHENTICATED", reason), outcome
    report("bad credentials on every service", outcomes)


async def test_revoked_key_and_token_are_refused_everywhere_once_propagated(stack: Stack) -> None:
    client_id, contractor_id = unique("lab-r"), unique("r")
    key = await new_client_key(stack, client_id)
    token = await new_contractor_token(stack, contractor_id)
    as_key, as_token = bearer(key.secret), bearer(token.secret)
    # Both work on every service first (and sit in each service's cache).
    await eventually(lambda: works_everywhere(stack, as_key))
    await eventually(lambda: works_everywhere(stack, as_token))

    op = as_operator(stack)
    revoked_at = time.monotonic()
    await stack.clients.RevokeApiKey(
        client_admin.RevokeApiKeyRequest(key_id=key.key.key_id), metadata=op
    )
    await stack.contractors.RevokeContractorToken(
        contractor_admin.RevokeContractorTokenRequest(token_id=token.token.token_id), metadata=op
    )
    await eventually(lambda: refused_everywhere(stack, as_key))
    await eventually(lambda: refused_everywhere(stack, as_token))
    print(
        f"\nrevocation refused on all three services {time.monotonic() - revoked_at:.2f} s after it"
    )

    outcomes = []
    for label, md in (("revoked API key", as_key), ("revoked token", as_token)):
        for service, call in on_every_service(stack, md):
            outcomes.append(await attempt(f"{label} on the {service}", call))
    report("revoked credentials, after propagation", outcomes)
    assert {(o.code, o.reason) for o in outcomes} == {("UNAUTHENTICATED", "CREDENTIAL_REVOKED")}


async def works_everywhere(stack: Stack, md: Metadata) -> bool:
    codes = [(await attempt(s, c)).code for s, c in on_every_service(stack, md)]
    # PERMISSION_DENIED is fine: authenticated, but that kind may not make this call.
    return all(code in ("OK", "NOT_FOUND", "PERMISSION_DENIED") for code in codes)


async def refused_everywhere(stack: Stack, md: Metadata) -> bool:
    outcomes = [await attempt(s, c) for s, c in on_every_service(stack, md)]
    return all(o.reason == "CREDENTIAL_REVOKED" for o in outcomes)


async def test_no_secret_reaches_the_logs_or_the_events(stack: Stack, world: World) -> None:
    secrets = [*stack.credentials.values(), stack.operator_credential]
    assert len(secrets) > 3
    logs = "\n".join(stack.services[name].log_text() for name in SERVICES)
    events = b"".join(r.value or b"" for r in await read_topic(stack.kafka, IDENTITY_TOPIC))
    assert b"ApiKeyCreated" in events  # the identity events are really there...
    for secret in secrets:
        assert secret not in logs  # ...and no credential is in them, nor in any log line
        assert secret.encode() not in events
    # A secret's tail would show a credential printed partially, e.g. in an error.
    assert not any(secret[-20:] in logs for secret in secrets)
