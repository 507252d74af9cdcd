"""Disputes of gold keys: contractors dispute the key of gold a sanction showed them, the
project's client corrects the key or dismisses the dispute. Who may call each is the
access policy in ``entrypoints/grpc_api.py``; a dispute the caller may not see is
NOT_FOUND, as one that does not exist, and a task that is not revealed gold of the
caller's is the one NOT_FOUND of ``task_not_found``, whatever it is.

Every filing and resolution publishes DisputeChanged (without the gold task's id)
through the outbox, in the transaction that stores it. A correction's consequences are
``corrections.correct``'s. Logs carry ids only: never a note, an answer or a key.
"""

from __future__ import annotations

from dataclasses import replace

import asyncpg

from crewline.errors import Aborted, AlreadyExists
from crewline.log import get_logger
from crewline.paging import split_page
from quality.adapters import disputes as disputes_db
from quality.adapters import disputes_pb, gold_tasks
from quality.deps import Deps
from quality.domain.disputes import (
    Dispute,
    DisputeQuery,
    FileDispute,
    ResolveDispute,
    Target,
    not_found,
    page_token,
    task_not_found,
)
from quality.handlers import corrections
from quality.handlers.projects import own_project

log = get_logger(__name__)


async def file_dispute(cmd: FileDispute, deps: Deps) -> Dispute:
    """The new dispute, or the one this idempotency key filed before."""
    async with deps.pool.acquire() as conn, conn.transaction():
        earlier = await disputes_db.get(conn, cmd.dispute_id)
        if earlier is not None:
            return cmd.repeats(earlier)
        target = await disputes_db.revealed(conn, cmd.task_id, cmd.contractor_id)
        if target is None:
            raise task_not_found()
        earlier = await _open_dispute(conn, cmd, target)
        if earlier is not None:
            return earlier
        dispute = cmd.file(target, now=deps.clock.now())
        seq = await disputes_db.insert(conn, dispute)
        if seq is None:  # a request committing meanwhile took the key or the gold task
            return await _lost_race(conn, cmd, target)
        dispute = replace(dispute, seq=seq)
        await deps.publisher.publish(conn, disputes_pb.dispute_changed(dispute))
    deps.metrics.disputes_filed.inc()
    log.info(
        "dispute_filed",
        dispute_id=str(dispute.dispute_id),
        contractor_id=dispute.contractor_id,
        project_id=dispute.project_id,
        task_id=dispute.task_id,
    )
    return dispute


async def _open_dispute(
    conn: asyncpg.Connection, cmd: FileDispute, target: Target
) -> Dispute | None:
    """None when the contractor has no open dispute of the gold task. One filed under
    this key (committed since this request looked) is a repeat; any other is
    ALREADY_EXISTS."""
    existing = await disputes_db.open_of(conn, cmd.contractor_id, target.gold_id)
    if existing is None:
        return None
    if existing.dispute_id == cmd.dispute_id:
        return cmd.repeats(existing)
    raise AlreadyExists(
        f"task_id: task {cmd.task_id} has an open dispute already, dispute {existing.dispute_id}",
        metadata={"field": "task_id"},
    )


async def _lost_race(conn: asyncpg.Connection, cmd: FileDispute, target: Target) -> Dispute:
    earlier = await disputes_db.get(conn, cmd.dispute_id) or await _open_dispute(conn, cmd, target)
    if earlier is not None:
        return cmd.repeats(earlier)
    raise Aborted("another dispute was filed at the same time: retry")


async def resolve_dispute(cmd: ResolveDispute, deps: Deps) -> Dispute:
    """The dispute resolved; as it was when it was resolved so already."""
    async with deps.pool.acquire() as conn, conn.transaction():
        found = await disputes_db.get(conn, cmd.dispute_id, client_id=cmd.client_id)
        if found is None:
            raise not_found(cmd.dispute_id)
        # The gold task first: a correction resolves every open dispute of it.
        await gold_tasks.lock(conn, found.gold_id)
        dispute = await disputes_db.get(conn, cmd.dispute_id, for_update=True)
        assert dispute is not None  # disputes are never deleted
        if dispute.already(cmd.correction):
            return dispute
        if cmd.correction is None:
            resolved = [dispute.resolved(correction=None, note=cmd.note, now=deps.clock.now())]
        else:
            resolved = await corrections.correct(conn, dispute, cmd.correction, cmd.note, deps)
        for each in resolved:
            await disputes_db.save_resolution(conn, each)
            await deps.publisher.publish(conn, disputes_pb.dispute_changed(each))
            deps.metrics.dispute_resolved(each.state.value)
    [mine] = [d for d in resolved if d.dispute_id == dispute.dispute_id]
    log.info(
        "dispute_resolved",
        dispute_id=str(mine.dispute_id),
        state=mine.state.value,
        disputes=len(resolved),
        accepted_submissions=len(mine.accepted_submission_ids),
        overturned_sanctions=len(mine.overturned_sanction_ids),
    )
    return mine


async def list_disputes(query: DisputeQuery, deps: Deps) -> tuple[list[Dispute], str]:
    """A page of disputes and the next page's token ("" after the last). A project named
    must be the caller's (any, for an operator), else it is NOT_FOUND as an unknown one."""
    async with deps.pool.acquire() as conn:
        if query.project_id is not None:
            await own_project(conn, query.project_id, query.client_id)
        found = await disputes_db.find(conn, query)
    page, last = split_page(found, query.limit)
    return page, page_token(last)
