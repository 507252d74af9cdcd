"""Operators' commands on contractors and their tokens (the matcher is their system of record)."""

from __future__ import annotations

import uuid

from crewline.auth import store
from crewline.auth.credentials import TokenClaims
from crewline.errors import FailedPrecondition, NotFound
from crewline.log import bind_contextvars
from matcher.adapters import contractors as repo
from matcher.adapters import protobuf as pb
from matcher.deps import Deps
from matcher.domain.contractors import Contractor, ContractorToken, CreateContractor, IssueToken


async def create_contractor(cmd: CreateContractor, deps: Deps) -> Contractor:
    """Create a contractor, or return it when the same request comes again."""
    bind_contextvars(contractor_id=cmd.contractor_id)
    async with deps.pool.acquire() as conn, conn.transaction():
        contractor = Contractor(
            contractor_id=cmd.contractor_id,
            display_name=cmd.display_name,
            created_at=deps.clock.now(),
        )
        if await repo.insert_contractor(conn, contractor):
            await deps.publisher.publish(conn, pb.contractor_created(contractor))
            return contractor
        existing = await repo.get_contractor(conn, cmd.contractor_id)
        assert existing is not None, "ON CONFLICT said the row exists"
        return existing.answers(cmd)


async def issue_token(cmd: IssueToken, deps: Deps) -> tuple[ContractorToken, str]:
    """Sign a token for an existing contractor; only its id is kept."""
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
        if await repo.get_contractor(conn, cmd.contractor_id) is None:
            raise NotFound(f"contractor {cmd.contractor_id} not found")
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
        revoked = token.revoke(now=deps.clock.now())
        if revoked is token:
            return token
        assert revoked.revoked_at is not None
        await repo.save_revoked(conn, revoked)
        await store.revoke_token(
            conn,
            token_id=token_id,
            contractor_id=token.contractor_id,
            expires_at=token.expires_at,
            at=revoked.revoked_at,
        )
        await deps.publisher.publish(conn, pb.token_revoked(revoked))
        return revoked
