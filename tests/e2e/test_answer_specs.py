"""Answer specs through the real stack: a client declares the shape of a result when it
creates a project, the dispatcher announces it, the matcher offers the task with it,
and SubmitWork refuses a result that does not fit (INVALID_ARGUMENT naming the field)
and takes one that does. A project without a spec takes any bytes. Raw stubs: what
any gRPC client sends."""

from __future__ import annotations

from typing import Any

import grpc

from crewline.client.errors import error_info
from crewline.v1 import money_pb2, project_pb2
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import Metadata, as_client, as_contractor, refused, unique
from harness import Stack
from stack import eventually

SPEC = project_pb2.AnswerSpec(
    fields=[
        project_pb2.AnswerField(
            name="severity",
            prompt="How severe is the rash?",
            choice=project_pb2.ChoiceField(labels=["mild", "severe"]),
        ),
        project_pb2.AnswerField(name="score", number=project_pb2.NumberField(min=1, max=5, step=1)),
    ]
)


async def project_with(stack: Stack, client: Metadata, spec: project_pb2.AnswerSpec | None) -> str:
    request = task_api.CreateProjectRequest(
        request_id=unique("proj"),
        title="Rate rashes",
        instructions="Rate the rash.",
        pay_terms=project_pb2.PayTerms(
            per_submission=project_pb2.PerSubmissionPay(
                reward=money_pb2.Money(currency_code="USD", amount_minor=500)
            )
        ),
        assignments_per_task=1,
        auto_accept_delay_seconds=60,
    )
    if spec is not None:
        request.answer_spec.CopyFrom(spec)
    reply = await stack.tasks.CreateProject(request, metadata=client)
    return reply.project.project_id


async def offered_task(
    stack: Stack, client: Metadata, contractor: Metadata, project_id: str
) -> work_api.Offer:
    """A new task in the project, once the matcher offers it."""
    reply = await stack.tasks.SubmitTasks(
        task_api.SubmitTasksRequest(
            project_id=project_id,
            tasks=[task_api.TaskSpec(idempotency_key=unique("t"), payload_json='{"photo": 1}')],
        ),
        metadata=client,
    )
    task_id = reply.tasks[0].task_id
    found: list[work_api.Offer] = []

    async def on_offer() -> bool:
        listed = await stack.work.ListOffers(
            work_api.ListOffersRequest(page_size=100, project_id=project_id), metadata=contractor
        )
        found[:] = [o for o in listed.offers if o.task_id == task_id]
        return bool(found)

    await eventually(on_offer)
    return found[0]


async def test_a_result_must_fit_the_projects_answer_spec(stack: Stack) -> None:
    client, contractor = (
        await as_client(stack, unique("acme")),
        await as_contractor(stack, unique("ana")),
    )
    project_id = await project_with(stack, client, SPEC)
    offer = await offered_task(stack, client, contractor, project_id)
    assert offer.answer_spec.version == 1
    assert [f.name for f in offer.answer_spec.fields] == ["severity", "score"]

    claimed = await stack.work.ClaimTask(
        work_api.ClaimTaskRequest(request_id=unique("r"), task_id=offer.task_id),
        metadata=contractor,
    )
    claim_id = claimed.claim.claim_id
    assert claimed.claim.answer_spec == offer.answer_spec

    def submit(result: bytes) -> Any:  # the stub's call, awaitable
        return stack.work.SubmitWork(
            work_api.SubmitWorkRequest(claim_id=claim_id, result=result), metadata=contractor
        )

    err = await refused(submit(b'{"severity": "moderate", "score": 4}'))
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    reason, metadata = error_info(err)
    assert (reason, metadata.get("field")) == ("ANSWER_DOES_NOT_FIT", "result.severity")
    assert (err.details() or "").startswith("result.severity: 'moderate' is not one of")
    err = await refused(submit(b"4/5"))
    assert (err.code(), error_info(err)[1].get("field")) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "result",
    )
    # Refused work changed nothing: the claim is still live.
    got = await stack.work.GetClaim(
        work_api.GetClaimRequest(claim_id=claim_id), metadata=contractor
    )
    assert got.claim.status == work_api.CLAIM_STATUS_ACTIVE

    done = await submit(b'{"severity": "mild", "score": 2}')
    assert done.claim.status == work_api.CLAIM_STATUS_SUBMITTED
    assert done.claim.answer_spec.version == 1


async def test_a_project_without_a_spec_takes_any_bytes(stack: Stack) -> None:
    client, contractor = (
        await as_client(stack, unique("acme")),
        await as_contractor(stack, unique("ben")),
    )
    project_id = await project_with(stack, client, None)
    offer = await offered_task(stack, client, contractor, project_id)
    assert not offer.HasField("answer_spec")
    claimed = await stack.work.ClaimTask(
        work_api.ClaimTaskRequest(request_id=unique("r"), task_id=offer.task_id),
        metadata=contractor,
    )
    assert not claimed.claim.HasField("answer_spec")
    done = await stack.work.SubmitWork(
        work_api.SubmitWorkRequest(claim_id=claimed.claim.claim_id, result=b"\x00\xff anything"),
        metadata=contractor,
    )
    assert done.claim.status == work_api.CLAIM_STATUS_SUBMITTED
