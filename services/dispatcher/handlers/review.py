"""What the dispatcher does when a client reviews work: list and read submissions,
accept (or override a rejection), reject, and grant bonuses.

Every change locks the submission first, so concurrent copies of a request queue on
it and each gets the answer the first one made (read back after the change). Each
transition writes its event to the outbox exactly once, in the same transaction.
"""

from __future__ import annotations

import uuid

import asyncpg

from crewline import clock
from crewline.errors import NotFound
from crewline.log import bind_contextvars
from crewline.paging import PageCursor
from dispatcher.adapters import lifecycle_pb, review_pb, watch_log
from dispatcher.adapters import submissions as subs
from dispatcher.deps import Deps
from dispatcher.domain.bonuses import Bonus, GrantBonus
from dispatcher.domain.review import (
    AUTO_ACCEPT,
    AcceptSubmission,
    ListSubmissions,
    RejectSubmission,
    Submission,
    SubmissionStatus,
)
from dispatcher.handlers import changes

# A submission as its client reads it: with its bonuses.
Shown = tuple[Submission, list[Bonus]]


async def list_submissions(
    query: ListSubmissions, deps: Deps
) -> tuple[list[Shown], PageCursor | None]:
    """One page of the client's submissions of a task or project, oldest first. A task
    or project not the caller's is NOT_FOUND."""
    async with deps.pool.acquire() as conn:
        if query.task_id is not None:
            await changes.owned_task(conn, query.task_id, query.client_id, lock=False)
        if query.project_id is not None:
            await changes.own_project_id(conn, query.project_id, query.client_id)
        page, more = query.page(await subs.listed(conn, query))
        found = await subs.bonuses_of(conn, [s.submission_id for s in page])
    return [(s, found.get(s.submission_id, [])) for s in page], more


async def get_submission(submission_id: uuid.UUID, client_id: str, deps: Deps) -> Shown:
    async with deps.pool.acquire() as conn:
        await _owned(conn, submission_id, client_id, lock=False)
        return await _shown(conn, submission_id)


async def accept_submission(cmd: AcceptSubmission, deps: Deps) -> Shown:
    """Accept pending work, or rejected work with override_rejection within its revert
    window: SubmissionAccepted (the ledger pays it, once). Accepted work is returned
    as it is."""
    bind_contextvars(submission_id=str(cmd.submission_id))
    async with deps.pool.acquire() as conn, conn.transaction():
        await _stop_auto_accept(conn, cmd.submission_id)
        sub = await _owned(conn, cmd.submission_id, cmd.client_id)
        accepted = sub.accept(
            feedback=cmd.feedback, override=cmd.override_rejection, now=deps.clock.now()
        )
        if accepted is not sub:
            await store_acceptance(conn, sub, accepted, deps)
        return await _shown(conn, cmd.submission_id)


async def reject_submission(cmd: RejectSubmission, deps: Deps) -> Shown:
    """Reject pending work with feedback: SubmissionRejected, and the rejection can be
    overridden until its revert_until. The same rejection again is returned as it is."""
    bind_contextvars(submission_id=str(cmd.submission_id))
    async with deps.pool.acquire() as conn, conn.transaction():
        await _stop_auto_accept(conn, cmd.submission_id)
        sub = await _owned(conn, cmd.submission_id, cmd.client_id)
        now = deps.clock.now()
        rejected = sub.reject(
            feedback=cmd.feedback, now=now, window_seconds=deps.settings.revert_window_seconds
        )
        if rejected is not sub:
            task = await changes.locked_task(conn, sub.task_id)
            assert task is not None, "a submission always has its task"
            await subs.save_review(conn, rejected)
            event = review_pb.submission_rejected(rejected)
            await deps.publisher.publish(conn, event)
            seen = lifecycle_pb.watch_claim(
                "submission_rejected",
                event,
                client_id=task.client_id,
                project_id=task.project_id,
                task_id=task.task_id,
                at=now,
            )
            await changes.record(conn, task, task.reject_one(now=now), deps, events=[seen])
        return await _shown(conn, cmd.submission_id)


