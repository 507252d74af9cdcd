"""Appeals: contractors file them, clients and operators decide, and the deadline
clock upholds one nobody decided. Who may call each is the access policy in
``entrypoints/grpc_api.py``; an appeal or subject the caller may not see is NOT_FOUND,
as one that does not exist.

Every filing and decision publishes AppealChanged (the whole appeal) through the
outbox, in the transaction that stores it. Upheld, a sanction still in force is
lifted, the gold answers it rests on are voided and gold accuracy recounted, and the
rejections it (or the appeal itself) names are listed for the dispatcher to accept.
Logs carry ids only: never the appeal's text or the decision's note.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from functools import partial

import asyncpg

from crewline import clock
from crewline.clock import Deadline, DeadlineHandler
from crewline.errors import Aborted, AlreadyExists
from crewline.log import get_logger
from crewline.paging import split_page
from quality.adapters import appeals, appeals_pb, sanctions
from quality.deps import Deps
from quality.domain.appeals import (
    APPEAL_DEADLINE,
    Appeal,
    AppealQuery,
    AppealState,
    DecideAppeal,
    Decider,
    FileAppeal,
    SubjectKind,
    Target,
    not_found,
    page_token,
)
from quality.domain.sanctions import Sanction, SanctionState
from quality.handlers import sanctions as sanction_handlers
from quality.handlers.issuing import recount_gold
from quality.handlers.projects import own_project

log = get_logger(__name__)


async def file_appeal(cmd: FileAppeal, deps: Deps) -> Appeal:
    """The new appeal, or the one this idempotency key filed before."""
    async with deps.pool.acquire() as conn, conn.transaction():
        earlier = await appeals.get(conn, cmd.appeal_id)
        if earlier is not None:
            return cmd.repeats(earlier)
        target = await _target(conn, cmd)
        earlier = await _subjects_appeal(conn, cmd)
        if earlier is not None:
            return earlier
        settings = deps.settings
        appeal = cmd.file(
            target,
            now=deps.clock.now(),
            window=settings.appeal_window_seconds,
            decision=settings.appeal_decision_seconds,
        )
        seq = await appeals.insert(conn, appeal)
        if seq is None:  # a request committing meanwhile took the key or the subject
            return await _lost_race(conn, cmd)
        appeal = replace(appeal, seq=seq)
        ref = str(appeal.appeal_id)
        await clock.schedule(conn, kind=APPEAL_DEADLINE, ref=ref, due_at=appeal.decide_by)
        await deps.publisher.publish(conn, appeals_pb.appeal_changed(appeal))
    log.info(
        "appeal_filed",
        appeal_id=ref,
        contractor_id=appeal.contractor_id,
        project_id=appeal.project_id,
        subject=appeal.subject.kind.value,
        subject_id=appeal.subject.id,
    )
    return appeal


async def _target(conn: asyncpg.Connection, cmd: FileAppeal) -> Target:
    """The subject, if it is the caller's and may be appealed; the same NOT_FOUND
    otherwise, whatever the reason."""
    subject = cmd.subject
    if subject.kind is SubjectKind.SUBMISSION:
        target = await appeals.rejection(conn, subject.id, cmd.contractor_id)
        if target is None:
            raise subject.not_found()
        return target
    sanction = await sanctions.get(conn, uuid.UUID(subject.id))
    if sanction is None or sanction.contractor_id != cmd.contractor_id:
        raise subject.not_found()
    return Target(
        project_id=sanction.project_id, client_id=sanction.client_id, since=sanction.imposed_at
    )


async def _subjects_appeal(conn: asyncpg.Connection, cmd: FileAppeal) -> Appeal | None:
    """None when the subject has no appeal yet. One filed under this key (committed since
    this request looked for it) is returned as a repeat; any other is ALREADY_EXISTS."""
    existing = await appeals.of_subject(conn, cmd.subject)
    if existing is None:
        return None
    if existing.appeal_id == cmd.appeal_id:
        return cmd.repeats(existing)
    field = cmd.subject.field
    raise AlreadyExists(
        f"{field}: {cmd.subject.kind.value} {cmd.subject.id} was appealed already,"
        f" in appeal {existing.appeal_id}",
        metadata={"field": field},
    )


async def _lost_race(conn: asyncpg.Connection, cmd: FileAppeal) -> Appeal:
    """What the request that committed first filed, as this one would have met it had
    it come later (each statement reads what has committed, so it is there to read)."""
    earlier = await appeals.get(conn, cmd.appeal_id) or await _subjects_appeal(conn, cmd)
    if earlier is not None:
        return cmd.repeats(earlier)
    raise Aborted("another appeal was filed at the same time: retry")


async def decide_appeal(cmd: DecideAppeal, deps: Deps) -> Appeal:
    """The appeal decided; as it was when it was decided so already."""
    async with deps.pool.acquire() as conn, conn.transaction():
        appeal = await appeals.get(conn, cmd.appeal_id, client_id=cmd.client_id, for_update=True)
        if appeal is None:
            raise not_found(cmd.appeal_id)
        decided = await _decide(
            conn, appeal, uphold=cmd.uphold, by=cmd.by, note=cmd.note, deps=deps
        )
        if decided is None:
            return appeal
        await clock.cancel(conn, kind=APPEAL_DEADLINE, ref=str(appeal.appeal_id))
    return decided


async def deadline_passed(conn: asyncpg.Connection, deadline: Deadline, *, deps: Deps) -> None:
    """Nobody decided in time: the appeal is upheld. One decided meanwhile stays."""
    appeal = await appeals.get(conn, uuid.UUID(deadline.ref), for_update=True)
    if appeal is None or appeal.state is not AppealState.PENDING:
        return
    await _decide(conn, appeal, uphold=True, by=Decider.DEADLINE, note="", deps=deps)


def deadline_routes(deps: Deps) -> dict[str, DeadlineHandler]:
    """The appeal clocks' handlers, for the service's DeadlineClock."""
    return {APPEAL_DEADLINE: partial(deadline_passed, deps=deps)}


async def _decide(
    conn: asyncpg.Connection, appeal: Appeal, *, uphold: bool, by: Decider, note: str, deps: Deps
) -> Appeal | None:
    """Decide the locked appeal, with what upholding it does, store and publish it."""
    decided = appeal.decide(uphold=uphold, by=by, note=note, now=deps.clock.now())
    if decided is None:
        return None
    if decided.state is AppealState.UPHELD:
        decided = replace(decided, accepted_submission_ids=await _uphold(conn, appeal, deps))
    await appeals.save_decision(conn, decided)
    await deps.publisher.publish(conn, appeals_pb.appeal_changed(decided))
    log.info(
        "appeal_decided",
        appeal_id=str(appeal.appeal_id),
        state=decided.state.value,
        decided_by=by.value,
        accepted_submissions=len(decided.accepted_submission_ids),
    )
    return decided


async def _uphold(conn: asyncpg.Connection, appeal: Appeal, deps: Deps) -> tuple[str, ...]:
    """Undo what the subject did; the rejections to turn into acceptances."""
    if appeal.subject.kind is SubjectKind.SUBMISSION:
        return (appeal.subject.id,)
    sanction = await sanctions.get(conn, uuid.UUID(appeal.subject.id), for_update=True)
    if sanction is None:  # not deleted, ever: nothing to undo if it were
        log.warning("appealed_sanction_missing", appeal_id=str(appeal.appeal_id))
        return ()
    return await undo_sanction(conn, sanction, deps)


async def undo_sanction(
    conn: asyncpg.Connection, sanction: Sanction, deps: Deps
) -> tuple[str, ...]:
    """What an upheld appeal of a sanction and a sanction overturned by a corrected gold
    key share: lifted if still in force (an ended one stays ended), the gold answers of
    its evidence voided and gold accuracy recounted. The rejections to turn into
    acceptances. ``sanction`` was read ``for_update`` in the caller's transaction."""
    if sanction.state is SanctionState.ACTIVE:
        sanction = await sanction_handlers.lift(conn, sanction, deps=deps)
    gold = [e.submission_id for e in sanction.evidence if e.kind == "gold"]
    if gold:
        await appeals.void_gold(conn, sanction.contractor_id, gold)
        await recount_gold(
            conn,
            contractor_id=sanction.contractor_id,
            project_id=sanction.project_id,
            client_id=sanction.client_id,
            deps=deps,
        )
    # The rejections the sanction rested on, and those of the gold work it judged wrong
    # (a client may have rejected it for the answers the sanction counted): the appeal
    # says they were judged unfairly. Time-flag evidence is not a judgement of the work.
    judged = [e.submission_id for e in sanction.evidence if e.kind in ("gold", "review")]
    return tuple(await appeals.still_rejected(conn, sanction.contractor_id, judged))


async def list_appeals(query: AppealQuery, deps: Deps) -> tuple[list[Appeal], str]:
    """A page of appeals and the next page's token ("" after the last). A project named
    must be the caller's (any, for an operator), else it is NOT_FOUND as an unknown one."""
    async with deps.pool.acquire() as conn:
        if query.project_id is not None:
            await own_project(conn, query.project_id, query.client_id)
        found = await appeals.find(conn, query)
    page, last = split_page(found, query.limit)
    return page, page_token(last)
