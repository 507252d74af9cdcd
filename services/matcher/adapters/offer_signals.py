"""Signals to every matcher replica's offer streams, sent in the changing transaction.

PostgreSQL NOTIFY is delivered at commit and never for a rolled-back change, to
every replica listening on the same database, so a task ingested by one replica
reaches streams held by another. Payloads are small; a replica re-reads the state
it needs. A replica that loses its listening connection tells its streams to resync.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

CHANNEL = "crewline_offers"

# Payload prefixes (the rest is ':'-separated fields).
TASKS_OPENED = "o"  # o:<task_id>             a task became claimable (new, or a slot freed)
# c:<task_id>:<contractor_id>:<free_slots after>, sent by claim_task() only when the claim
# fills the task (each NOTIFY serialises commits); the granting replica's hub learns of
# every claim in-process (OfferHub.claimed).
TASK_CLAIMED = "c"
CONTRACTOR = "k"  # k:<contractor_id>          the contractor's eligible projects changed
PROJECT = "p"  # p:<project_id>               the project's audience or terms changed
# The task or project no longer takes claims (cancelled, expired; paused, closed): every
# stream withdraws its offers with reason CLOSED. (A resume is a PROJECT signal; a task
# that takes claims again is TASKS_OPENED.)
TASK_CLOSED = "x"  # x:<task_id>
PROJECT_CLOSED = "q"  # q:<project_id>


async def tasks_opened(conn: asyncpg.Connection, task_ids: Sequence[str]) -> None:
    if task_ids:
        await conn.execute(
            "SELECT pg_notify($1, $2 || ':' || t) FROM unnest($3::text[]) t",
            CHANNEL,
            TASKS_OPENED,
            list(task_ids),
        )


async def contractor_changed(conn: asyncpg.Connection, contractor_id: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{CONTRACTOR}:{contractor_id}")


async def project_changed(conn: asyncpg.Connection, project_id: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{PROJECT}:{project_id}")


async def task_closed(conn: asyncpg.Connection, task_id: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{TASK_CLOSED}:{task_id}")


async def project_closed(conn: asyncpg.Connection, project_id: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{PROJECT_CLOSED}:{project_id}")
