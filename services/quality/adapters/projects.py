"""Projects and their quality policies in SQL, on the caller's connection."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from crewline.answers import from_json, to_json
from quality.domain.issuing import QualityPolicy
from quality.domain.projects import Project, ProjectState

# The highest revision wins: a redelivery or an older revision writes nothing.
_SAVE = """
INSERT INTO projects AS p (project_id, client_id, revision, state, task_lifetime_seconds,
    answer_spec_version, answer_spec)
VALUES ($1, $2, $3, $4, $5, $6, $7::json)
ON CONFLICT (project_id) DO UPDATE SET
    client_id = EXCLUDED.client_id, revision = EXCLUDED.revision, state = EXCLUDED.state,
    task_lifetime_seconds = EXCLUDED.task_lifetime_seconds,
    answer_spec_version = EXCLUDED.answer_spec_version, answer_spec = EXCLUDED.answer_spec
WHERE p.revision < EXCLUDED.revision
RETURNING 1
"""


async def save(conn: asyncpg.Connection, project: Project) -> bool:
    """Keep this revision unless a later one is kept; whether it was."""
    spec = project.answer_spec
    saved = await conn.fetchval(
        _SAVE,
        project.project_id,
        project.client_id,
        project.revision,
        project.state.value,
        project.task_lifetime_seconds,
        project.answer_spec_version,
        json.dumps(to_json(spec)) if spec is not None else None,
    )
    return saved is not None


async def get(
    conn: asyncpg.Connection, project_id: str, *, client_id: str | None = None
) -> Project | None:
    """The project; None when it is not known, or not ``client_id``'s (when given)."""
    row = await conn.fetchrow(
        "SELECT * FROM projects WHERE project_id = $1 AND ($2::text IS NULL OR client_id = $2)",
        project_id,
        client_id,
    )
    if row is None:
        return None
    spec = row["answer_spec"]
    return Project(
        project_id=row["project_id"],
        client_id=row["client_id"],
        revision=row["revision"],
        state=ProjectState(row["state"]),
        task_lifetime_seconds=row["task_lifetime_seconds"],
        answer_spec=from_json(json.loads(spec)) if spec is not None else None,
        answer_spec_version=row["answer_spec_version"],
    )


async def policy(conn: asyncpg.Connection, project_id: str) -> QualityPolicy:
    """The project's policy, with the defaults where it set nothing."""
    share = await conn.fetchval(
        "SELECT gold_share_percent FROM quality_policies WHERE project_id = $1", project_id
    )
    if share is None:
        return QualityPolicy(project_id=project_id)
    return QualityPolicy(project_id=project_id, gold_share_percent=share)


async def set_policy(
    conn: asyncpg.Connection, project_id: str, *, gold_share_percent: int | None, at: datetime
) -> None:
    """Set the fields given; a None keeps the stored value."""
    await conn.execute(
        "INSERT INTO quality_policies AS q (project_id, gold_share_percent, updated_at)"
        " VALUES ($1, $2, $3) ON CONFLICT (project_id) DO UPDATE SET"
        " gold_share_percent = coalesce(EXCLUDED.gold_share_percent, q.gold_share_percent),"
        " updated_at = EXCLUDED.updated_at",
        project_id,
        gold_share_percent,
        at,
    )
