"""Routing on the real stack: a project's tasks are offered to the qualified only, live,
and every claim refused says why. Through gRPC, with real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from crewline.client.errors import error_reason
from crewline.v1 import contractor_admin_service_pb2 as admin
from crewline.v1 import money_pb2, project_pb2
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import as_client, as_contractor, as_operator, unique
from harness import Stack
from stack import eventually

SCORE = project_pb2.QUALIFICATION_KIND_SCORE


async def qualification_type(stack: Stack, kind: int = SCORE) -> str:
    name = unique("domain.derm").lower()
    await stack.contractors.DefineQualificationType(
        admin.DefineQualificationTypeRequest(name=name, kind=kind), metadata=as_operator(stack)
    )
    return name


async def contractor(stack: Stack, qualification: str = "", score: int | None = None) -> str:
    contractor_id = unique("expert")
    await as_contractor(stack, contractor_id)  # created, with a token
    if qualification:
        await grant(stack, contractor_id, qualification, score)
    return contractor_id


async def grant(stack: Stack, contractor_id: str, qualification: str, score: int | None) -> None:
    await stack.contractors.GrantQualification(
        admin.GrantQualificationRequest(
            contractor_id=contractor_id, qualification=qualification, score=score
        ),
        metadata=as_operator(stack),
    )


async def project(
    stack: Stack, client: str, requirements: list[project_pb2.Requirement], reward: int = 2500
) -> task_api.Project:
    """A project; retried while the dispatcher has not yet heard of a new qualification type."""
    request = task_api.CreateProjectRequest(
        request_id=unique("proj"),
        title="Rate dermatology answers",
        instructions="Rate each answer from 1 to 5.",
        requirements=requirements,
        pay_terms=project_pb2.PayTerms(
            per_submission=project_pb2.PerSubmissionPay(
                reward=money_pb2.Money(currency_code="USD", amount_minor=reward)
            )
        ),
        assignments_per_task=1,
    )
    made: list[project_pb2.Project] = []

    async def created() -> bool:
        try:
            reply = await stack.tasks.CreateProject(
                request, metadata=await as_client(stack, client)
            )
        except grpc.aio.AioRpcError as err:
            if error_reason(err) == "UNKNOWN_QUALIFICATION":
                return False
            raise
        made.append(reply.project)
        return True

    await eventually(created)
    return made[0]


def at_least(qualification: str, score: int) -> project_pb2.Requirement:
    return project_pb2.Requirement(
        qualification=qualification,
        comparator=project_pb2.COMPARATOR_GREATER_OR_EQUAL,
        scores=[score],
    )


async def publish(stack: Stack, client: str, project_id: str, slots: int = 1) -> str:
    reply = await stack.tasks.SubmitTasks(
        task_api.SubmitTasksRequest(
            project_id=project_id,
            tasks=[
                task_api.TaskSpec(
                    idempotency_key=unique("t"), payload_json='{"answer": "..."}', slots=slots
                )
            ],
        ),
        metadata=await as_client(stack, client),
    )
    return reply.tasks[0].task_id


async def offers(stack: Stack, contractor_id: str, project_id: str = "") -> list[str]:
    reply = await stack.work.ListOffers(
        work_api.ListOffersRequest(page_size=100, project_id=project_id),
        metadata=await as_contractor(stack, contractor_id),
    )
    return [o.task_id for o in reply.offers]


async def claim_error(stack: Stack, contractor_id: str, task_id: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.work.ClaimTask(
            work_api.ClaimTaskRequest(request_id=unique("c"), task_id=task_id),
            metadata=await as_contractor(stack, contractor_id),
        )
    return caught.value


async def test_a_task_is_offered_only_to_the_qualified(stack: Stack) -> None:
    derm = await qualification_type(stack)
    expert = await contractor(stack, derm, 90)
    novice = await contractor(stack, derm, 40)
    outsider = await contractor(stack)
    p = await project(stack, "acme", [at_least(derm, 80)])
    task_id = await publish(stack, "acme", p.project_id)

    async def offered_to_expert() -> bool:
        return task_id in await offers(stack, expert, p.project_id)

    await eventually(offered_to_expert)
    assert await offers(stack, novice, p.project_id) == []
    assert await offers(stack, outsider, p.project_id) == []
    refused = await claim_error(stack, novice, task_id)
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_reason(refused) == "NOT_QUALIFIED"

    granted = await stack.work.ClaimTask(
        work_api.ClaimTaskRequest(request_id=unique("c"), task_id=task_id),
        metadata=await as_contractor(stack, expert),
    )
    assert granted.claim.pay_terms.version == 1
    assert granted.claim.pay_terms.per_submission.reward.amount_minor == 2500
    assert granted.claim.payload_json == '{"answer": "..."}'
    full = await claim_error(stack, await contractor(stack, derm, 95), task_id)
    assert error_reason(full) == "NO_FREE_SLOT"


class Offers:
    """One StreamOffers call, read in the background."""

    def __init__(self, call: grpc.aio.UnaryStreamCall) -> None:
        self.call = call
        # (kind, item): "offered" and "withdrawn" one per change, in order; other events whole.
        self.items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.call:
            kind = message.WhichOneof("event")
            if kind != "changes":
                await self.items.put((kind, message))
                continue
            for change in message.changes.changes:
                which = change.WhichOneof("change")
                await self.items.put((which, getattr(change, which)))

    async def next(self, kind: str) -> Any:
        """The next change or event of this kind (keepalives and others skipped)."""
        while True:
            found, item = await asyncio.wait_for(self.items.get(), 30)
            if found == kind:
                return item

    async def close(self) -> None:
        self.call.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


@pytest.fixture
async def streams(stack: Stack) -> AsyncIterator[list[Offers]]:
    opened: list[Offers] = []
    yield opened
    for s in opened:
        await s.close()


async def open_stream(
    stack: Stack, contractor_id: str, opened: list[Offers], stub: object | None = None
) -> Offers:
    work = stub or stack.work
    call = work.StreamOffers(  # type: ignore[attr-defined]
        work_api.StreamOffersRequest(), metadata=await as_contractor(stack, contractor_id)
    )
    stream = Offers(call)
    opened.append(stream)
    await stream.next("snapshot_end")
    return stream


async def test_the_stream_offers_live_and_a_revoked_qualification_withdraws(
    stack: Stack, streams: list[Offers]
) -> None:
    derm = await qualification_type(stack)
    expert = await contractor(stack, derm, 90)
    p = await project(stack, "acme", [at_least(derm, 80)])
    live = await open_stream(stack, expert, streams)

    task_id = await publish(stack, "acme", p.project_id)
    offered = await live.next("offered")
    assert offered.task_id == task_id and offered.title == p.title

    await stack.contractors.RevokeQualification(
        admin.RevokeQualificationRequest(contractor_id=expert, qualification=derm),
        metadata=as_operator(stack),
    )
    withdrawn = await live.next("withdrawn")
    assert withdrawn.task_id == task_id
    assert withdrawn.reason == work_api.WITHDRAWAL_REASON_NOT_ELIGIBLE
    assert error_reason(await claim_error(stack, expert, task_id)) == "NOT_QUALIFIED"


async def test_a_block_refuses_the_claim_until_it_is_lifted(stack: Stack) -> None:
    expert = await contractor(stack)
    p = await project(stack, "acme", [])
    task_id = await publish(stack, "acme", p.project_id)
    block_id = unique("block")
    await stack.contractors.BlockContractor(
        admin.BlockContractorRequest(
            block_id=block_id, contractor_id=expert, project_id=p.project_id, reason="quality"
        ),
        metadata=as_operator(stack),
    )

    async def refused_as_blocked() -> bool:  # the task reaches the matcher's pool first
        err = await claim_error(stack, expert, task_id)
        return error_reason(err) == "BLOCKED"

    await eventually(refused_as_blocked)
    await stack.contractors.LiftBlock(
        admin.LiftBlockRequest(block_id=block_id), metadata=as_operator(stack)
    )
    granted = await stack.work.ClaimTask(
        work_api.ClaimTaskRequest(request_id=unique("c"), task_id=task_id),
        metadata=await as_contractor(stack, expert),
    )
    assert granted.claim.task_id == task_id


async def test_claims_keep_the_terms_they_were_granted_under(stack: Stack) -> None:
    p = await project(stack, "acme", [], reward=2500)
    first_task = await publish(stack, "acme", p.project_id)
    ana, ben = await contractor(stack), await contractor(stack)

    async def claimed(who: str, task_id: str) -> work_api.Claim:
        claims: list[work_api.Claim] = []

        async def granted() -> bool:
            try:
                reply = await stack.work.ClaimTask(
                    work_api.ClaimTaskRequest(request_id=f"{who}-{task_id}", task_id=task_id),
                    metadata=await as_contractor(stack, who),
                )
            except grpc.aio.AioRpcError as err:
                if err.code() == grpc.StatusCode.NOT_FOUND:
                    return False  # not in the matcher's pool yet
                raise
            claims.append(reply.claim)
            return True

        await eventually(granted)
        return claims[0]

    before = await claimed(ana, first_task)
    raised = task_api.UpdateProjectRequest(
        project=project_pb2.Project(
            project_id=p.project_id,
            pay_terms=project_pb2.PayTerms(
                per_submission=project_pb2.PerSubmissionPay(
                    reward=money_pb2.Money(currency_code="USD", amount_minor=4000)
                )
            ),
        ),
    )
    raised.update_mask.paths.append("pay_terms")
    await stack.tasks.UpdateProject(raised, metadata=await as_client(stack, "acme"))
    second_task = await publish(stack, "acme", p.project_id)

    async def new_terms_reached_the_matcher() -> bool:
        reply = await stack.work.ListOffers(
            work_api.ListOffersRequest(project_id=p.project_id),
            metadata=await as_contractor(stack, ben),
        )
        return any(o.pay_terms.version == 2 for o in reply.offers)

    await eventually(new_terms_reached_the_matcher)
    after = await claimed(ben, second_task)
    assert (
        before.pay_terms.version == 1
        and before.pay_terms.per_submission.reward.amount_minor == 2500
    )
    assert (
        after.pay_terms.version == 2 and after.pay_terms.per_submission.reward.amount_minor == 4000
    )
    history = await stack.tasks.GetProject(
        task_api.GetProjectRequest(project_id=p.project_id), metadata=await as_client(stack, "acme")
    )
    assert [t.version for t in history.pay_terms_history] == [1, 2]


async def test_offers_are_for_contractors_only_and_bad_claims_name_the_problem(
    stack: Stack,
) -> None:
    client = await as_client(stack, "acme")
    for call in (
        stack.work.ListOffers(work_api.ListOffersRequest(), metadata=client),
        stack.work.ClaimTask(
            work_api.ClaimTaskRequest(request_id="r", task_id=unique("t")), metadata=client
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    stream = stack.work.StreamOffers(work_api.StreamOffersRequest(), metadata=client)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stream.read()
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED

    expert = await as_contractor(stack, unique("expert"))
    cases = [
        (work_api.ClaimTaskRequest(request_id="r", task_id="not-a-uuid"), "task_id"),
        (work_api.ClaimTaskRequest(request_id="", task_id=unique("t")), "request_id"),
    ]
    for request, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stack.work.ClaimTask(request, metadata=expert)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in (caught.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.work.ClaimTask(
            work_api.ClaimTaskRequest(
                request_id="r", task_id="00000000-0000-4000-8000-000000000000"
            ),
            metadata=expert,
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.work.ListOffers(work_api.ListOffersRequest(page_size=1000), metadata=expert)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_size" in (caught.value.details() or "")
