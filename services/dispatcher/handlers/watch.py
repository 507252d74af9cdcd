"""A client's Watch log, read after a cursor.

The log (``watch_events``) is written in the transactions of the changes themselves
and numbered at commit, per client, with no gaps: reading after the last number a
client received, whenever it reconnects, misses nothing and repeats nothing.

Events past their retention are deleted (``CREWLINE_RETENTION_WATCH_SECONDS``). A
cursor from before the deleted events is refused with ``FAILED_PRECONDITION``,
reason ``WATCH_CURSOR_EXPIRED``: the client resyncs, watching again without a cursor
(from now on) and then reading its tasks' current state (``ListTasks``). A stream
that falls that far behind ends with the same error. Nothing is skipped silently.
"""

from __future__ import annotations

import asyncpg

from crewline.errors import FailedPrecondition, InvalidArgument
from dispatcher.adapters import watch_log
from dispatcher.deps import Deps
from dispatcher.domain.lifecycle import Watch
from dispatcher.handlers import changes

PAGE = 500  # events read at once


async def start(query: Watch, deps: Deps) -> int:
    """The number the stream continues after: the cursor's, or the client's latest
    (no cursor: from now on). A cursor past the latest is none the client was given; a
    project not the client's is NOT_FOUND."""
    async with deps.pool.acquire() as conn:
        if query.project_id is not None:
            await changes.own_project_id(conn, query.project_id, query.client_id)
        head = await watch_log.head(conn, query.client_id)
        if query.after is None:
            return head
        if query.after > head:
            raise InvalidArgument("cursor", "is not a cursor this service issued")
        await _still_kept(conn, query, query.after, deps)
    return query.after


async def read(query: Watch, after: int, deps: Deps) -> list[tuple[int, bytes]]:
    """Up to ``PAGE`` events logged after number ``after`` (within the query's project),
    in order, as (number, WatchEvent without its cursor)."""
    async with deps.pool.acquire() as conn:
        rows = await watch_log.read(
            conn, query.client_id, after=after, project_id=query.project_id, limit=PAGE
        )
        # After the read: had a deletion committed before it, this sees its horizon.
        await _still_kept(conn, query, after, deps)
    return rows


async def _still_kept(conn: asyncpg.Connection, query: Watch, after: int, deps: Deps) -> None:
    """Refuse to continue after ``after`` when some event following it was deleted."""
    through = await watch_log.pruned_through(conn, query.client_id)
    if after < through:
        kept = deps.settings.service.retention.watch_seconds
        raise FailedPrecondition(
            f"cursor: the events after it are no longer kept (the Watch log keeps"
            f" {kept:g} seconds); resync: Watch again without a cursor, then read your"
            " tasks' current state with ListTasks",
            reason="WATCH_CURSOR_EXPIRED",
            metadata={"field": "cursor"},
        )
