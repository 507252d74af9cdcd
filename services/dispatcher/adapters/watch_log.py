"""SQL for the clients' Watch log. Every function runs on the caller's connection.

Events are written in the transaction of the change that causes them, unnumbered;
at commit the table's trigger numbers them (per client: 1, 2, 3... in commit order)
and notifies channel ``CHANNEL`` with the client's id (migration 0004).

Events past their retention are deleted by ``PRUNE`` (a ``crewline.retention`` job),
which also raises each client's horizon (``watch_pruned``, migration 0007): the
highest number deleted. A reader after a number below it would miss events, so
``pruned_through`` lets it refuse instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from crewline.v1 import task_service_pb2

CHANNEL = "crewline_watch"
TABLE = "watch_events"  # the retention metric's label

# The oldest numbered events (a transaction's events are numbered at its commit,
# which may follow a later one's: hence the horizon is the highest number deleted),
# and each client's horizon raised in the same transaction.
PRUNE = (
    "WITH old AS (SELECT id FROM watch_events"
    " WHERE logged_at < now() - make_interval(secs => $1) AND seq IS NOT NULL"
    " ORDER BY logged_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " gone AS (DELETE FROM watch_events e USING old WHERE e.id = old.id"
    " RETURNING e.client_id, e.seq),"
    " horizons AS (INSERT INTO watch_pruned (client_id, through_seq)"
    " SELECT client_id, max(seq) FROM gone GROUP BY client_id ORDER BY client_id"
    " ON CONFLICT (client_id) DO UPDATE"
    " SET through_seq = greatest(watch_pruned.through_seq, EXCLUDED.through_seq))"
    " SELECT count(*) FROM gone"
)


@dataclass(frozen=True)
class Entry:
    """One event to log, for one client's task, or for a project of theirs (a sanction
    or an appeal: no task, which a Watch of the project reads by project_id alike)."""

    client_id: str
    project_id: str
    task_id: uuid.UUID | None
    event: task_service_pb2.WatchEvent  # without its cursor

    def body(self) -> bytes:
        return self.event.SerializeToString()


async def append(conn: asyncpg.Connection, entries: Sequence[Entry]) -> None:
    """Log ``entries`` in order, with one statement, in the caller's transaction."""
    if not entries:
        return
    await conn.execute(
        "INSERT INTO watch_events (client_id, project_id, task_id, body)"
        " SELECT client_id, project_id, task_id, body"
        " FROM unnest($1::text[], $2::text[], $3::uuid[], $4::bytea[])"
        " WITH ORDINALITY AS e(client_id, project_id, task_id, body, n) ORDER BY n",
        [e.client_id for e in entries],
        [e.project_id for e in entries],
        [e.task_id for e in entries],
        [e.body() for e in entries],
    )


async def head(conn: asyncpg.Connection, client_id: str) -> int:
    """The number of the client's latest event (0 before the first)."""
    seq = await conn.fetchval("SELECT last_seq FROM watch_heads WHERE client_id = $1", client_id)
    return int(seq or 0)


async def read(
    conn: asyncpg.Connection, client_id: str, *, after: int, project_id: str | None, limit: int
) -> list[tuple[int, bytes]]:
    """Up to ``limit`` of the client's events after number ``after``, in order, as
    (number, WatchEvent bytes without the cursor)."""
    project = "" if project_id is None else " AND project_id = $4"
    rows = await conn.fetch(
        "SELECT seq, body FROM watch_events WHERE client_id = $1 AND seq > $2"
        f"{project} ORDER BY seq LIMIT $3",
        client_id,
        after,
        limit,
        *(() if project_id is None else (project_id,)),
    )
    return [(r["seq"], r["body"]) for r in rows]


async def pruned_through(conn: asyncpg.Connection, client_id: str) -> int:
    """The highest of the client's numbers whose event may have been deleted (0: none)."""
    seq = await conn.fetchval(
        "SELECT through_seq FROM watch_pruned WHERE client_id = $1", client_id
    )
    return int(seq or 0)
