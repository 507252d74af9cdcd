"""Storing a recounted score, for every measure: the one place a score is written and
its change published.

A score whose value changes publishes ScoreChanged through the outbox, in the caller's
transaction, for the matcher to route work by (docs/quality.md, "Scores that route
work"); counts that move under the same value are stored and publish nothing. Every
recount, changed or not, evaluates the project's rules on the measure (``sanctions``).
"""

from __future__ import annotations

import asyncpg

from crewline.log import get_logger
from quality.adapters import protobuf as pb
from quality.adapters import scores
from quality.deps import Deps
from quality.domain.scores import Measure, Score, acceptance_tally
from quality.handlers import sanctions

log = get_logger(__name__)


async def rescore(
    conn: asyncpg.Connection,
    latest: list[bool],
    *,
    measure: Measure,
    contractor_id: str,
    project_id: str,
    client_id: str,
    deps: Deps,
) -> None:
    """Store the score over ``latest`` (outcomes, newest first, at least the window's),
    under ``scores.lock_window``, which the caller holds."""
    window = deps.settings.score_window
    score = Score.of(
        acceptance_tally(latest, window=window),
        contractor_id=contractor_id,
        project_id=project_id,
        client_id=client_id,
        updated_at=deps.clock.now(),
        measure=measure,
    )
    saved = await scores.save(conn, score)
    if saved is not None:
        await _changed(conn, score, saved, deps)
    # Unchanged counts may still rest on a newer item (the window slid): rules look.
    await sanctions.on_score(conn, score, deps)


async def _changed(conn: asyncpg.Connection, score: Score, saved: scores.Saved, deps: Deps) -> None:
    deps.metrics.score_changed(score.measure)
    log.info(
        "score_changed",
        measure=score.measure.value,
        value=score.value,
        accepted=score.accepted,
        reviewed=score.reviewed,
        version=saved.version,
    )
    if saved.new_value:
        # Only a new value routes work differently: the matcher re-evaluates eligibility.
        await deps.publisher.publish(conn, pb.score_changed(score, version=saved.version))
