"""Operators' commands on qualification types and the qualifications contractors hold.

Each change to a contractor's qualifications writes a history entry, publishes
QualificationChanged and refreshes the eligibility index, all in one transaction;
the contractor's row lock orders concurrent changes to one contractor.
"""

from __future__ import annotations

import asyncpg

from crewline.log import bind_contextvars
from matcher.adapters import contractor_protobuf as pb
from matcher.adapters import eligibility
from matcher.adapters import qualifications as repo
from matcher.deps import Deps
from matcher.domain import qualifications as rules
from matcher.domain.qualifications import (
    DefineQualificationType,
    GrantQualification,
    Held,
    HistoryEntry,
    QualificationType,
    RevokeQualification,
)
from matcher.handlers.contractors import existing


async def define_qualification_type(cmd: DefineQualificationType, deps: Deps) -> QualificationType:
    """Define a type, or return it when the same name and kind come again."""
    async with deps.pool.acquire() as conn, conn.transaction():
        qtype = QualificationType(
            name=cmd.name,
            kind=cmd.kind,
            description=cmd.description,
            created_at=deps.clock.now(),
            client_id=cmd.client_id,
        )
        if await repo.insert_type(conn, qtype):
            await deps.publisher.publish(conn, pb.qualification_type_defined(qtype))
            return qtype
        found = await repo.get_type(conn, cmd.name)
        assert found is not None, "ON CONFLICT said the row exists"
        return found.answers(cmd)


async def list_qualification_types(deps: Deps) -> list[QualificationType]:
    async with deps.pool.acquire() as conn:
        return await repo.all_types(conn)


async def _type(conn: asyncpg.Connection, name: str) -> QualificationType:
    qtype = await repo.get_type(conn, name)
    if qtype is None:
        raise rules.unknown_type(name)
    return qtype


async def grant_qualification(cmd: GrantQualification, deps: Deps) -> Held:
    """Grant a qualification or change its value; the same value again changes nothing."""
    bind_contextvars(contractor_id=cmd.contractor_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        await existing(conn, cmd.contractor_id, lock="update")
        return await grant(conn, cmd, await _type(conn, cmd.qualification), deps)


async def grant(
    conn: asyncpg.Connection, cmd: GrantQualification, qtype: QualificationType, deps: Deps
) -> Held:
    """Every grant's path (an operator's, a passed exam's), in the caller's transaction,
    the contractor's row locked by the caller: the value held, and when it changed a
    history entry, QualificationChanged and the eligibility index refreshed."""
    before = await repo.get_held(conn, cmd.contractor_id, qtype.name)
    held, entry = rules.granted(before, cmd, qtype=qtype, now=deps.clock.now())
    if entry is not None:
        await repo.save_held(conn, held)
        await _record(conn, entry, deps)
    return held


async def revoke_qualification(cmd: RevokeQualification, deps: Deps) -> None:
    """Revoke a qualification; one the contractor does not hold changes nothing."""
    bind_contextvars(contractor_id=cmd.contractor_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        await existing(conn, cmd.contractor_id, lock="update")
        qtype = await _type(conn, cmd.qualification)
        before = await repo.get_held(conn, cmd.contractor_id, qtype.name)
        entry = rules.revoked(before, cmd, now=deps.clock.now())
        if entry is not None:
            await repo.delete_held(conn, cmd.contractor_id, qtype.name)
            await _record(conn, entry, deps)


async def list_qualifications(
    contractor_id: str, deps: Deps
) -> tuple[list[Held], list[HistoryEntry]]:
    """What the contractor holds now, and every change, oldest first."""
    async with (
        deps.pool.acquire() as conn,
        conn.transaction(readonly=True, isolation="repeatable_read"),
    ):
        await existing(conn, contractor_id)
        return await repo.held_by(conn, contractor_id), await repo.history_of(conn, contractor_id)


async def _record(conn: asyncpg.Connection, entry: HistoryEntry, deps: Deps) -> None:
    await repo.append_history(conn, entry)
    await deps.publisher.publish(conn, pb.qualification_changed(entry))
    await eligibility.refresh_contractor(conn, entry.contractor_id)
