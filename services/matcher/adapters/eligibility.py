"""The eligibility index: which projects each contractor may see and claim.

One row per (contractor, project) for every active, unblocked contractor who meets
the project's requirements. Whatever changes an input (a qualification, a quality
score, a block, a contractor's activity, a project's requirements) calls a refresh in
the same transaction. Refreshes take one advisory lock, so two concurrent changes (a
grant and a new requirement) cannot each miss the other: the later one reads both.
Listing a contractor's offers and finding a task's audience read the index by key,
never scanning every task or every contractor.

Quality scores (``contractor_scores``) join the qualifications held, each under its
measure and project (``measure_key``), and each project's requirements are evaluated
for that project: a measure of the project itself lets in contractors not yet measured
there, one of another project must be held (the kernel's newcomer rule).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import asyncpg

from crewline.qualifications import Requirement, Value, is_measure, satisfied
from matcher.adapters import offer_signals, scores

_LOCK_KEY = 0x6372_6577_656C_6967  # "crewelig": one lock for every refresh


@dataclass(frozen=True)
class Change:
    """What a refresh added and removed (project ids, or contractor ids)."""

    gained: frozenset[str]
    lost: frozenset[str]


async def _lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)


def requirements_of(raw: str | list[dict[str, object]]) -> list[Requirement]:
    data = json.loads(raw) if isinstance(raw, str) else raw
    return [Requirement.from_json(item) for item in data]


def _held(rows: Iterable[asyncpg.Record]) -> dict[str, Value]:
    return {
        r["qualification"]: r["score"] if r["score"] is not None else r["text_value"] for r in rows
    }


async def _store(conn: asyncpg.Connection, *, by: str, key: str, now: set[str]) -> Change:
    """Make the index rows of one contractor (``by="contractor_id"``, ``now`` their projects)
    or of one project (``by="project_id"``, ``now`` its contractors) exactly ``now``."""
    other = {"contractor_id": "project_id", "project_id": "contractor_id"}[by]
    rows = await conn.fetch(f"SELECT {other} FROM eligibility WHERE {by} = $1", key)
    before = {r[other] for r in rows}
    change = Change(frozenset(now - before), frozenset(before - now))
    if change.lost:
        await conn.execute(
            f"DELETE FROM eligibility WHERE {by} = $1 AND {other} = ANY($2::text[])",
            key,
            list(change.lost),
        )
    if change.gained:
        await conn.execute(
            f"INSERT INTO eligibility ({by}, {other}) SELECT $1, x FROM unnest($2::text[]) x",
            key,
            list(change.gained),
        )
    return change


async def refresh_contractor(conn: asyncpg.Connection, contractor_id: str) -> Change:
    """Recompute one contractor's projects (after a grant, revocation, block or deactivation)."""
    await _lock(conn)
    contractor = await conn.fetchrow(
        "SELECT active, EXISTS (SELECT 1 FROM blocks b WHERE b.contractor_id = c.contractor_id"
        " AND b.project_id IS NULL AND b.lifted_at IS NULL) AS barred"
        " FROM contractors c WHERE contractor_id = $1",
        contractor_id,
    )
    now: set[str] = set()
    if contractor is not None and contractor["active"] and not contractor["barred"]:
        held = _held(
            await conn.fetch(
                "SELECT qualification, score, text_value FROM contractor_qualifications"
                " WHERE contractor_id = $1",
                contractor_id,
            )
        )
        held.update(await scores.held_by(conn, contractor_id))
        blocked = {
            r["project_id"]
            for r in await conn.fetch(
                "SELECT project_id FROM blocks WHERE contractor_id = $1"
                " AND project_id IS NOT NULL AND lifted_at IS NULL",
                contractor_id,
            )
        }
        for row in await conn.fetch("SELECT project_id, requirements FROM projects"):
            if row["project_id"] not in blocked and satisfied(
                requirements_of(row["requirements"]), held, project_id=row["project_id"]
            ):
                now.add(row["project_id"])
    change = await _store(conn, by="contractor_id", key=contractor_id, now=now)
    if change.gained or change.lost:
        await offer_signals.contractor_changed(conn, contractor_id)
    return change


async def refresh_for_score(
    conn: asyncpg.Connection, contractor_id: str, measure: str, project_id: str
) -> Change | None:
    """Recompute one contractor's projects after their score of ``measure`` in
    ``project_id`` changed, unless no project requires that score (None): most reviews
    are in projects nobody routes by. Under the refresh lock, so a requirement on it
    added at the same time is seen here, or sees the score."""
    await _lock(conn)
    required = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM projects WHERE requirements @>"
        " jsonb_build_array(jsonb_build_object('q', $1::text, 'p', $2::text)))",
        measure,
        project_id,
    )
    return await refresh_contractor(conn, contractor_id) if required else None


async def refresh_project(conn: asyncpg.Connection, project_id: str) -> Change:
    """Recompute one project's contractors (after it is created or its requirements change)."""
    await _lock(conn)
    raw = await conn.fetchval("SELECT requirements FROM projects WHERE project_id = $1", project_id)
    now: set[str] = set()
    if raw is not None:
        requirements = requirements_of(raw)
        candidates = await conn.fetch(
            "SELECT c.contractor_id FROM contractors c WHERE c.active AND NOT EXISTS"
            " (SELECT 1 FROM blocks b WHERE b.contractor_id = c.contractor_id"
            " AND b.lifted_at IS NULL AND (b.project_id IS NULL OR b.project_id = $1))",
            project_id,
        )
        held = await _held_of_everyone(conn, requirements, project_id)
        empty: Mapping[str, Value] = {}
        now = {
            c["contractor_id"]
            for c in candidates
            if satisfied(requirements, held.get(c["contractor_id"], empty), project_id=project_id)
        }
    change = await _store(conn, by="project_id", key=project_id, now=now)
    if change.gained or change.lost:
        await offer_signals.project_changed(conn, project_id)
    return change


async def _held_of_everyone(
    conn: asyncpg.Connection, requirements: list[Requirement], project_id: str
) -> dict[str, dict[str, Value]]:
    """What every contractor holds of what ``requirements`` name, by contractor: the
    qualifications, and the scores of each measure in the project it is measured in."""
    held = await scores.held_in(
        conn,
        (
            (r.qualification, r.project_id or project_id)
            for r in requirements
            if is_measure(r.qualification)
        ),
    )
    names = sorted({r.qualification for r in requirements if not is_measure(r.qualification)})
    if names:
        for row in await conn.fetch(
            "SELECT contractor_id, qualification, score, text_value"
            " FROM contractor_qualifications WHERE qualification = ANY($1::text[])",
            names,
        ):
            held.setdefault(row["contractor_id"], {}).update(_held([row]))
    return held


async def projects_of(conn: asyncpg.Connection, contractor_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT project_id FROM eligibility WHERE contractor_id = $1", contractor_id
    )
    return [r["project_id"] for r in rows]
