"""What the matcher does with the pool and claims: contractors' commands and task events.

The matcher alone decides whether a claim is live. Every change of a claim is one
transaction: a compare-and-set on the claim's row (under its lock), the pool's slot
count when a slot frees, the offer streams' signal, and the event, together.

Locks are always taken in one order, so no two of these wait on each other in a
cycle: a contractor's row (only ClaimTask), then a task's row, then claim rows.
Submission and heartbeats lock only the claim (a submission reads the claim's answer
spec, which is never written again once stored: no lock); release and expiry the task,
then the claim; a cancel the task, then its claims; a pause or close the project's
advisory lock (which ClaimTask takes shared), then its claims; a change of answer spec
that advisory lock too, and no claim.

Every claim a contractor is shown carries its answer spec (``deps.answer_specs``: by
project and version, cached; a query only for one not cached).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg
from google.protobuf.message import Message

from crewline.consumer import EventContext
from crewline.errors import Aborted, InvalidArgument, NotFound
from crewline.log import bind_contextvars, get_logger
from crewline.paging import split_page
from crewline.protobuf import from_timestamp
from crewline.v1 import events_pb2
from matcher.adapters import offer_signals
from matcher.adapters import protobuf as pb
from matcher.adapters import repository as repo
from matcher.deps import Deps
from matcher.domain.claims import Claim
from matcher.domain.commands import ClaimRef, ClaimTask, HeartbeatClaim, ListClaims, SubmitWork
from matcher.domain.grants import lease, refusal
from matcher.domain.statuses import ClaimStatus, EndReason, ReviewState, TaskLifecycle
from matcher.domain.tasks import Payload, TaskState

log = get_logger(__name__)

_ATTEMPTS = 3  # a claim raced by as many changes of its project gives up


@dataclass(frozen=True)
class Granted:
    """A claim, the work it is for, and the task's free slots after it (None on a repeat)."""

    claim: Claim
    payload: Payload
    instructions: str
    free_slots: int | None


async def claim_task(cmd: ClaimTask, deps: Deps) -> Granted:
    """Grant one slot, first come first served; the same request id returns the same claim.

    Every check (the task live and its project active, eligible, not blocked, under
    both claim limits, a free slot, no claim on the task yet), the grant and its
    ClaimGranted event happen in one statement, so there are never more live claims
    than slots under any interleaving, on any number of replicas. The event (with the
    lease: deadline and maximum, from the project's claim timeout) is built beforehand
    from the project revision the task is expected to be granted under; the statement
    refuses (STALE) if that is out of date, and the next attempt uses the one it returned.
    Claims that arrive together share a statement and a commit (``deps.claims``: group
    commit), each decided in arrival order exactly as it would be alone.
    """
    bind_contextvars(task_id=str(cmd.task_id), contractor_id=cmd.contractor_id)
    now = deps.clock.now()
    claim_id = uuid.uuid4()
    expected = await deps.claim_terms.expected(deps.pool, cmd.task_id)
    for _attempt in range(_ATTEMPTS):
        claim = None
        if expected is not None:
            deadline, maximum = lease(
                granted_at=now,
                claim_timeout_seconds=expected.claim_timeout_seconds,
                terms=expected.terms,
            )
            claim = Claim(
                claim_id=claim_id,
                task_id=cmd.task_id,
                contractor_id=cmd.contractor_id,
                request_id=cmd.request_id,
                project_id=expected.project_id,
                client_id=expected.client_id,
                status=ClaimStatus.ACTIVE,
                terms=expected.terms,
                version=1,
                granted_at=now,
                lease_seconds=expected.claim_timeout_seconds,
                deadline_at=deadline,
                max_deadline_at=maximum,
                answer_spec_version=expected.answer_spec_version,
            )
        # Group-committed with the claims that arrive while the previous batch runs.
        row = await deps.claims.submit(
            repo.ClaimRequest(
                claim_id=claim_id,
                task_id=cmd.task_id,
                contractor_id=cmd.contractor_id,
                request_id=cmd.request_id,
                now=now,
                expected=expected,
                proposed=claim,
                event=deps.publisher.prepare(pb.claim_granted(claim)) if claim else None,
            )
        )
        outcome = row["outcome"]
        if outcome == "STALE":
            expected = await deps.claim_terms.refreshed(deps.pool, cmd.task_id)
            continue
        if outcome == "GRANTED":
            assert claim is not None, "a grant is only made with the expected terms"
            bind_contextvars(claim_id=str(claim_id))
            payload = Payload(json=row["payload_json"], data=row["payload_bytes"])
            deps.metrics.claimed("granted")
            # The revision checked fixes the spec version the claim was stored with (0008).
            titled = replace(
                claim, project_title=row["project_title"] or "", unpaid=bool(row["unpaid"])
            )
            shown = await deps.answer_specs.shown(deps.pool, titled)
            return Granted(shown, payload, row["instructions"], row["free_slots"])
        if outcome != "EXISTING":
            refused = refusal(outcome, cmd.task_id)  # the outcome is one of a fixed set
            deps.metrics.claimed(outcome)
            raise refused
        deps.metrics.claimed("repeated")
        async with deps.pool.acquire() as conn:
            earlier = await repo.claim_with_work(conn, row["claim_id"])
            assert earlier is not None, "claim_task() found it under the request's lock"
            shown = await deps.answer_specs.shown(conn, earlier[0].answers(cmd))
        return Granted(shown, earlier[1], earlier[2], None)
    deps.metrics.claimed("TERMS_CHANGED")
    raise Aborted(f"task {cmd.task_id}: its project kept changing; retry", reason="TERMS_CHANGED")


