"""A page of a queue (appeals, disputes) in SQL: the tables differ, the paging does not.

A contractor's own page: newest first, after the page before's last seq. A queue's:
undecided first, oldest first; then decided, newest first. (rank, key) grows along that
order, so one row comparison finds where the next page starts.
"""

from __future__ import annotations

import enum
from typing import Any

import asyncpg

from quality.domain.queues import QueueQuery


async def find(
    conn: asyncpg.Connection, query: QueueQuery[Any], *, table: str, undecided: enum.StrEnum
) -> list[asyncpg.Record]:
    """The rows of ``table`` (one with contractor_id, client_id, project_id, state and
    seq) that ``query`` selects, at most ``limit + 1``. ``undecided`` is the state a
    queue puts first. Both are the caller's constants, never a request's text."""
    first = undecided.value
    rank_sql = f"(t.state <> '{first}')::int"
    key_sql = f"CASE WHEN t.state = '{first}' THEN t.seq ELSE -t.seq END"
    rank, key = query.after or (None, None)
    if query.queue:
        after = f" AND ($5::int IS NULL OR ({rank_sql}, {key_sql}) > ($5::int, $6::bigint))"
        order = f" ORDER BY {rank_sql}, {key_sql}"
        key = key if rank == 0 or key is None else -key
    else:  # a contractor's own: newest first
        after = " AND ($5::int IS NULL OR t.seq < $6::bigint)"
        order = " ORDER BY t.seq DESC"
    select = f"""
SELECT t.* FROM {table} t
WHERE ($1::text IS NULL OR t.contractor_id = $1)
  AND ($2::text IS NULL OR t.client_id = $2)
  AND ($3::text IS NULL OR t.project_id = $3)
  AND ($4::text IS NULL OR t.state = $4)
"""
    rows: list[asyncpg.Record] = await conn.fetch(
        select + after + order + " LIMIT $7",
        query.contractor_id,
        query.client_id,
        query.project_id,
        query.state.value if query.state is not None else None,
        rank,
        key,
        query.limit + 1,
    )
    return rows
