"""Refusals of very long values reach a default gRPC client as themselves.

A refusal travels in the call's trailing metadata, which a client with gRPC's default
limit (8 KiB) takes no more of: had a message quoted a 9,000-character value in full,
the client would see RESOURCE_EXHAUSTED "received metadata size exceeds limit", which
the SDK retries as overload. The stack's stubs use default channels.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
from google.protobuf import field_mask_pb2

from crewline.client.errors import error_info
from crewline.errors import MESSAGE_BYTES
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import money_pb2, project_pb2
from crewline.v1 import task_service_pb2 as task_api

from flow import (
    as_client,
    as_contractor,
    as_operator,
    claim,
    refused,
    submit_task,
    submit_work,
    unique,
    wait_offered,
)
from harness import Stack

LONG = 9000


def mask(path: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=[path])


def money(currency: str) -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency, amount_minor=100)


async def test_long_values_are_refused_by_name_in_a_message_of_bounded_size(stack: Stack) -> None:
    lab, ann = unique("lab"), unique("ann")
    task = await submit_task(stack, client=lab)
    await wait_offered(stack, task.task_id)
    work = await submit_work(stack, ann, (await claim(stack, ann, task.task_id)).claim_id)
    client, contractor, operator = (
        await as_client(stack, lab),
        await as_contractor(stack, ann),
        as_operator(stack),
    )
    calls: dict[str, tuple[str, Callable[[], Awaitable[object]]]] = {
        "UpdateProject": (
            "update_mask",
            lambda: stack.tasks.UpdateProject(
                task_api.UpdateProjectRequest(
                    project=project_pb2.Project(project_id=task.project_id, title="t"),
                    update_mask=mask("p" * LONG),
                ),
                metadata=client,
            ),
        ),
        "RunPayoutBatch": (
            "threshold.currency_code",
            lambda: stack.ledger.RunPayoutBatch(
                ledger_api.RunPayoutBatchRequest(batch_id=unique("b"), threshold=money("X" * LONG)),
                metadata=operator,
            ),
        ),
        "GetEarnings": (
            "contractor_id",
            lambda: stack.ledger.GetEarnings(
                ledger_api.GetEarningsRequest(contractor_id="c" * 5000), metadata=contractor
            ),
        ),
        "UpdateContractor": (
            "update_mask",
            lambda: stack.contractors.UpdateContractor(
                contractor_admin.UpdateContractorRequest(
                    contractor=contractor_admin.Contractor(contractor_id=ann, display_name="A"),
                    update_mask=mask("d" * LONG),
                ),
                metadata=operator,
            ),
        ),
        "GrantBonus": (
            "amount.currency_code",
            lambda: stack.tasks.GrantBonus(
                task_api.GrantBonusRequest(
                    submission_id=work.claim_id,
                    idempotency_key=unique("k"),
                    amount=money("X" * LONG),
                    reason="well done",
                ),
                metadata=client,
            ),
        ),
    }
    for rpc, (field, call) in calls.items():
        err = await refused(call())
        assert err.code() is grpc.StatusCode.INVALID_ARGUMENT, (rpc, err.code(), err.details())
        reason, metadata = error_info(err)
        assert (reason, metadata.get("field")) == ("INVALID_FIELD", field), rpc
        message = err.details() or ""
        assert message.startswith(field), (rpc, message)
        assert len(message.encode()) <= MESSAGE_BYTES, rpc
