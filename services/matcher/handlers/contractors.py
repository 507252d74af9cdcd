"""Operators' commands on contractors and their tokens (the matcher is their system of record).

Every change to a contractor's record publishes ContractorChanged in its transaction;
whatever changes who may work (creation, deactivation) refreshes the eligibility index
there too.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from crewline.auth import store
from crewline.auth.credentials import TokenClaims
from crewline.errors import FailedPrecondition, InvalidArgument, NotFound
from crewline.log import bind_contextvars
from crewline.paging import split_page
from matcher.adapters import contractor_protobuf as pb
from matcher.adapters import contractors as repo
from matcher.adapters import eligibility
from matcher.adapters import qualifications as qualification_repo
from matcher.deps import Deps
from matcher.domain.contractor_list import ListContractors, ListedContractor
from matcher.domain.contractors import (
    Contractor,
    ContractorToken,
    CreateContractor,
    DeactivateContractor,
    IssueToken,
    UpdateContractor,
)
from matcher.domain.qualifications import unknown_type


async def existing(
    conn: asyncpg.Connection, contractor_id: str, *, lock: repo.Lock = None
) -> Contractor:
    """The contractor, or NotFound."""
    contractor = await repo.get_contractor(conn, contractor_id, lock=lock)
    if contractor is None:
        raise NotFound(f"contractor {contractor_id} not found")
    return contractor


async def create_contractor(cmd: CreateContractor, deps: Deps) -> Contractor:
    """Create a contractor, or return it when the same request comes again."""
    bind_contextvars(contractor_id=cmd.contractor_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        if cmd.referred_by is not None and not await repo.contractor_exists(conn, cmd.referred_by):
            raise InvalidArgument(
                "referred_by",
                f"names no contractor: {cmd.referred_by!r}",
                reason="UNKNOWN_CONTRACTOR",
            )
        contractor = cmd.new(now=deps.clock.now())
        if await repo.insert_contractor(conn, contractor):
            await deps.publisher.publish_many(
                conn, [pb.contractor_created(contractor), pb.contractor_changed(contractor)]
            )
            # Projects that require nothing (or only absences) take them at once.
            await eligibility.refresh_contractor(conn, contractor.contractor_id)
            return contractor
        return (await existing(conn, cmd.contractor_id)).answers(cmd)


async def get_contractor(contractor_id: str, deps: Deps) -> Contractor:
    async with deps.pool.acquire() as conn:
        return await existing(conn, contractor_id)


async def list_contractors(
    query: ListContractors, deps: Deps
) -> tuple[list[ListedContractor], str]:
    """A page of contractors by id, and the next page's token ("" after the last)."""
    async with deps.pool.acquire() as conn:
        if query.qualification is not None:
            if await qualification_repo.get_type(conn, query.qualification) is None:
                raise unknown_type(query.qualification)
        found = await repo.list_contractors(conn, query, limit=query.limit + 1)
    page, last = split_page(found, query.limit)
    return page, ListContractors.next_token(last.contractor) if last else ""


async def update_contractor(cmd: UpdateContractor, deps: Deps) -> Contractor:
    """Change the masked fields; an update that changes nothing is not a change."""
    bind_contextvars(contractor_id=cmd.contractor_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        contractor = await existing(conn, cmd.contractor_id, lock="update")
        updated = contractor.updated(cmd, now=deps.clock.now())
        if updated is contractor:
            return contractor
        await repo.save_profile(conn, updated)
        await deps.publisher.publish(conn, pb.contractor_changed(updated))
        return updated


async def deactivate_contractor(cmd: DeactivateContractor, deps: Deps) -> Contractor:
    """Revoke every live token, take the contractor out of every project; once only."""
    bind_contextvars(contractor_id=cmd.contractor_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        contractor = await existing(conn, cmd.contractor_id, lock="update")
        now = deps.clock.now()
        deactivated = contractor.deactivated(now=now)
        if deactivated is contractor:
            return contractor
        # The row lock waits for tokens being issued, so none is missed here.
        for token in await repo.live_tokens(conn, cmd.contractor_id, now=now):
            await _revoke(conn, token, now=now, deps=deps)
        await repo.save_deactivated(conn, deactivated, reason=cmd.reason)
        await eligibility.refresh_contractor(conn, cmd.contractor_id)
        await deps.publisher.publish(conn, pb.contractor_changed(deactivated))
        return deactivated


async def issue_token(cmd: IssueToken, deps: Deps) -> tuple[ContractorToken, str]:
    """Sign a token for an existing, active contractor; only its id is kept."""
    bind_contextvars(contractor_id=cmd.contractor_id)
    if deps.signer is None:
        raise FailedPrecondition(
            "this matcher has no token signing key (CREWLINE_TOKEN_SIGNING_KEY_FILE)",
            reason="NO_SIGNING_KEY",
        )
    now = deps.clock.now().replace(microsecond=0)  # tokens carry whole seconds
    token = ContractorToken(
        token_id=uuid.uuid4().hex,
        contractor_id=cmd.contractor_id,
        issued_at=now,
        expires_at=now + cmd.ttl,
    )
    async with deps.pool.acquire() as conn, conn.transaction():
        # A share lock: a deactivation waits for this token, then revokes it.
        (await existing(conn, cmd.contractor_id, lock="share")).check_active()
        await repo.insert_token(conn, token)
    claims = TokenClaims(token.contractor_id, token.token_id, token.issued_at, token.expires_at)
    return token, deps.signer.sign(claims)


async def revoke_token(token_id: str, deps: Deps) -> ContractorToken:
    """Revoke a token everywhere; revoking it again changes nothing."""
    async with deps.pool.acquire() as conn, conn.transaction():
        token = await repo.get_token(conn, token_id, for_update=True)
        if token is None:
            raise NotFound(f"token {token_id} not found")
        bind_contextvars(contractor_id=token.contractor_id)
        return await _revoke(conn, token, now=deps.clock.now(), deps=deps)


async def _revoke(
    conn: asyncpg.Connection, token: ContractorToken, *, now: datetime, deps: Deps
) -> ContractorToken:
    """Revoke a locked token: here, in every service's revocation list, and by event."""
    revoked = token.revoke(now=now)
    if revoked is token:
        return token
    assert revoked.revoked_at is not None
    await repo.save_revoked(conn, revoked)
    await store.revoke_token(
        conn,
        token_id=token.token_id,
        contractor_id=token.contractor_id,
        expires_at=token.expires_at,
        at=revoked.revoked_at,
    )
    await deps.publisher.publish(conn, pb.token_revoked(revoked))
    return revoked
