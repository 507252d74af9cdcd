"""Contractors' profiles, qualification types, qualifications and blocks through the
matcher's handlers, on a real database and a fake clock: history, events in the
outbox, and the eligibility index following every change."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable
from datetime import timedelta

import asyncpg
import pytest
from google.protobuf.message import Message

from crewline.auth.authenticator import Authenticator
from crewline.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from crewline.events import CONTRACTORS_TOPIC, IDENTITY_TOPIC, parse_envelope
from crewline.qualifications import Comparator, Kind, Requirement
from crewline.settings import AuthSettings
from crewline.timekeeping import FakeClock
from crewline.v1 import contractor_admin_service_pb2 as admin_api
from crewline.v1 import events_pb2
from matcher.adapters import eligibility
from matcher.deps import Deps
from matcher.domain import blocks, contractors, qualifications
from matcher.domain.qualifications import Change
from matcher.handlers import blocks as block_handlers
from matcher.handlers import contractors as contractor_handlers
from matcher.handlers import qualifications as qualification_handlers

from stack import outbox_types, run_secrets

DERM = "domain.dermatology"
BAR = "credential.bar_admission"
LOCALE = "locale"
TEN_MINUTES = timedelta(minutes=10)


# --- helpers ---------------------------------------------------------------------------


async def new_contractor(deps: Deps, contractor_id: str = "ann", **fields: object) -> None:
    cmd = contractors.create_contractor(contractor_id=contractor_id, display_name="", **fields)  # type: ignore[arg-type]
    await contractor_handlers.create_contractor(cmd, deps)


async def define(deps: Deps, name: str, kind: Kind) -> None:
    cmd = qualifications.define_qualification_type(name=name, kind=kind, description="")
    await qualification_handlers.define_qualification_type(cmd, deps)


async def grant(
    deps: Deps, name: str, *, score: int | None = None, text: str | None = None, who: str = "ann"
) -> qualifications.Held:
    cmd = qualifications.grant_qualification(
        contractor_id=who, qualification=name, score=score, text=text
    )
    return await qualification_handlers.grant_qualification(cmd, deps)


async def revoke(deps: Deps, name: str, *, who: str = "ann", reason: str = "") -> None:
    cmd = qualifications.revoke_qualification(contractor_id=who, qualification=name, reason=reason)
    await qualification_handlers.revoke_qualification(cmd, deps)


async def block(
    deps: Deps, block_id: str, *, project: str = "", who: str = "ann", reason: str = "fraud"
) -> blocks.Block:
    cmd = blocks.block_contractor(
        block_id=block_id, contractor_id=who, project_id=project, reason=reason
    )
    return await block_handlers.block_contractor(cmd, deps)


async def new_project(deps: Deps, *requirements: Requirement, project_id: str | None = None) -> str:
    """A project the matcher knows (as if from ProjectChanged), its audience seeded."""
    project_id = project_id or str(uuid.uuid4())
    async with deps.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO projects (project_id, client_id, revision, title, instructions,"
            " requirements, priority, max_claims_per_contractor, terms_version, terms_basis,"
            " rate_currency, rate_minor, max_paid_seconds, updated_at)"
            " VALUES ($1, 'acme', 1, 't', '', $2::jsonb, 0, 0, 1, 'per_submission', 'USD',"
            " 100, 0, $3)",
            project_id,
            json.dumps([r.to_json() for r in requirements]),
            deps.clock.now(),
        )
        await eligibility.refresh_project(conn, project_id)
    return project_id


async def projects_of(deps: Deps, who: str = "ann") -> set[str]:
    async with deps.pool.acquire() as conn:
        return set(await eligibility.projects_of(conn, who))


async def published(deps: Deps, event_type: type[Message]) -> list[tuple[str, str, Message]]:
    """(topic, key, payload) of each event of one type in the outbox, in order."""
    rows = await deps.pool.fetch("SELECT topic, key, envelope FROM outbox ORDER BY id")
    found = []
    for row in rows:
        env = parse_envelope(row["envelope"])
        if env.type == event_type.DESCRIPTOR.full_name:
            payload = event_type()
            env.payload.Unpack(payload)
            found.append((row["topic"], bytes(row["key"]).decode(), payload))
    return found


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[asyncpg.Record]]:
    """Every table an operator command may change."""
    tables = (
        "contractors",
        "contractor_tokens",
        "qualification_types",
        "contractor_qualifications",
        "qualification_history",
        "blocks",
        "eligibility",
        "outbox",
    )
    return {t: await pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables}


async def refused(call: Awaitable[object], error: type[DomainError]) -> DomainError:
    with pytest.raises(error) as caught:
        await call
    return caught.value


# --- qualifications --------------------------------------------------------------------


async def test_grant_update_and_revoke_each_write_history_and_one_event(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    await new_contractor(matcher_deps)
    await define(matcher_deps, DERM, Kind.SCORE)
    first = await grant(matcher_deps, DERM, score=80)
    clock.advance(TEN_MINUTES)
    assert await grant(matcher_deps, DERM, score=80) == first  # the same value: no change
    clock.advance(TEN_MINUTES)
    changed = await grant(matcher_deps, DERM, score=90)
    assert (changed.value, changed.granted_at, changed.updated_at) == (
        90,
        first.granted_at,
        clock.now(),
    )
    clock.advance(TEN_MINUTES)
    await revoke(matcher_deps, DERM, reason="lapsed")
    await revoke(matcher_deps, DERM)  # not held: nothing changes

    held, history = await qualification_handlers.list_qualifications("ann", matcher_deps)
    assert held == []
    assert [(e.change, e.value, e.reason) for e in history] == [
        (Change.GRANTED, 80, ""),
        (Change.UPDATED, 90, ""),
        (Change.REVOKED, None, "lapsed"),
    ]
    events = await published(matcher_deps, events_pb2.QualificationChanged)
    assert [(topic, key) for topic, key, _ in events] == [(CONTRACTORS_TOPIC, "ann")] * 3
    changes = [e.entry.change for _, _, e in events]  # type: ignore[attr-defined]
    assert changes == [
        admin_api.QUALIFICATION_CHANGE_GRANTED,
        admin_api.QUALIFICATION_CHANGE_UPDATED,
        admin_api.QUALIFICATION_CHANGE_REVOKED,
    ]


async def test_string_and_presence_values_are_stored_and_listed_by_kind(
    matcher_deps: Deps,
) -> None:
    await new_contractor(matcher_deps)
    await define(matcher_deps, LOCALE, Kind.STRING)
    await define(matcher_deps, BAR, Kind.PRESENCE)
    await grant(matcher_deps, LOCALE, text="US")
    await grant(matcher_deps, BAR)
    held, history = await qualification_handlers.list_qualifications("ann", matcher_deps)
    assert [(h.qualification, h.kind, h.value) for h in held] == [
        (BAR, Kind.PRESENCE, None),
        (LOCALE, Kind.STRING, "US"),
    ]
    assert [e.change for e in history] == [Change.GRANTED, Change.GRANTED]


async def test_a_type_is_defined_once_and_announced_for_the_dispatcher(
    matcher_deps: Deps,
) -> None:
    cmd = qualifications.define_qualification_type(name=DERM, kind=Kind.SCORE, description="d")
    first, *copies = await asyncio.gather(
        *(qualification_handlers.define_qualification_type(cmd, matcher_deps) for _ in range(3))
    )
    assert copies == [first, first]
    again = qualifications.define_qualification_type(name=DERM, kind=Kind.SCORE, description="")
    assert await qualification_handlers.define_qualification_type(again, matcher_deps) == first
    other = qualifications.define_qualification_type(name=DERM, kind=Kind.STRING, description="")
    err = await refused(
        qualification_handlers.define_qualification_type(other, matcher_deps), AlreadyExists
    )
    assert err.reason == "QUALIFICATION_TYPE_EXISTS"
    await define(matcher_deps, BAR, Kind.PRESENCE)
    listed = await qualification_handlers.list_qualification_types(matcher_deps)
    assert [(t.name, t.kind) for t in listed] == [(BAR, Kind.PRESENCE), (DERM, Kind.SCORE)]
    events = await published(matcher_deps, events_pb2.QualificationTypeDefined)
    assert [(topic, key) for topic, key, _ in events] == [
        (CONTRACTORS_TOPIC, DERM),
        (CONTRACTORS_TOPIC, BAR),
    ]


async def test_concurrent_copies_of_a_grant_agree_and_change_once(matcher_deps: Deps) -> None:
    await new_contractor(matcher_deps)
    await define(matcher_deps, DERM, Kind.SCORE)
    results = await asyncio.gather(*(grant(matcher_deps, DERM, score=75) for _ in range(5)))
    assert results == [results[0]] * 5
    _, history = await qualification_handlers.list_qualifications("ann", matcher_deps)
    assert [e.change for e in history] == [Change.GRANTED]
    assert len(await published(matcher_deps, events_pb2.QualificationChanged)) == 1


# --- eligibility -----------------------------------------------------------------------


async def test_eligibility_follows_grants_updates_and_revocations(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    await new_contractor(matcher_deps)
    await define(matcher_deps, DERM, Kind.SCORE)
    await define(matcher_deps, LOCALE, Kind.STRING)
    derm = await new_project(matcher_deps, Requirement(DERM, Comparator.GREATER_OR_EQUAL, (70,)))
    us_only = await new_project(matcher_deps, Requirement(LOCALE, Comparator.IN, ("US", "CA")))
    open_to_all = await new_project(matcher_deps)
    assert await projects_of(matcher_deps) == {open_to_all}

    await grant(matcher_deps, DERM, score=80)
    assert await projects_of(matcher_deps) == {open_to_all, derm}
    await grant(matcher_deps, DERM, score=60)
    assert await projects_of(matcher_deps) == {open_to_all}
    await grant(matcher_deps, LOCALE, text="CA")
    await grant(matcher_deps, DERM, score=70)
    assert await projects_of(matcher_deps) == {open_to_all, derm, us_only}
    await revoke(matcher_deps, LOCALE)
    assert await projects_of(matcher_deps) == {open_to_all, derm}


async def test_a_new_contractor_joins_projects_that_require_nothing(matcher_deps: Deps) -> None:
    await define(matcher_deps, BAR, Kind.PRESENCE)
    open_to_all = await new_project(matcher_deps)
    no_lawyers = await new_project(matcher_deps, Requirement(BAR, Comparator.NOT_EXISTS))
    await new_contractor(matcher_deps)
    assert await projects_of(matcher_deps) == {open_to_all, no_lawyers}
    await grant(matcher_deps, BAR)
    assert await projects_of(matcher_deps) == {open_to_all}


async def test_blocks_bar_a_project_or_every_project_until_lifted(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    await new_contractor(matcher_deps)
    first, second = await new_project(matcher_deps), await new_project(matcher_deps)
    one = await block(matcher_deps, "b-1", project=first)
    assert (one.project_id, one.in_force) == (first, True)
    assert await projects_of(matcher_deps) == {second}
    everywhere = await block(matcher_deps, "b-2")
    assert everywhere.project_id is None
    assert await projects_of(matcher_deps) == set()

    clock.advance(TEN_MINUTES)
    lifted = await block_handlers.lift_block("b-2", matcher_deps)
    assert lifted.lifted_at == clock.now()
    assert await projects_of(matcher_deps) == {second}
    clock.advance(TEN_MINUTES)
    assert await block_handlers.lift_block("b-2", matcher_deps) == lifted  # once only
    await block_handlers.lift_block("b-1", matcher_deps)
    assert await projects_of(matcher_deps) == {first, second}

    listed = await block_handlers.list_blocks("ann", matcher_deps)
    assert [(b.block_id, b.in_force) for b in listed] == [("b-1", False), ("b-2", False)]
    events = await published(matcher_deps, events_pb2.BlockChanged)
    assert [(topic, key) for topic, key, _ in events] == [(CONTRACTORS_TOPIC, "ann")] * 4


async def test_a_block_waits_for_a_project_the_matcher_does_not_know_yet(
    matcher_deps: Deps,
) -> None:
    await new_contractor(matcher_deps)
    future = str(uuid.uuid4())
    await block(matcher_deps, "b-1", project=future)
    other = await new_project(matcher_deps)
    assert await new_project(matcher_deps, project_id=future) == future
    assert await projects_of(matcher_deps) == {other}


async def test_concurrent_copies_of_a_block_agree_and_a_different_one_is_refused(
    matcher_deps: Deps,
) -> None:
    await new_contractor(matcher_deps)
    results = await asyncio.gather(*(block(matcher_deps, "b-1") for _ in range(5)))
    assert results == [results[0]] * 5
    assert len(await published(matcher_deps, events_pb2.BlockChanged)) == 1
    err = await refused(block(matcher_deps, "b-1", reason="another reason"), AlreadyExists)
    assert err.reason == "BLOCK_EXISTS"


# --- contractors -----------------------------------------------------------------------


async def test_deactivation_revokes_live_tokens_and_empties_eligibility(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    await new_contractor(matcher_deps)
    open_to_all = await new_project(matcher_deps)
    assert await projects_of(matcher_deps) == {open_to_all}
    short, _ = await contractor_handlers.issue_token(
        contractors.issue_token(contractor_id="ann", ttl_seconds=60), matcher_deps
    )
    live, secret = await contractor_handlers.issue_token(
        contractors.issue_token(contractor_id="ann", ttl_seconds=3600), matcher_deps
    )
    clock.advance(timedelta(minutes=2))  # the short token has expired by itself

    cmd = contractors.deactivate_contractor(contractor_id="ann", reason="left the platform")
    gone = await contractor_handlers.deactivate_contractor(cmd, matcher_deps)
    assert (gone.active, gone.revision, gone.updated_at) == (False, 2, clock.now())
    assert await projects_of(matcher_deps) == set()
    revoked = await published(matcher_deps, events_pb2.ContractorTokenRevoked)
    assert [(t, k, e.token_id) for t, k, e in revoked] == [(IDENTITY_TOPIC, "ann", live.token_id)]  # type: ignore[attr-defined]
    auth = Authenticator(
        pool=matcher_deps.pool,
        settings=AuthSettings(
            token_public_keys=(run_secrets().public_key_file.read_bytes(),), cache_seconds=0.0
        ),
        clock=clock,
    )
    with pytest.raises(Unauthenticated) as caught:
        await auth.authenticate(f"Bearer {secret}")
    assert caught.value.reason == "CREDENTIAL_REVOKED"
    err = await refused(
        contractor_handlers.issue_token(
            contractors.issue_token(contractor_id="ann", ttl_seconds=0), matcher_deps
        ),
        FailedPrecondition,
    )
    assert err.reason == "CONTRACTOR_INACTIVE"

    before = await snapshot(matcher_deps.pool)
    clock.advance(TEN_MINUTES)
    assert await contractor_handlers.deactivate_contractor(cmd, matcher_deps) == gone
    assert await snapshot(matcher_deps.pool) == before
    assert short.token_id not in {e.token_id for _, _, e in revoked}  # type: ignore[attr-defined]


async def test_updates_change_only_masked_fields_and_bump_the_revision(
    matcher_deps: Deps, clock: FakeClock
) -> None:
    await new_contractor(matcher_deps, domains=["medicine"], locale="US")
    clock.advance(TEN_MINUTES)

    def update(paths: list[str], **fields: object) -> contractors.UpdateContractor:
        given: dict[str, object] = {
            "display_name": "",
            "domains": [],
            "languages": [],
            "locale": "",
            "max_concurrent_claims": 0,
        }
        return contractors.update_contractor(
            contractor_id="ann",
            paths=paths,
            **{**given, **fields},  # type: ignore[arg-type]
        )

    changed = await contractor_handlers.update_contractor(
        update(
            ["languages", "max_concurrent_claims"],
            languages=["en", "pt-BR"],
            max_concurrent_claims=5,
        ),
        matcher_deps,
    )
    assert (changed.domains, changed.languages, changed.locale) == (
        ("medicine",),
        ("en", "pt-BR"),
        "US",
    )
    assert (changed.max_concurrent_claims, changed.revision, changed.updated_at) == (
        5,
        2,
        clock.now(),
    )
    clock.advance(TEN_MINUTES)
    same = await contractor_handlers.update_contractor(
        update(["locale"], locale="US"), matcher_deps
    )
    assert same == changed
    assert await contractor_handlers.get_contractor("ann", matcher_deps) == changed
    events = await published(matcher_deps, events_pb2.ContractorChanged)
    assert [(k, e.contractor.revision) for _, k, e in events] == [("ann", 1), ("ann", 2)]  # type: ignore[attr-defined]
    err = await refused(
        contractor_handlers.update_contractor(
            contractors.UpdateContractor(contractor_id="ghost", locale="US"), matcher_deps
        ),
        NotFound,
    )
    assert err.reason == "NOT_FOUND"


async def test_create_is_idempotent_and_a_referral_names_an_existing_contractor(
    matcher_deps: Deps,
) -> None:
    cmd = contractors.create_contractor(
        contractor_id="bob", display_name="Bob", languages=["en"], max_concurrent_claims=0
    )
    first, *copies = await asyncio.gather(
        *(contractor_handlers.create_contractor(cmd, matcher_deps) for _ in range(3))
    )
    assert copies == [first, first] and first.max_concurrent_claims == 3
    other = contractors.create_contractor(contractor_id="bob", display_name="Bob", locale="US")
    err = await refused(contractor_handlers.create_contractor(other, matcher_deps), AlreadyExists)
    assert err.reason == "CONTRACTOR_EXISTS"
    referred = contractors.create_contractor(contractor_id="cy", display_name="", referred_by="al")
    bad = await refused(
        contractor_handlers.create_contractor(referred, matcher_deps), InvalidArgument
    )
    assert (bad.field, bad.reason) == ("referred_by", "UNKNOWN_CONTRACTOR")  # type: ignore[attr-defined]
    good = contractors.create_contractor(contractor_id="cy", display_name="", referred_by="bob")
    assert (await contractor_handlers.create_contractor(good, matcher_deps)).referred_by == "bob"
    assert await outbox_types(matcher_deps.pool) == [
        "crewline.v1.ContractorCreated",
        "crewline.v1.ContractorChanged",
        "crewline.v1.ContractorCreated",
        "crewline.v1.ContractorChanged",
    ]


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "field", "reason"),
    [
        (
            lambda d: grant(d, "domain.unknown", score=1),
            InvalidArgument,
            "qualification",
            "UNKNOWN_QUALIFICATION",
        ),
        (lambda d: grant(d, DERM, text="high"), InvalidArgument, "text", "INVALID_FIELD"),
        (lambda d: grant(d, DERM), InvalidArgument, "score", "INVALID_FIELD"),
        (lambda d: grant(d, DERM, score=101), InvalidArgument, "score", "INVALID_FIELD"),
        (lambda d: grant(d, LOCALE, text=""), InvalidArgument, "text", "INVALID_FIELD"),
        (lambda d: grant(d, BAR, score=1), InvalidArgument, "score", "INVALID_FIELD"),
        (lambda d: grant(d, DERM, score=50, who="ghost"), NotFound, None, "NOT_FOUND"),
        (
            lambda d: revoke(d, "domain.unknown"),
            InvalidArgument,
            "qualification",
            "UNKNOWN_QUALIFICATION",
        ),
        (lambda d: revoke(d, DERM, who="ghost"), NotFound, None, "NOT_FOUND"),
        (lambda d: block(d, "b-9", who="ghost"), NotFound, None, "NOT_FOUND"),
        (lambda d: block(d, "b-1", project=str(uuid.uuid4())), AlreadyExists, None, "BLOCK_EXISTS"),
        (lambda d: block_handlers.lift_block("b-9", d), NotFound, None, "NOT_FOUND"),
        (lambda d: block_handlers.list_blocks("ghost", d), NotFound, None, "NOT_FOUND"),
        (
            lambda d: qualification_handlers.list_qualifications("ghost", d),
            NotFound,
            None,
            "NOT_FOUND",
        ),
        (lambda d: contractor_handlers.get_contractor("ghost", d), NotFound, None, "NOT_FOUND"),
    ],
)
async def test_bad_requests_are_refused_with_their_reason_and_change_nothing(
    matcher_deps: Deps,
    call: object,
    error: type[DomainError],
    field: str | None,
    reason: str,
) -> None:
    await new_contractor(matcher_deps)
    for name, kind in ((DERM, Kind.SCORE), (LOCALE, Kind.STRING), (BAR, Kind.PRESENCE)):
        await define(matcher_deps, name, kind)
    await grant(matcher_deps, DERM, score=40)
    await block(matcher_deps, "b-1")
    before = await snapshot(matcher_deps.pool)

    err = await refused(call(matcher_deps), error)  # type: ignore[operator]

    assert err.reason == reason
    if field is not None:
        assert isinstance(err, InvalidArgument) and err.field == field
    assert await snapshot(matcher_deps.pool) == before
