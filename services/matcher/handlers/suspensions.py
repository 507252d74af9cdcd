"""Quality sanctions that suspend a contractor in a project: held as a block of the
contractor in the project (``sanction:<sanction_id>``) while active, lifted when the
sanction ends or an upheld appeal lifts it. Operators' blocks are untouched, and they
cannot take, lift or answer for a sanction's block (``domain/blocks``)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from crewline.consumer import EventContext
from crewline.log import bind_contextvars, get_logger
from crewline.v1 import events_pb2
from matcher.adapters import sanction_protobuf as pb
from matcher.adapters import suspensions
from matcher.deps import Deps
from matcher.domain.suspensions import Suspension
from matcher.handlers import blocks
from matcher.handlers.contractors import existing

log = get_logger(__name__)


async def on_sanction_changed(
    conn: asyncpg.Connection, event: events_pb2.SanctionChanged, ctx: EventContext, *, deps: Deps
) -> None:
    """Keep the newest version of a suspension and place or lift its block in the same
    transaction, as an operator's block is: the eligibility index drops or regains the
    project, live streams lose or regain its offers, ClaimTask answers BLOCKED while it
    holds. Claims already granted run on, as under any block. A repeated or older
    version changes nothing; other actions are not the matcher's."""
    if not pb.suspends(event):
        return
    suspension = pb.suspension(event)
    bind_contextvars(contractor_id=suspension.contractor_id)
    now = deps.clock.now()
    if suspension.in_force:
        # Unknown here, the contractor could not have worked to be sanctioned: a dead
        # letter, to replay once they are (a block needs its contractor).
        await existing(conn, suspension.contractor_id)
    if not await suspensions.save(conn, suspension, now=now):
        log.info(
            "suspension_already_known",
            sanction_id=suspension.sanction_id,
            version=suspension.version,
        )
        return
    changed = await _apply(conn, suspension, now=now, deps=deps)
    log.info(
        "suspension_applied",
        sanction_id=suspension.sanction_id,
        project_id=suspension.project_id,
        state=suspension.state.value,
        version=suspension.version,
        block_changed=changed,
    )


async def _apply(
    conn: asyncpg.Connection, suspension: Suspension, *, now: datetime, deps: Deps
) -> bool:
    """Place or lift the suspension's block; whether the block changed."""
    if suspension.in_force:
        # Unchanged when the block exists: placed by an earlier version, or lifted
        # already (a lifted block is never placed again).
        return await blocks.place(conn, suspension.block(now=now), deps)
    # No block: it ended before its imposition reached this matcher, which now never
    # places it (the ended version is kept, and the imposition is older).
    return await blocks.lift(conn, suspension.block_id, now=now, deps=deps)
