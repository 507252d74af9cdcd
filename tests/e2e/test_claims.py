"""First come, first served: never more claims than slots."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from crewline.client import AlreadyExists, Refused
from crewline.v1 import work_service_pb2 as work_api

from flow import as_contractor, claim, offered, submit_task, unique, wait_offered
from harness import Stack


async def test_racing_contractors_get_exactly_the_free_slots(stack: Stack) -> None:
    task = await submit_task(stack, slots=2)
    await wait_offered(stack, task.task_id)
    racers = [unique("racer") for _ in range(12)]

    results = await asyncio.gather(
        *(claim(stack, r, task.task_id) for r in racers), return_exceptions=True
    )

    granted = [r for r in results if isinstance(r, work_api.Claim)]
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(granted) == 2 and len(refused) == 10
    assert {(e.code, e.reason) for e in refused} == {
        (grpc.StatusCode.FAILED_PRECONDITION, "NO_FREE_SLOT")
    }
    assert all("no free slot" in e.message for e in refused)
    assert len({g.contractor_id for g in granted}) == 2
    assert not await offered(stack, unique("late"), task.task_id)


async def test_same_claim_request_returns_the_same_claim(stack: Stack) -> None:
    cy, project = unique("cy"), unique("proj")
    task = await submit_task(stack, slots=3, project=project)
    await wait_offered(stack, task.task_id)
    first = await claim(stack, cy, task.task_id, request_id="cy-req-1")
    again = await claim(stack, cy, task.task_id, request_id="cy-req-1")
    assert first == again
    listed = await stack.work.ListOffers(
        work_api.ListOffersRequest(project_id=task.project_id),
        metadata=await as_contractor(stack, unique("other")),
    )
    assert [t.free_slots for t in listed.offers if t.task_id == task.task_id] == [2]


async def test_one_contractor_cannot_take_two_slots_of_one_task(stack: Stack) -> None:
    di, project = unique("di"), unique("proj")
    task = await submit_task(stack, slots=3, project=project)
    await wait_offered(stack, task.task_id)
    await claim(stack, di, task.task_id)
    with pytest.raises(AlreadyExists) as second:  # a second slot for the same contractor
        await claim(stack, di, task.task_id)
    assert second.value.reason == "ALREADY_CLAIMED"
    listed = await stack.work.ListOffers(
        work_api.ListOffersRequest(project_id=task.project_id),
        metadata=await as_contractor(stack, unique("other")),
    )
    assert [t.free_slots for t in listed.offers if t.task_id == task.task_id] == [2]
    # The task is no longer offered to the contractor who holds it.
    assert not await offered(stack, di, task.task_id)


async def test_a_retry_racing_its_original_for_the_last_slot_gets_the_same_claim(
    stack: Stack,
) -> None:
    for _ in range(10):
        ed = unique("ed")
        task = await submit_task(stack, slots=1)
        await wait_offered(stack, task.task_id)
        first, retry = await asyncio.gather(
            claim(stack, ed, task.task_id, request_id="ed-req"),
            claim(stack, ed, task.task_id, request_id="ed-req"),
        )
        assert first == retry


async def test_offers_page_through_oldest_first_without_gaps_or_repeats(stack: Stack) -> None:
    project = unique("proj")
    published = [await submit_task(stack, project=project) for _ in range(7)]
    tasks = [t.task_id for t in published]
    for task_id in tasks:
        await wait_offered(stack, task_id)
    seen, token, pages = [], "", 0
    pager = await as_contractor(stack, unique("pager"))
    while True:
        reply = await stack.work.ListOffers(
            work_api.ListOffersRequest(
                page_size=3, page_token=token, project_id=published[0].project_id
            ),
            metadata=pager,
        )
        seen.extend(o.task_id for o in reply.offers)
        pages += 1
        token = reply.next_page_token
        if not token:
            break
    assert seen == tasks and pages == 3  # 3 + 3 + 1, in publication order
