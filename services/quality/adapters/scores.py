"""Reviews and scores in SQL. Every function runs on the caller's connection (the
consumer's transaction, for the writes)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from quality.domain.queries import ScoreQuery
from quality.domain.reviews import ReviewOutcome
from quality.domain.scores import Measure, Score

# Merge: accepted is final, the first review keeps the submission's place. Nothing is
# written (and nothing returned) when the event teaches nothing new: a redelivery, or
# a rejection after its override. The feedback kept is the final outcome's.
_RECORD = """
INSERT INTO reviewed_submissions AS r
    (submission_id, task_id, contractor_id, client_id, project_id, accepted, overridden,
     reviewed_at, feedback)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nullif($9, ''))
ON CONFLICT (submission_id) DO UPDATE SET
    accepted = r.accepted OR EXCLUDED.accepted,
    overridden = r.overridden OR EXCLUDED.overridden,
    reviewed_at = LEAST(r.reviewed_at, EXCLUDED.reviewed_at),
    feedback = CASE WHEN EXCLUDED.accepted AND NOT r.accepted THEN EXCLUDED.feedback
        ELSE coalesce(r.feedback, EXCLUDED.feedback) END
WHERE (EXCLUDED.accepted AND NOT r.accepted)
   OR (EXCLUDED.overridden AND NOT r.overridden)
   OR EXCLUDED.reviewed_at < r.reviewed_at
RETURNING 1
"""


async def lock_window(conn: asyncpg.Connection, contractor_id: str, project_id: str) -> None:
    """Until the transaction ends, no other one recounts this contractor's windows in this
    project, or issues them gold there: two reviews of the same window on two partitions
    would each count without the other's and the last to write would lose one, and two
    claims would each see no gold open and both issue some."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))",
        contractor_id,
        project_id,
    )


async def record(conn: asyncpg.Connection, outcome: ReviewOutcome, *, feedback: str = "") -> bool:
    """Merge the outcome (and the client's ``feedback``, kept as evidence) into its
    submission's row; whether that changed anything."""
    changed = await conn.fetchval(
        _RECORD,
        outcome.submission_id,
        outcome.task_id,
        outcome.contractor_id,
        outcome.client_id,
        outcome.project_id,
        outcome.accepted,
        outcome.overrides,
        outcome.reviewed_at,
        feedback,
    )
    return changed is not None


async def review_of(conn: asyncpg.Connection, submission_id: str) -> bool | None:
    """Whether the submission was accepted (as merged: acceptance is final); None when
    no review of it is known."""
    found: bool | None = await conn.fetchval(
        "SELECT accepted FROM reviewed_submissions WHERE submission_id = $1", submission_id
    )
    return found


async def latest(
    conn: asyncpg.Connection, contractor_id: str, project_id: str, *, limit: int
) -> list[bool]:
    """The contractor's latest ``limit`` outcomes in the project, newest first."""
    rows = await conn.fetch(
        "SELECT accepted FROM reviewed_submissions"
        " WHERE contractor_id = $1 AND project_id = $2"
        " ORDER BY reviewed_at DESC, submission_id DESC LIMIT $3",
        contractor_id,
        project_id,
        limit,
    )
    return [r["accepted"] for r in rows]


@dataclass(frozen=True)
class Saved:
    """A score stored with other counts: ``version`` is its value's, and ``new_value``
    says whether the value itself changed (or is the first)."""

    version: int
    new_value: bool


# The CTE reads the row as it was before the upsert (one snapshot for the statement),
# so one round trip says whether the value moved; lock_window keeps others out.
_SAVE = """
WITH before AS (
    SELECT value FROM scores WHERE contractor_id = $1 AND project_id = $2 AND measure = $3
)
INSERT INTO scores AS s (contractor_id, project_id, measure, client_id, accepted, reviewed,
    window_size, value, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)
ON CONFLICT (contractor_id, project_id, measure) DO UPDATE SET
    accepted = EXCLUDED.accepted, reviewed = EXCLUDED.reviewed,
    window_size = EXCLUDED.window_size, value = EXCLUDED.value,
    updated_at = EXCLUDED.updated_at,
    version = s.version + (s.value <> EXCLUDED.value)::int
WHERE (s.accepted, s.reviewed, s.window_size, s.value)
    IS DISTINCT FROM (EXCLUDED.accepted, EXCLUDED.reviewed, EXCLUDED.window_size, EXCLUDED.value)
RETURNING s.version, (SELECT value FROM before) AS before
"""


async def save(conn: asyncpg.Connection, score: Score) -> Saved | None:
    """Store the score; None when neither its value nor its counts changed (nothing is
    written, and its updated_at stays)."""
    row = await conn.fetchrow(
        _SAVE,
        score.contractor_id,
        score.project_id,
        score.measure.value,
        score.client_id,
        score.accepted,
        score.reviewed,
        score.window,
        score.value,
        score.updated_at,
    )
    if row is None:
        return None
    return Saved(version=row["version"], new_value=row["before"] != score.value)


async def find(conn: asyncpg.Connection, query: ScoreQuery) -> list[Score]:
    """The scores ``query`` selects, by project and measure, at most ``limit + 1`` (the
    extra one tells a next page follows)."""
    after = query.after
    rows = await conn.fetch(
        "SELECT * FROM scores WHERE contractor_id = $1"
        " AND ($2::text IS NULL OR client_id = $2)"
        " AND ($3::text IS NULL OR project_id = $3)"
        " AND ($4::text IS NULL OR (project_id, measure) > ($4, $5))"
        " ORDER BY project_id, measure LIMIT $6",
        query.contractor_id,
        query.client_id,
        query.project_id,
        after.project_id if after else None,
        after.measure.value if after else None,
        query.limit + 1,
    )
    return [
        Score(
            contractor_id=r["contractor_id"],
            project_id=r["project_id"],
            client_id=r["client_id"],
            measure=Measure(r["measure"]),
            accepted=r["accepted"],
            reviewed=r["reviewed"],
            window=r["window_size"],
            value=r["value"],
            updated_at=r["updated_at"],
        )
        for r in rows
    ]
