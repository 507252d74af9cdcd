"""SQL for blocks. Every function runs on the caller's connection."""

from __future__ import annotations

import asyncpg

from matcher.domain.blocks import Block


def _block(row: asyncpg.Record) -> Block:
    return Block(
        block_id=row["block_id"],
        contractor_id=row["contractor_id"],
        project_id=row["project_id"],
        reason=row["reason"],
        blocked_at=row["blocked_at"],
        lifted_at=row["lifted_at"],
    )


async def insert_block(conn: asyncpg.Connection, block: Block) -> bool:
    """Store a new block; False when the block id is taken (the caller reads that one)."""
    inserted = await conn.fetchval(
        "INSERT INTO blocks (block_id, contractor_id, project_id, reason, blocked_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (block_id) DO NOTHING RETURNING true",
        block.block_id,
        block.contractor_id,
        block.project_id,
        block.reason,
        block.blocked_at,
    )
    return bool(inserted)


async def get_block(
    conn: asyncpg.Connection, block_id: str, *, for_update: bool = False
) -> Block | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT * FROM blocks WHERE block_id = $1{lock}", block_id)
    return _block(row) if row else None


async def save_lifted(conn: asyncpg.Connection, block: Block) -> None:
    await conn.execute(
        "UPDATE blocks SET lifted_at = $2 WHERE block_id = $1", block.block_id, block.lifted_at
    )


async def blocks_of(conn: asyncpg.Connection, contractor_id: str) -> list[Block]:
    rows = await conn.fetch(
        "SELECT * FROM blocks WHERE contractor_id = $1 ORDER BY blocked_at, block_id",
        contractor_id,
    )
    return [_block(r) for r in rows]
