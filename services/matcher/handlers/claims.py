"""What the matcher does with the pool and claims: contractors' commands and task events."""

from __future__ import annotations

import uuid

import asyncpg

from crewline.consumer import EventContext
from crewline.errors import AlreadyExists, FailedPrecondition, NotFound
from crewline.log import bind_contextvars
from crewline.protobuf import from_timestamp, money_from_pb
from crewline.v1 import events_pb2
from matcher.adapters import protobuf as pb
from matcher.adapters import repository as repo
from matcher.deps import Deps
from matcher.domain.model import (
    Claim,
    ClaimStatus,
    ClaimTask,
    ListOpenTasks,
    OpenTask,
    PageCursor,
    SubmitWork,
)


class _Conflict(Exception):
    """The claim insert hit a unique key; decided after the rollback."""


async def claim_task(cmd: ClaimTask, deps: Deps) -> Claim:
    """Grant one slot, first come first served; the same request id returns the same claim."""
    bind_contextvars(task_id=str(cmd.task_id), contractor_id=cmd.contractor_id)
    async with deps.pool.acquire() as conn:
        try:
            async with conn.transaction():
                return await _grant(conn, cmd, deps)
        except _Conflict:
            pass  # the slot taken above was rolled back; say why we refused
        earlier = await repo.claim_by_request(
            conn, contractor_id=cmd.contractor_id, request_id=cmd.request_id
        )
        if earlier is not None:
            return earlier.answers(cmd)
        raise AlreadyExists(
            f"contractor {cmd.contractor_id} already holds a claim on this task",
            reason="ALREADY_CLAIMED",
        )


async def _grant(conn: asyncpg.Connection, cmd: ClaimTask, deps: Deps) -> Claim:
    # A retry racing its original waits here for it, then finds its claim below,
    # instead of losing the last slot to its own first attempt.
    await repo.lock_request(conn, contractor_id=cmd.contractor_id, request_id=cmd.request_id)
    earlier = await repo.claim_by_request(
        conn, contractor_id=cmd.contractor_id, request_id=cmd.request_id
    )
    if earlier is not None:
        return earlier.answers(cmd)
    reward = await repo.take_slot(conn, cmd.task_id)
    if reward is None:
        if await repo.task_exists(conn, cmd.task_id):
            raise FailedPrecondition(f"task {cmd.task_id} has no free slot", reason="NO_FREE_SLOT")
        raise NotFound(f"task {cmd.task_id} not found")
    claim = Claim(
        claim_id=uuid.uuid4(),
        task_id=cmd.task_id,
        contractor_id=cmd.contractor_id,
        request_id=cmd.request_id,
        status=ClaimStatus.ACTIVE,
        reward=reward,
        version=1,
        granted_at=deps.clock.now(),
    )
    if not await repo.insert_claim(conn, claim):
        raise _Conflict
    await deps.publisher.publish(conn, pb.claim_granted(claim))
    bind_contextvars(claim_id=str(claim.claim_id))
    return claim


async def submit_work(cmd: SubmitWork, deps: Deps) -> Claim:
    """Hand in work for a live claim; a repeat returns the submitted claim unchanged.

    The claim's row is locked first, so concurrent copies of one request queue here
    and each later copy finds the claim submitted: the same answer, never a conflict.
    """
    bind_contextvars(claim_id=str(cmd.claim_id), contractor_id=cmd.contractor_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        claim = await repo.get_claim(conn, cmd.claim_id, for_update=True)
        if claim is None or claim.contractor_id != cmd.contractor_id:
            raise NotFound(f"claim {cmd.claim_id} not found")  # another's claim does not leak
        submitted = claim.submit(now=deps.clock.now())
        if submitted is claim:
            return claim
        if not await repo.save_submitted(conn, submitted, cmd.result):
            raise AssertionError("the locked claim changed under its lock")
        await deps.publisher.publish(conn, pb.work_submitted(submitted, cmd.result))
        return submitted


async def list_open_tasks(
    query: ListOpenTasks, deps: Deps
) -> tuple[list[OpenTask], PageCursor | None]:
    """One page of open tasks, and where the next page starts (None on the last)."""
    async with deps.pool.acquire() as conn:
        found = await repo.open_tasks_for(conn, query, limit=query.page_size + 1)
    page = found[: query.page_size]
    return page, (page[-1].cursor if len(found) > query.page_size else None)


async def on_task_published(
    conn: asyncpg.Connection, event: events_pb2.TaskPublished, ctx: EventContext, *, deps: Deps
) -> None:
    """A new task: its slots join the pool."""
    await repo.add_open_task(
        conn,
        task_id=uuid.UUID(event.task_id),
        client_id=event.client_id,
        project_id=event.project_id,
        slots=event.slots,
        reward=money_from_pb(event.reward),
        instructions=event.instructions,
        published_at=from_timestamp(event.published_at),
    )