def _own(claim: Claim | None, ref: ClaimRef | SubmitWork | HeartbeatClaim) -> Claim:
    """The caller's claim; another's is not found (its existence does not leak)."""
    if claim is None or claim.contractor_id != ref.contractor_id:
        raise NotFound(f"claim {ref.claim_id} not found")
    return claim


async def submit_work(cmd: SubmitWork, deps: Deps) -> Claim:
    """Hand in work for a live claim before its deadline, with the time worked (which,
    with the claim's frozen terms, decides what it earns); a repeat of the same work
    returns the submitted claim unchanged, other work is refused (ALREADY_SUBMITTED).

    The claim's row is locked first, so concurrent copies of one request queue here
    and each later copy finds the claim submitted: the same answer, never a conflict.
    The same lock decides a race with the lease's expiry: whichever takes it first
    wins, and the other finds the claim no longer live.

    Under an answer spec (the version in force when the claim was granted), a result
    that does not fit is refused, INVALID_ARGUMENT naming ``result.<field>``, and
    nothing is stored: the claim stays live for a result that fits.
    """
    bind_contextvars(claim_id=str(cmd.claim_id), contractor_id=cmd.contractor_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        claim = _own(await repo.get_claim(conn, cmd.claim_id, for_update=True), cmd)
        spec = await deps.answer_specs.get(conn, claim.project_id, claim.answer_spec_version)
        if claim.status is ClaimStatus.SUBMITTED:
            repeated = claim.resubmitted(cmd, kept=await repo.kept_result(conn, cmd.claim_id))
            return replace(repeated, answer_spec=spec.spec)
        submitted = claim.submit(
            now=deps.clock.now(), segments=cmd.segments, worked=cmd.worked_seconds
        )
        spec.check(cmd.result)  # raised before anything is written: the rollback is a no-op
        if not await repo.save_claim(conn, submitted, result=cmd.result):
            raise AssertionError("the locked claim changed under its lock")
        await deps.publisher.publish(conn, pb.work_submitted(submitted, cmd.result))
        return replace(submitted, answer_spec=spec.spec)


async def heartbeat_claim(cmd: HeartbeatClaim, deps: Deps) -> Claim:
    """Extend a live claim's lease (up to its maximum) and record the time worked."""
    bind_contextvars(claim_id=str(cmd.claim_id), contractor_id=cmd.contractor_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        claim = _own(await repo.get_claim(conn, cmd.claim_id, for_update=True), cmd)
        now = deps.clock.now()
        beat = claim.heartbeat(now=now, worked=cmd.worked_seconds)
        if beat is not claim:
            if not await repo.save_claim(conn, beat):
                raise AssertionError("the locked claim changed under its lock")
            await deps.publisher.publish(conn, pb.claim_extended(beat, at=now))
        return await deps.answer_specs.shown(conn, beat)


async def release_claim(cmd: ClaimRef, deps: Deps) -> Claim:
    """Give a live claim's slot back at once; a repeat returns the released claim."""
    bind_contextvars(claim_id=str(cmd.claim_id), contractor_id=cmd.contractor_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        seen = _own(await repo.get_claim(conn, cmd.claim_id), cmd)
        if seen.release(now=deps.clock.now()) is seen:  # a repeat: no lock needed
            return await deps.answer_specs.shown(conn, seen)
        task = await repo.task_state(conn, seen.task_id, lock=True)  # the task's, then
        claim = await repo.get_claim(conn, cmd.claim_id, for_update=True)  # the claim's
        assert task is not None and claim is not None, "a claim's task and itself stay"
        now = deps.clock.now()
        released = claim.release(now=now)
        if released is not claim:
            await _ended(conn, released, task, now=now, deps=deps)
        return await deps.answer_specs.shown(conn, released)


async def _ended(
    conn: asyncpg.Connection, ended: Claim, task: TaskState, *, now: datetime, deps: Deps
) -> None:
    """Write a claim that ended without work (its task's row locked): its slot goes back
    to the pool, and on offer again at once if the task takes claims now; ClaimEnded,
    and ClaimSettled when the client had cut it short on hourly terms."""
    if not await repo.save_claim(conn, ended):
        raise AssertionError("the locked claim changed under its lock")
    await repo.free_slot(conn, ended.task_id)
    reoffered = task.claimable(now)
    if reoffered:
        await offer_signals.tasks_opened(conn, [str(ended.task_id)])
    events: list[Message] = [pb.claim_ended(ended, reoffered=reoffered)]
    owed = ended.settlement
    if owed is not None:
        events.append(pb.claim_settled(ended, owed))
    await deps.publisher.publish_many(conn, events)


async def get_claim(cmd: ClaimRef, deps: Deps) -> tuple[Claim, Payload, str]:
    """The caller's claim, with the work it is for."""
    async with deps.pool.acquire() as conn:
        found = await repo.claim_with_work(conn, cmd.claim_id)
        claim = _own(found[0] if found else None, cmd)
        assert found is not None
        return await deps.answer_specs.shown(conn, claim), found[1], found[2]


async def list_my_claims(
    query: ListClaims, deps: Deps
) -> tuple[list[Claim], tuple[datetime, uuid.UUID] | None]:
    """One page of the caller's claims, newest first, and where the next starts."""
    async with deps.pool.acquire() as conn:
        found = await repo.list_claims(conn, query, limit=query.page_size + 1)
        page, last = split_page(found, query.page_size)
        shown = await deps.answer_specs.shown_claims(conn, page)
    return shown, ((last.granted_at, last.claim_id) if last else None)


async def on_task_published(
    conn: asyncpg.Connection, event: events_pb2.TaskPublished, ctx: EventContext, *, deps: Deps
) -> None:
    """A new task: its slots join the pool and it is offered to every eligible stream;
    a reserved one (a gold task) to its contractor's only, if they are eligible. An
    unpaid one (an unpaid exam's question) is offered and claimed as unpaid."""
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
        reserved_for=event.reserved_for or None,
        unpaid=event.unpaid,
    )
    if added:
        await offer_signals.tasks_opened(conn, [event.task_id])


async def on_task_changed(
    conn: asyncpg.Connection, event: events_pb2.TaskChanged, ctx: EventContext, *, deps: Deps
) -> None:
    """The dispatcher changed a task: keep its highest revision. A cancel cuts the
    task's live claims short; a task that takes no claims leaves every offer stream; a
    live one (more slots, a new lifetime, revived) is offered again. A reserved task
    ended by its contractor's claim is withdrawn from no stream: only theirs could still
    show it (on another replica), as one holds an ordinary task they claimed until it
    fills. Cost: the task's own row and claims."""
    task_id = uuid.UUID(event.task_id)
    bind_contextvars(task_id=event.task_id)
    lifecycle = pb.lifecycle(event.lifecycle)
    changed = await repo.change_task(
        conn,
        task_id=task_id,
        revision=event.revision,
        lifecycle=lifecycle,
        slots=event.slots,
        expires_at=from_timestamp(event.expires_at) if event.HasField("expires_at") else None,
    )
    if changed is None:
        return  # a redelivery, an older revision, or a task this pool never had
    before, _added = changed
    if lifecycle is TaskLifecycle.CANCELLED and before is not TaskLifecycle.CANCELLED:
        cut = await repo.cut_task_claims(
            conn, task_id, EndReason.TASK_CANCELLED, now=deps.clock.now()
        )
        log.info("task_cancelled_claims_cut", claims=cut)
    state = await repo.task_state(conn, task_id)
    assert state is not None, "its row is locked"
    if state.claimable(deps.clock.now()):
        await offer_signals.tasks_opened(conn, [event.task_id])
    elif not await repo.ended_with_its_claim(conn, task_id):
        await offer_signals.task_closed(conn, event.task_id)


async def on_lease_elapsed(
    conn: asyncpg.Connection, event: events_pb2.LeaseElapsed, ctx: EventContext, *, deps: Deps
) -> None:
    """The dispatcher's lease clock fired: end the claim if it is still live and its
    current deadline has passed (a heartbeat may have moved it: then nothing happens,
    and the clock is set again from ClaimExtended). A redelivery finds it ended."""
    claim_id = uuid.UUID(event.claim_id)
    bind_contextvars(claim_id=event.claim_id, task_id=event.task_id)
    fired_for = from_timestamp(event.deadline_at)
    seen = await repo.get_claim(conn, claim_id)
    if seen is None:
        return
    if seen.expire(now=deps.clock.now(), fired_for=fired_for, task_over=False) is None:
        return  # no lock taken: a redelivery, or a moved deadline, costs one read
    task = await repo.task_state(conn, seen.task_id, lock=True)  # the task's lock, then
    claim = await repo.get_claim(conn, claim_id, for_update=True)  # the claim's
    assert task is not None and claim is not None, "a claim's task and itself stay"
    now = deps.clock.now()
    ended = claim.expire(now=now, fired_for=fired_for, task_over=task.over(now))
    if ended is None:
        return  # submitted or released meanwhile, or a heartbeat moved the deadline
    await _ended(conn, ended, task, now=now, deps=deps)


async def on_submission_accepted(
    conn: asyncpg.Connection,
    event: events_pb2.SubmissionAccepted,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    """The client (or the auto-accept clock, or an override of a rejection) accepted the
    work: its contractor sees it on the claim, with the client's note (an override's
    replaces the rejection's). Final."""
    await _reviewed(
        conn,
        event.submission_id,
        ReviewState.ACCEPTED,
        event.feedback,
        from_timestamp(event.accepted_at),
    )


async def on_submission_rejected(
    conn: asyncpg.Connection,
    event: events_pb2.SubmissionRejected,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    """The client rejected the work, with feedback its contractor sees on the claim."""
    await _reviewed(
        conn,
        event.submission_id,
        ReviewState.REJECTED,
        event.feedback,
        from_timestamp(event.rejected_at),
    )


async def _reviewed(
    conn: asyncpg.Connection, submission_id: str, review: ReviewState, feedback: str, at: datetime
) -> None:
    """Keep a submission's review on its claim (the submission id is the claim id). A
    redelivery, a rejection after the acceptance, or a claim this pool never had change
    nothing. Cost: the claim's row."""
    bind_contextvars(claim_id=submission_id)
    try:
        claim_id = uuid.UUID(submission_id)
    except ValueError:
        raise InvalidArgument("submission_id", "is not a UUID") from None
    claim = await repo.get_claim(conn, claim_id, for_update=True)
    if claim is None:
        log.warning("review_of_unknown_claim", review=review.value)
        return
    reviewed = claim.reviewed(review, feedback=feedback, at=at)
    if reviewed is None:
        return
    await repo.save_review(conn, reviewed)
    log.info("claim_reviewed", review=review.value)
