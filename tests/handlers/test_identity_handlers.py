"""Clients, keys, contractors and tokens through their handlers, with a fake clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from crewline.auth.authenticator import Authenticator
from crewline.auth.principal import Kind, Principal
from crewline.errors import AlreadyExists, NotFound, Unauthenticated
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from crewline.settings import AuthSettings
from crewline.timekeeping import FakeClock
from dispatcher.deps import Deps as DispatcherDeps
from dispatcher.domain import clients
from dispatcher.domain.model import submit_tasks, task_spec
from dispatcher.domain.projects import ProjectFields, create_project
from dispatcher.handlers import clients as client_handlers
from dispatcher.handlers import projects as project_handlers
from dispatcher.handlers import tasks as task_handlers
from matcher.deps import Deps as MatcherDeps
from matcher.domain import contractors
from matcher.handlers import contractors as contractor_handlers

from stack import outbox_types, run_secrets


async def test_a_client_is_created_once_and_a_different_repeat_is_refused(
    dispatcher_deps: DispatcherDeps,
) -> None:
    cmd = clients.create_client(client_id="acme", display_name="Acme Labs")
    first, again = await asyncio.gather(
        client_handlers.create_client(cmd, dispatcher_deps),
        client_handlers.create_client(cmd, dispatcher_deps),
    )
    assert first == again
    with pytest.raises(AlreadyExists):
        other = clients.create_client(client_id="acme", display_name="Someone else")
        await client_handlers.create_client(other, dispatcher_deps)
    assert await outbox_types(dispatcher_deps.pool) == ["crewline.v1.ClientCreated"]


async def test_a_key_is_shown_once_authenticates_and_stops_when_revoked(
    dispatcher_deps: DispatcherDeps, clock: FakeClock
) -> None:
    await client_handlers.create_client(
        clients.create_client(client_id="acme", display_name=""), dispatcher_deps
    )
    cmd = clients.create_api_key(request_id="k-1", client_id="acme")
    key, secret = await client_handlers.create_api_key(cmd, dispatcher_deps)
    again, no_secret = await client_handlers.create_api_key(cmd, dispatcher_deps)
    assert secret and no_secret is None and again == key
    auth = Authenticator(
        pool=dispatcher_deps.pool, settings=AuthSettings(cache_seconds=0.0), clock=clock
    )
    assert await auth.authenticate(f"Bearer {secret}") == Principal(Kind.CLIENT, "acme")

    clock.advance(timedelta(minutes=5))
    revoked = await client_handlers.revoke_api_key(key.key_id, dispatcher_deps)
    assert revoked.revoked_at == clock.now()
    assert await client_handlers.revoke_api_key(key.key_id, dispatcher_deps) == revoked
    with pytest.raises(Unauthenticated) as err:
        await auth.authenticate(f"Bearer {secret}")
    assert err.value.reason == "CREDENTIAL_REVOKED"
    assert (await outbox_types(dispatcher_deps.pool)).count("crewline.v1.ApiKeyRevoked") == 1


async def test_a_key_for_an_unknown_client_is_not_found(dispatcher_deps: DispatcherDeps) -> None:
    with pytest.raises(NotFound):
        cmd = clients.create_api_key(request_id="k-1", client_id="nobody")
        await client_handlers.create_api_key(cmd, dispatcher_deps)


async def test_another_clients_task_is_not_found(dispatcher_deps: DispatcherDeps) -> None:
    fields = ProjectFields(
        title="Ratings",
        instructions="",
        requirements=(),
        pay_terms=PayTerms(basis=Basis.PER_SUBMISSION, rate=Money("USD", 100)),
        assignments_per_task=1,
        claim_timeout_seconds=0,
        task_lifetime_seconds=0,
        auto_accept_delay_seconds=0,
        priority=0,
        max_claims_per_contractor=0,
    )
    project = await project_handlers.create_project(
        create_project(request_id="p1", client_id="acme", fields=fields), dispatcher_deps
    )
    spec = task_spec(
        idempotency_key="r1",
        payload_json="{}",
        payload_bytes=None,
        slots=0,
        priority=None,
        lifetime_seconds=0,
        field="task",
    )
    cmd = submit_tasks(client_id="acme", project_id=project.project_id, tasks=[spec])
    [task] = await task_handlers.submit_tasks(cmd, dispatcher_deps)
    assert task.created_at == dispatcher_deps.clock.now()
    found, _ = await task_handlers.get_task(
        task.task_id, Principal(Kind.CLIENT, "acme"), dispatcher_deps
    )
    assert found == task
    with pytest.raises(NotFound):
        await task_handlers.get_task(
            task.task_id, Principal(Kind.CLIENT, "globex"), dispatcher_deps
        )


async def test_a_token_expires_on_the_clock_and_revocation_bites_before(
    matcher_deps: MatcherDeps, clock: FakeClock
) -> None:
    await contractor_handlers.create_contractor(
        contractors.create_contractor(contractor_id="ann", display_name="Ann"), matcher_deps
    )
    token, secret = await contractor_handlers.issue_token(
        contractors.issue_token(contractor_id="ann", ttl_seconds=3600), matcher_deps
    )
    auth = Authenticator(
        pool=matcher_deps.pool,
        settings=AuthSettings(
            token_public_keys=(run_secrets().public_key_file.read_bytes(),), cache_seconds=0.0
        ),
        clock=clock,
    )
    assert await auth.authenticate(f"Bearer {secret}") == Principal(Kind.CONTRACTOR, "ann")
    clock.set(token.expires_at - timedelta(seconds=1))
    assert (await auth.authenticate(f"Bearer {secret}")).id == "ann"
    clock.set(token.expires_at)
    with pytest.raises(Unauthenticated) as err:
        await auth.authenticate(f"Bearer {secret}")
    assert err.value.reason == "CREDENTIAL_EXPIRED"

    clock.set(token.issued_at)
    await contractor_handlers.revoke_token(token.token_id, matcher_deps)
    with pytest.raises(Unauthenticated) as err:
        await auth.authenticate(f"Bearer {secret}")
    assert err.value.reason == "CREDENTIAL_REVOKED"
    assert await outbox_types(matcher_deps.pool) == [
        "crewline.v1.ContractorCreated",
        "crewline.v1.ContractorChanged",
        "crewline.v1.ContractorTokenRevoked",
    ]


async def test_a_token_for_an_unknown_contractor_is_not_issued(matcher_deps: MatcherDeps) -> None:
    with pytest.raises(NotFound):
        await contractor_handlers.issue_token(
            contractors.issue_token(contractor_id="ghost", ttl_seconds=0), matcher_deps
        )
