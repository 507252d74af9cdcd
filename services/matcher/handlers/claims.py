"""What the matcher does with the pool and claims: contractors' commands and task events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from crewline.consumer import EventContext
from crewline.errors import Aborted, NotFound
from crewline.log import bind_contextvars
from crewline.protobuf import from_timestamp
from crewline.v1 import events_pb2
from matcher.adapters import offer_signals
from matcher.adapters import protobuf as pb
from matcher.adapters import repository as repo
from matcher.deps import Deps
from matcher.domain.model import Claim, ClaimStatus, ClaimTask, Payload, SubmitWork, refusal

_ATTEMPTS = 3  # a claim raced by as many changes of its project's terms gives up


@dataclass(frozen=True)
class Granted:
    """A claim, the work it is for, and the task's free slots after it (None on a repeat)."""

    claim: Claim
    payload: Payload
    instructions: str
    free_slots: int | None


async def claim_task(cmd: ClaimTask, deps: Deps) -> Granted:
    """Grant one slot, first come first served; the same request id returns the same claim.

    Every check (eligible, not blocked, under both claim limits, a free slot, no
    claim on the task yet), the grant and its ClaimGranted event happen in one
    statement, so there are never more live claims than slots under any interleaving,
    on any number of replicas. The event is built beforehand from the terms the task
    is expected to be granted under; the statement refuses (STALE) if those are out
    of date, and the next attempt uses the ones it returned.
    """
    bind_contextvars(task_id=str(cmd.task_id), contractor_id=cmd.contractor_id)
    now = deps.clock.now()
    claim_id = uuid.uuid4()
    async with deps.pool.acquire() as conn:
        expected = await deps.claim_terms.expected(conn, cmd.task_id)
        for _attempt in range(_ATTEMPTS):
            claim = None
            if expected is not None:
                claim = Claim(
                    claim_id=claim_id,
                    task_id=cmd.task_id,
                    contractor_id=cmd.contractor_id,
                    request_id=cmd.request_id,
                    project_id=expected.project_id,
                    status=ClaimStatus.ACTIVE,
                    terms=expected.terms,
                    version=1,
                    granted_at=now,
                )
            row = await repo.claim(
                conn,
                claim_id=claim_id,
                task_id=cmd.task_id,
                contractor_id=cmd.contractor_id,
                request_id=cmd.request_id,
                now=now,
                expected=expected,
                event=deps.publisher.prepare(pb.claim_granted(claim)) if claim else None,
            )
            outcome = row["outcome"]
            if outcome == "STALE":
                expected = deps.claim_terms.learn(cmd.task_id, row)
                continue
            if outcome == "GRANTED":
                assert claim is not None, "a grant is only made with the expected terms"
                bind_contextvars(claim_id=str(claim_id))
                payload = Payload(json=row["payload_json"], data=row["payload_bytes"])
                return Granted(claim, payload, row["instructions"], row["free_slots"])
            if outcome != "EXISTING":
                raise refusal(outcome, cmd.task_id)
            earlier = await repo.claim_with_work(conn, row["claim_id"])
            assert earlier is not None, "claim_task() found it under the request's lock"
            return Granted(earlier[0].answers(cmd), earlier[1], earlier[2], None)
    raise Aborted(
        f"task {cmd.task_id}: its project's pay terms kept changing; retry", reason="TERMS_CHANGED"
    )


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


async def on_task_published(
    conn: asyncpg.Connection, event: events_pb2.TaskPublished, ctx: EventContext, *, deps: Deps
) -> None:
    """A new task: its slots join the pool and it is offered to every eligible stream."""
    which = event.WhichOneof("payload")
    added = await repo.add_open_task(
        conn,
        task_id=uuid.UUID(event.task_id),
        client_id=event.client_id,
        project_id=event.project_id,
        slots=event.slots,
        priority=event.priority,
        own_priority=event.own_priority,
        payload=Payload(
            json=event.payload_json if which == "payload_json" else None,
            data=event.payload_bytes if which == "payload_bytes" else None,
        ),
        published_at=from_timestamp(event.published_at),
        expires_at=from_timestamp(event.expires_at) if event.HasField("expires_at") else None,
    )
    if added:
        await offer_signals.tasks_opened(conn, [event.task_id])
