"""Idempotent requests, and bad input that names its field and changes nothing."""

from __future__ import annotations

import uuid

import grpc
import pytest

from crewline.v1 import client_admin_service_pb2 as client_admin
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import (
    as_client,
    as_contractor,
    as_operator,
    claim,
    refused,
    submit_task,
    unique,
    wait_offered,
)
from harness import Stack


async def test_same_submit_request_returns_the_same_task_forever(stack: Stack) -> None:
    rid = unique("req")
    first = await submit_task(stack, request_id=rid, slots=2)
    again = await submit_task(stack, request_id=rid, slots=2)
    assert again.task_id == first.task_id
    assert again == first


async def test_idempotency_key_reused_for_another_task_is_invalid_and_names_it(
    stack: Stack,
) -> None:
    rid = unique("req")
    await submit_task(stack, request_id=rid, slots=2)
    err = await refused(submit_task(stack, request_id=rid, slots=3))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.details() or "").startswith("task.idempotency_key:")


def _task_request(project_id: str, /, **changes: object) -> task_api.SubmitTaskRequest:
    req = task_api.SubmitTaskRequest(
        project_id=project_id,
        task=task_api.TaskSpec(idempotency_key=unique("task"), payload_json="{}", slots=1),
    )
    for name, value in changes.items():
        if name == "project_id":
            req.project_id = value  # type: ignore[assignment]
        else:
            setattr(req.task, name, value)
    return req


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"idempotency_key": ""}, "task.idempotency_key"),
        ({"project_id": ""}, "project_id"),
        ({"project_id": "p\n"}, "project_id"),
        ({"slots": -3}, "task.slots"),
        ({"slots": 1001}, "task.slots"),
        ({"payload_json": "{not json"}, "task.payload_json"),
        ({"payload_json": "[" * 70_000}, "task.payload_json"),
        ({"payload_bytes": b""}, "task.payload_bytes"),
        ({"priority": 101}, "task.priority"),
        ({"lifetime_seconds": -5}, "task.lifetime_seconds"),
    ],
)
async def test_malformed_submit_task_is_invalid_names_the_field_and_changes_nothing(
    stack: Stack, changes: dict[str, object], field: str
) -> None:
    project_id = (await submit_task(stack)).project_id
    bad = _task_request(project_id, **changes)
    acme = await as_client(stack, "acme")
    err = await refused(stack.tasks.SubmitTask(bad, metadata=acme))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.details() or "").startswith(f"{field}:")
    if field != "task.idempotency_key":
        # Nothing was recorded under that key: a good request may still use it.
        good = _task_request(project_id, idempotency_key=bad.task.idempotency_key)
        created = (await stack.tasks.SubmitTask(good, metadata=acme)).task
        assert created.slots == 1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda s, c, w: s.tasks.GetTask(task_api.GetTaskRequest(task_id="nope"), metadata=c),
            "task_id",
        ),
        (
            lambda s, c, w: s.work.ClaimTask(
                work_api.ClaimTaskRequest(request_id="r", task_id="x"), metadata=w
            ),
            "task_id",
        ),
        (
            lambda s, c, w: s.work.ClaimTask(
                work_api.ClaimTaskRequest(request_id="", task_id=str(uuid.uuid4())), metadata=w
            ),
            "request_id",
        ),
        (
            lambda s, c, w: s.work.SubmitWork(work_api.SubmitWorkRequest(claim_id=""), metadata=w),
            "claim_id",
        ),
        (
            lambda s, c, w: s.work.ListOffers(
                work_api.ListOffersRequest(page_size=10_000), metadata=w
            ),
            "page_size",
        ),
        (
            lambda s, c, w: s.ledger.GetBalance(
                ledger_api.GetBalanceRequest(account_id="bank:1"), metadata=c
            ),
            "account_id",
        ),
    ],
)
async def test_malformed_requests_to_every_service_name_the_field(
    stack: Stack, call: object, field: str
) -> None:
    client, worker = await as_client(stack, "acme"), await as_contractor(stack, "ann")
    err = await refused(call(stack, client, worker))  # type: ignore[operator]
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.details() or "").startswith(f"{field}:")