async def grant_bonus(cmd: GrantBonus, deps: Deps) -> tuple[Bonus, Shown]:
    """A bonus on one of the client's submissions (whatever its review): BonusGranted
    once per key, forever; the key again returns the same bonus."""
    bind_contextvars(submission_id=str(cmd.submission_id))
    async with deps.pool.acquire() as conn, conn.transaction():
        sub = await _owned(conn, cmd.submission_id, cmd.client_id)
        earlier = await subs.get_bonus(conn, cmd.bonus_id)
        if earlier is None:
            bonus = cmd.grant(sub, now=deps.clock.now())
            if await subs.insert_bonus(conn, bonus):
                event = review_pb.bonus_granted(bonus, sub)
                await deps.publisher.publish(conn, event)
                seen = lifecycle_pb.watch_claim(
                    "bonus_granted",
                    event,
                    client_id=sub.client_id,
                    project_id=sub.project_id,
                    task_id=sub.task_id,
                    at=bonus.granted_at,
                )
                await watch_log.append(conn, [seen])
                return bonus, await _shown(conn, sub.submission_id)
            # The key was just used by a copy naming another submission (this one's
            # copies wait on its lock): that one committed, and is read now.
            earlier = await subs.get_bonus(conn, cmd.bonus_id)
            assert earlier is not None, "a conflicting bonus is committed"
        return cmd.repeats(earlier), await _shown(conn, sub.submission_id)


async def auto_accept(conn: asyncpg.Connection, submission_id: uuid.UUID, deps: Deps) -> None:
    """The auto-accept delay passed: pending work is accepted; reviewed work stays."""
    sub = await subs.get(conn, submission_id, for_update=True)
    if sub is None:
        return
    accepted = sub.auto_accept(now=deps.clock.now())
    if accepted is not sub:
        await store_acceptance(conn, sub, accepted, deps)


async def store_acceptance(
    conn: asyncpg.Connection, before: Submission, after: Submission, deps: Deps
) -> None:
    """Every path to acceptance (client, auto-accept, override): the review stored, the
    task's counts, SubmissionAccepted, and the client's Watch log."""
    assert after.accepted_at is not None
    task = await changes.locked_task(conn, after.task_id)
    assert task is not None, "a submission always has its task"
    overriding = before.status is SubmissionStatus.REJECTED
    moved = task.accept_one(now=after.accepted_at, overriding=overriding)
    await subs.save_review(conn, after)
    event = review_pb.submission_accepted(after)
    await deps.publisher.publish(conn, event)
    seen = lifecycle_pb.watch_claim(
        "submission_accepted",
        event,
        client_id=task.client_id,
        project_id=task.project_id,
        task_id=task.task_id,
        at=after.accepted_at,
    )
    await changes.record(conn, task, moved, deps, events=[seen])


async def _stop_auto_accept(conn: asyncpg.Connection, submission_id: uuid.UUID) -> None:
    """Remove the auto-accept clock before the submission is locked: the order the
    clock takes them when it fires, so a firing in flight is waited for (and then
    found done), never deadlocked with. A refusal rolls this back with the rest."""
    await clock.cancel(conn, kind=AUTO_ACCEPT, ref=str(submission_id))


async def _owned(
    conn: asyncpg.Connection, submission_id: uuid.UUID, client_id: str, *, lock: bool = True
) -> Submission:
    """The caller's submission (locked, unless ``lock`` is False); another client's is
    NOT_FOUND, so existence never leaks."""
    sub = await subs.get(conn, submission_id, for_update=lock)
    if sub is None or sub.client_id != client_id:
        raise NotFound(f"submission {submission_id} not found")
    return sub


async def _shown(conn: asyncpg.Connection, submission_id: uuid.UUID) -> Shown:
    sub = await subs.get(conn, submission_id, with_result=True)
    assert sub is not None
    found = await subs.bonuses_of(conn, [submission_id])
    return sub, found.get(submission_id, [])
