"""Quality scores, as the quality service announces them: held like score
qualifications, so a changed score re-evaluates who may take which project's work."""

from __future__ import annotations

import asyncpg

from crewline.consumer import EventContext
from crewline.log import bind_contextvars, get_logger
from crewline.v1 import events_pb2
from matcher.adapters import eligibility, scores
from matcher.adapters import protobuf as pb
from matcher.deps import Deps

log = get_logger(__name__)


async def on_score_changed(
    conn: asyncpg.Connection, event: events_pb2.ScoreChanged, ctx: EventContext, *, deps: Deps
) -> None:
    """Keep the newest version of the score and refresh the contractor's eligibility in
    the same transaction, when a project requires that score: offer streams gain or
    lose the projects it opens or closes through the index's signals. A repeated or
    older version changes nothing. A score of a contractor this matcher does not know
    yet is kept, and counts once they are here."""
    score = pb.measured_score(event)
    bind_contextvars(contractor_id=score.contractor_id)
    if not await scores.save(conn, score):
        log.info("score_already_known", measure=score.measure, version=score.version)
        return
    change = await eligibility.refresh_for_score(
        conn, score.contractor_id, score.measure, score.project_id
    )
    log.info(
        "score_applied",
        measure=score.measure,
        measured_in=score.project_id,
        value=score.value,
        version=score.version,
        required=change is not None,
        gained=len(change.gained) if change else 0,
        lost=len(change.lost) if change else 0,
    )
