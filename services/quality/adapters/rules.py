"""A project's rules in SQL, and the policy writes an update mask needs, on the caller's
connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from quality.domain.rules import Rule, RuleAction, RuleMeasure


async def of_project(
    conn: asyncpg.Connection, project_id: str, *, measure: RuleMeasure | None = None
) -> tuple[Rule, ...]:
    """The project's rules in the client's order (only ``measure``'s, when given)."""
    rows = await conn.fetch(
        "SELECT * FROM quality_rules WHERE project_id = $1"
        " AND ($2::text IS NULL OR measure = $2) ORDER BY position",
        project_id,
        measure.value if measure is not None else None,
    )
    return tuple(_rule(r) for r in rows)


async def replace(conn: asyncpg.Connection, project_id: str, rules: Sequence[Rule]) -> None:
    """The project's rules become ``rules`` (none: every rule is removed)."""
    await conn.execute("DELETE FROM quality_rules WHERE project_id = $1", project_id)
    await conn.executemany(
        "INSERT INTO quality_rules (project_id, position, rule_id, measure, below, above,"
        " min_sample, action, duration_seconds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            (
                project_id,
                i,
                r.rule_id,
                r.measure.value,
                r.below,
                r.above,
                r.min_sample,
                r.action.value,
                int(r.duration.total_seconds()) if r.duration is not None else None,
            )
            for i, r in enumerate(rules)
        ],
    )


async def set_share(
    conn: asyncpg.Connection, project_id: str, share: int | None, *, at: datetime
) -> None:
    """Set the gold share exactly: None goes back to the default."""
    await conn.execute(
        "INSERT INTO quality_policies AS q (project_id, gold_share_percent, updated_at)"
        " VALUES ($1, $2, $3) ON CONFLICT (project_id) DO UPDATE SET"
        " gold_share_percent = EXCLUDED.gold_share_percent, updated_at = EXCLUDED.updated_at",
        project_id,
        share,
        at,
    )


def _rule(row: asyncpg.Record) -> Rule:
    seconds = row["duration_seconds"]
    return Rule(
        rule_id=row["rule_id"],
        measure=RuleMeasure(row["measure"]),
        below=row["below"],
        above=row["above"],
        min_sample=row["min_sample"],
        action=RuleAction(row["action"]),
        duration=timedelta(seconds=seconds) if seconds is not None else None,
    )
