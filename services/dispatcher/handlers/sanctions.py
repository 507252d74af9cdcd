"""What the dispatcher does with the quality service's sanctions, appeals and disputes of
gold keys.

A review-everything sanction holds the contractor's new work in its project for the
client's review (``held``, called where work is stored); every change of a sanction,
an appeal or a dispute goes into the project's client's Watch; an upheld appeal and a
corrected gold key are rulings that turn the rejections they name into acceptances,
through the path every acceptance takes (``review.store_acceptance``:
SubmissionAccepted once, which the ledger pays once).

Each handler runs in the consumer's transaction. Each recognises a repeat itself (a
sanction's version, an appeal's or a dispute's state), so a redelivery changes
nothing, the Watch log included, even without the inbox.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from crewline.consumer import EventContext
from crewline.log import bind_contextvars, get_logger
from crewline.v1 import events_pb2
from dispatcher.adapters import lifecycle_pb, sanctions_pb, watch_log
from dispatcher.adapters import sanctions as repo
from dispatcher.adapters import submissions as subs
from dispatcher.deps import Deps
from dispatcher.domain import sanctions
from dispatcher.domain.review import Submission
from dispatcher.domain.sanctions import Ruling
from dispatcher.handlers import review

log = get_logger(__name__)


async def held(conn: asyncpg.Connection, sub: Submission, *, now: datetime) -> Submission:
    """The submission about to be stored, held for its client's review (no auto-accept
    time) when a review-everything sanction of its contractor in its project holds now."""
    found = await repo.reviewing_all(conn, sub.contractor_id, sub.project_id)
    sanction = sanctions.holds(found, now)
    if sanction is None:
        return sub
    log.info("submission_held_for_review", sanction_id=sanction.sanction_id)
    return sub.held_for_review()


async def on_sanction_changed(
    conn: asyncpg.Connection, event: events_pb2.SanctionChanged, ctx: EventContext, *, deps: Deps
) -> None:
    """Keep the sanction's newest version (only review-everything ones act here, through
    ``held``), and show the change to the project's client. An older version or a
    redelivery changes nothing."""
    sanction = sanctions_pb.sanction(event)
    bind_contextvars(sanction_id=sanction.sanction_id, project_id=sanction.project_id)
    now = deps.clock.now()
    if not await repo.keep(conn, sanction, now=now):
        log.info("sanction_change_seen", version=sanction.version)
        return
    shown = sanctions_pb.watched_sanction(event)
    await _show(conn, "sanction_changed", shown, sanction.project_id, now=now)


async def on_appeal_changed(
    conn: asyncpg.Connection, event: events_pb2.AppealChanged, ctx: EventContext, *, deps: Deps
) -> None:
    """Show the appeal's change to the project's client and, when it is upheld, accept
    the rejections it names. A state seen before changes nothing."""
    appeal = sanctions_pb.appeal(event)
    bind_contextvars(appeal_id=appeal.appeal_id, project_id=appeal.project_id)
    now = deps.clock.now()
    if not await repo.note_appeal(conn, appeal, now=now):
        log.info("appeal_change_seen", state=appeal.state.value)
        return
    await _show(conn, "appeal_changed", event, appeal.project_id, now=now)
    if appeal.ruling is not None:
        await _accept(conn, appeal.ruling, deps)


async def on_dispute_changed(
    conn: asyncpg.Connection, event: events_pb2.DisputeChanged, ctx: EventContext, *, deps: Deps
) -> None:
    """Show the dispute's change to the project's client and, when the key was
    corrected, accept the rejections it names (anyone's in the project). A state seen
    before changes nothing."""
    dispute = sanctions_pb.dispute(event)
    bind_contextvars(dispute_id=dispute.dispute_id, project_id=dispute.project_id)
    now = deps.clock.now()
    if not await repo.note_dispute(conn, dispute, now=now):
        log.info("dispute_change_seen", state=dispute.state.value)
        return
    await _show(conn, "dispute_changed", event, dispute.project_id, now=now)
    if dispute.ruling is not None:
        await _accept(conn, dispute.ruling, deps)


async def _accept(conn: asyncpg.Connection, ruling: Ruling, deps: Deps) -> None:
    """Each named submission still rejected becomes accepted by the ruling, whatever its
    revert window; an accepted or pending one is left as it is, and one that is unknown
    or outside the ruling (another project; for an appeal, another contractor's) is
    skipped. Locked one by one in id order: the submission, then its task, as a
    client's acceptance locks them."""
    for submission_id in ruling.submission_ids:
        sub = await subs.get(conn, submission_id, for_update=True)
        if sub is None or not ruling.covers(sub):
            log.warning("ruling_submission_skipped", submission_id=str(submission_id))
            continue
        accepted = sub.accept_by_ruling(ruling.by, note=ruling.note, now=deps.clock.now())
        if accepted is sub:
            log.info("ruling_submission_not_rejected", submission_id=str(submission_id))
            continue
        await review.store_acceptance(conn, sub, accepted, deps)
        log.info(
            "submission_accepted_by_ruling", submission_id=str(submission_id), by=ruling.by.value
        )


async def _show(
    conn: asyncpg.Connection,
    name: lifecycle_pb.ProjectEvent,
    event: events_pb2.SanctionChanged | events_pb2.AppealChanged | events_pb2.DisputeChanged,
    project_id: str,
    *,
    now: datetime,
) -> None:
    """Log the change for the project's own client (not the client the event names:
    the dispatcher's record of the project decides who sees it). A project the
    dispatcher does not hold has no one to show it to."""
    client_id = await repo.client_of(conn, project_id)
    if client_id is None:
        log.warning("quality_change_of_unknown_project")
        return
    entry = lifecycle_pb.watch_project(
        name, event, client_id=client_id, project_id=project_id, at=now
    )
    await watch_log.append(conn, [entry])
