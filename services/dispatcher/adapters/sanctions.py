"""SQL for the sanctions, appeals and disputes the dispatcher has heard of. Every function runs on
the caller's connection."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from dispatcher.domain.sanctions import (
    Appeal,
    AppealState,
    Dispute,
    DisputeState,
    Sanction,
    SanctionAction,
    SanctionState,
)


async def keep(conn: asyncpg.Connection, sanction: Sanction, *, now: datetime) -> bool:
    """Keep this version of the sanction if it is newer than the one kept (or the
    first); False for a redelivery or an older version, which change nothing. Copies
    of one sanction's events queue on its row."""
    kept = await conn.fetchval(
        "INSERT INTO sanctions (sanction_id, contractor_id, project_id, action, state,"
        " ends_at, version, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (sanction_id) DO UPDATE SET action = EXCLUDED.action,"
        " state = EXCLUDED.state, ends_at = EXCLUDED.ends_at, version = EXCLUDED.version,"
        " changed_at = EXCLUDED.changed_at WHERE sanctions.version < EXCLUDED.version"
        " RETURNING true",
        sanction.sanction_id,
        sanction.contractor_id,
        sanction.project_id,
        sanction.action.value,
        sanction.state.value,
        sanction.ends_at,
        sanction.version,
        now,
    )
    return bool(kept)


async def reviewing_all(
    conn: asyncpg.Connection, contractor_id: str, project_id: str
) -> list[Sanction]:
    """The contractor's active review-everything sanctions in the project (whether one
    is past its end is the caller's to judge, by its clock)."""
    rows = await conn.fetch(
        "SELECT sanction_id, contractor_id, project_id, action, state, ends_at, version"
        " FROM sanctions WHERE contractor_id = $1 AND project_id = $2"
        " AND action = 'review_all' AND state = 'active'"
        " ORDER BY sanction_id",
        contractor_id,
        project_id,
    )
    return [
        Sanction(
            sanction_id=r["sanction_id"],
            contractor_id=r["contractor_id"],
            project_id=r["project_id"],
            action=SanctionAction(r["action"]),
            state=SanctionState(r["state"]),
            ends_at=r["ends_at"],
            version=r["version"],
        )
        for r in rows
    ]


async def note_appeal(conn: asyncpg.Connection, appeal: Appeal, *, now: datetime) -> bool:
    """Note the appeal's state; True when it is new to the dispatcher (a first sight,
    or pending before and decided now), False for a state seen before (a redelivery)
    or a pending after its decision (late): those change nothing."""
    return await _note(
        conn,
        _APPEALS,
        (appeal.appeal_id, appeal.contractor_id, appeal.project_id),
        appeal.state.value,
        now=now,
        undecided=AppealState.PENDING.value,
    )


async def note_dispute(conn: asyncpg.Connection, dispute: Dispute, *, now: datetime) -> bool:
    """Note the dispute's state, as ``note_appeal`` does an appeal's: True when it is
    new (a first sight, or open before and resolved now), else False."""
    return await _note(
        conn,
        _DISPUTES,
        (dispute.dispute_id, dispute.contractor_id, dispute.project_id),
        dispute.state.value,
        now=now,
        undecided=DisputeState.OPEN.value,
    )


# A ruling's table, and its id column: fixed names, never the caller's text.
_APPEALS = ("appeals", "appeal_id")
_DISPUTES = ("disputes", "dispute_id")


async def _note(
    conn: asyncpg.Connection,
    table: tuple[str, str],
    ids: tuple[str, str, str],
    state: str,
    *,
    now: datetime,
    undecided: str,
) -> bool:
    """Insert the row, or move it from ``undecided`` to another state; True when it was
    written. Copies of one event queue on its row."""
    name, key = table
    noted = await conn.fetchval(
        f"INSERT INTO {name} ({key}, contractor_id, project_id, state, changed_at)"
        " VALUES ($1, $2, $3, $4, $5)"
        f" ON CONFLICT ({key}) DO UPDATE SET state = EXCLUDED.state,"
        " changed_at = EXCLUDED.changed_at"
        f" WHERE {name}.state = $6 AND EXCLUDED.state <> $6"
        " RETURNING true",
        *ids,
        state,
        now,
        undecided,
    )
    return bool(noted)


async def client_of(conn: asyncpg.Connection, project_id: str) -> str | None:
    """The project's client (None: a project the dispatcher does not hold)."""
    found = await conn.fetchval("SELECT client_id FROM projects WHERE project_id = $1", project_id)
    return str(found) if found is not None else None
