"""A client's Watch log, read after a cursor.

The log (``watch_events``) is written in the transactions of the changes themselves
and numbered at commit, per client, with no gaps: reading after the last number a
client received, whenever it reconnects, misses nothing and repeats nothing.
"""

from __future__ import annotations

from crewline.errors import InvalidArgument
from dispatcher.adapters import watch_log
from dispatcher.deps import Deps
from dispatcher.domain.lifecycle import Watch

PAGE = 500  # events read at once


async def start(query: Watch, deps: Deps) -> int:
    """The number the stream continues after: the cursor's, or the client's latest
    (no cursor: from now on). A cursor past the latest is none the client was given."""
    async with deps.pool.acquire() as conn:
        head = await watch_log.head(conn, query.client_id)
    if query.after is None:
        return head
    if query.after > head:
        raise InvalidArgument("cursor", "is not a cursor this service issued")
    return query.after


async def read(query: Watch, after: int, deps: Deps) -> list[tuple[int, bytes]]:
    """Up to ``PAGE`` events logged after number ``after`` (within the query's project),
    in order, as (number, WatchEvent without its cursor)."""
    async with deps.pool.acquire() as conn:
        return await watch_log.read(
            conn, query.client_id, after=after, project_id=query.project_id, limit=PAGE
        )
