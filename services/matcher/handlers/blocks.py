"""Blocks: a contractor barred from one project, or from all of them, by an operator,
or from one project by a quality sanction that suspends them (``handlers/suspensions``).

Placing or lifting a block publishes BlockChanged and refreshes the eligibility
index in the same transaction, whoever placed it.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from crewline.errors import NotFound
from crewline.log import bind_contextvars
from matcher.adapters import blocks as repo
from matcher.adapters import contractor_protobuf as pb
from matcher.adapters import eligibility
from matcher.deps import Deps
from matcher.domain.blocks import Block, BlockContractor
from matcher.handlers.contractors import existing


async def block_contractor(cmd: BlockContractor, deps: Deps) -> Block:
    """Place a block, or return it when the same block id and fields come again."""
    bind_contextvars(contractor_id=cmd.contractor_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        await existing(conn, cmd.contractor_id)
        block = Block.placed(cmd, now=deps.clock.now())
        # A concurrent copy waits here for the first to commit, then answers from it.
        if await place(conn, block, deps):
            return block
        found = await repo.get_block(conn, cmd.block_id)
        assert found is not None, "ON CONFLICT said the row exists"
        return found.answers(cmd)


async def lift_block(block_id: str, deps: Deps) -> Block:
    """Lift an operator's block; lifting a lifted block changes nothing. A sanction's
    block is refused: it lifts with its sanction."""
    async with deps.pool.acquire() as conn, conn.transaction():
        block = await repo.get_block(conn, block_id, for_update=True)
        if block is None:
            raise NotFound(f"block {block_id} not found")
        bind_contextvars(contractor_id=block.contractor_id)
        return await _lift(conn, block, block.lifted_by_operator(now=deps.clock.now()), deps)


async def list_blocks(contractor_id: str, deps: Deps) -> list[Block]:
    """The contractor's blocks, lifted ones included, oldest first."""
    async with deps.pool.acquire() as conn:
        await existing(conn, contractor_id)
        return await repo.blocks_of(conn, contractor_id)


async def place(conn: asyncpg.Connection, block: Block, deps: Deps) -> bool:
    """Store a new block and apply it; False (nothing done) when its id is taken."""
    if not await repo.insert_block(conn, block):
        return False
    await _changed(conn, block, deps)
    return True


async def lift(conn: asyncpg.Connection, block_id: str, *, now: datetime, deps: Deps) -> bool:
    """Lift a block whoever holds it; False (nothing done) when there is no such block
    or it is lifted already (it keeps its first lifting)."""
    block = await repo.get_block(conn, block_id, for_update=True)
    if block is None or not block.in_force:
        return False
    await _lift(conn, block, block.lifted(now=now), deps)
    return True


async def _lift(conn: asyncpg.Connection, block: Block, lifted: Block, deps: Deps) -> Block:
    if lifted is not block:
        await repo.save_lifted(conn, lifted)
        await _changed(conn, lifted, deps)
    return lifted


async def _changed(conn: asyncpg.Connection, block: Block, deps: Deps) -> None:
    await deps.publisher.publish(conn, pb.block_changed(block))
    await eligibility.refresh_contractor(conn, block.contractor_id)