async def test_unknown_ids_are_not_found(stack: Stack) -> None:
    missing = str(uuid.uuid4())
    acme = await as_client(stack, "acme")
    err = await refused(
        stack.tasks.GetTask(task_api.GetTaskRequest(task_id=missing), metadata=acme)
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = await refused(claim(stack, "ann", missing))
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def test_work_on_another_contractors_claim_is_not_found(stack: Stack) -> None:
    owner, intruder = unique("owner"), unique("intruder")
    task = await submit_task(stack)
    await wait_offered(stack, task.task_id)
    granted = await claim(stack, owner, task.task_id)
    err = await refused(
        stack.work.SubmitWork(
            work_api.SubmitWorkRequest(claim_id=granted.claim_id),
            metadata=await as_contractor(stack, intruder),
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def test_a_body_that_is_not_the_request_message_is_invalid_not_unknown(stack: Stack) -> None:
    # Field 3 (project_id, a string) holding bytes that are not UTF-8.
    body = b"\x1a\x01\xff"
    acme = await as_client(stack, "acme")
    async with grpc.aio.insecure_channel(stack.services["dispatcher"].grpc_addr) as channel:
        submit = channel.unary_unary("/crewline.v1.TaskService/SubmitTask")
        err = await refused(submit(body, metadata=acme))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.details() or "").startswith("request: not a valid SubmitTask request")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda s, op: s.clients.CreateClient(client_admin.CreateClientRequest(), metadata=op),
            "client_id",
        ),
        (
            lambda s, op: s.clients.CreateClient(
                client_admin.CreateClientRequest(client_id="a b"), metadata=op
            ),
            "client_id",
        ),
        (
            lambda s, op: s.clients.CreateApiKey(
                client_admin.CreateApiKeyRequest(client_id="acme"), metadata=op
            ),
            "request_id",
        ),
        (
            lambda s, op: s.clients.ListApiKeys(client_admin.ListApiKeysRequest(), metadata=op),
            "client_id",
        ),
        (
            lambda s, op: s.clients.RevokeApiKey(client_admin.RevokeApiKeyRequest(), metadata=op),
            "key_id",
        ),
        (
            lambda s, op: s.contractors.CreateContractor(
                contractor_admin.CreateContractorRequest(contractor_id="x", display_name="n\x00"),
                metadata=op,
            ),
            "display_name",
        ),
        (
            lambda s, op: s.contractors.IssueContractorToken(
                contractor_admin.IssueContractorTokenRequest(contractor_id="x", ttl_seconds=5),
                metadata=op,
            ),
            "ttl_seconds",
        ),
        (
            lambda s, op: s.contractors.RevokeContractorToken(
                contractor_admin.RevokeContractorTokenRequest(), metadata=op
            ),
            "token_id",
        ),
    ],
)
async def test_malformed_operator_requests_name_the_field(
    stack: Stack, call: object, field: str
) -> None:
    err = await refused(call(stack, as_operator(stack)))  # type: ignore[operator]
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.details() or "").startswith(f"{field}:")


async def test_operator_requests_repeated_differently_are_refused_and_change_nothing(
    stack: Stack,
) -> None:
    op, client, other = as_operator(stack), unique("lab"), unique("lab")
    for c in (client, other):
        await stack.clients.CreateClient(
            client_admin.CreateClientRequest(client_id=c, display_name="Lab"), metadata=op
        )
    err = await refused(
        stack.clients.CreateClient(
            client_admin.CreateClientRequest(client_id=client, display_name="Other"), metadata=op
        )
    )
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    rid = unique("key")
    await stack.clients.CreateApiKey(
        client_admin.CreateApiKeyRequest(request_id=rid, client_id=client), metadata=op
    )
    err = await refused(
        stack.clients.CreateApiKey(
            client_admin.CreateApiKeyRequest(request_id=rid, client_id=other), metadata=op
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.details() or "").startswith("request_id:")
    listed = await stack.clients.ListApiKeys(
        client_admin.ListApiKeysRequest(client_id=other), metadata=op
    )
    assert list(listed.keys) == []  # the refused request made no key
    err = await refused(
        stack.contractors.IssueContractorToken(
            contractor_admin.IssueContractorTokenRequest(contractor_id=unique("ghost")), metadata=op
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
