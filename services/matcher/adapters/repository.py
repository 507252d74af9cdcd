"""SQL for the matcher's projects, pool, claims and offers. Every function runs on the
caller's connection."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from crewline.db import Where
from crewline.outbox import OutboxRow
from matcher.adapters.answer_specs import AnswerSpecs
from matcher.adapters.claim_terms import Expected, terms_of
from matcher.adapters.eligibility import requirements_of
from matcher.domain.claims import Claim
from matcher.domain.commands import ListClaims, ListOffers, WorkSegment
from matcher.domain.offers import Offer
from matcher.domain.statuses import ClaimStatus, EndReason, ProjectState, ReviewState, TaskLifecycle
from matcher.domain.tasks import Payload, ProjectTerms, TaskState


def _claim(row: asyncpg.Record) -> Claim:
    return Claim(
        claim_id=row["claim_id"],
        task_id=row["task_id"],
        contractor_id=row["contractor_id"],
        request_id=row["request_id"],
        project_id=row["project_id"],
        client_id=row["client_id"],
        status=ClaimStatus(row["status"]),
        terms=terms_of(row),
        version=row["version"],
        granted_at=row["granted_at"],
        lease_seconds=row["lease_seconds"],
        deadline_at=row["deadline_at"],
        max_deadline_at=row["max_deadline_at"],
        worked_seconds=row["worked_seconds"],
        submitted_at=row["submitted_at"],
        end_reason=EndReason(row["end_reason"]) if row["end_reason"] else None,
        ended_at=row["ended_at"],
        cut=EndReason(row["cut"]) if row["cut"] else None,
        segments=tuple(
            WorkSegment(start, end)
            for start, end in zip(row["segment_starts"], row["segment_ends"], strict=True)
        ),
        review=ReviewState(row["review"]) if row["review"] else None,
        feedback=row["feedback"],
        reviewed_at=row["reviewed_at"],
        project_title=row["project_title"] or "",
        answer_spec_version=row["answer_spec_version"],
        unpaid=row["unpaid"],
    )


# A claim's row and its project's current title, read in the same statement (the
# subquery locks nothing, so a FOR UPDATE still locks only the claim).
_TITLE = "(SELECT p.title FROM projects p WHERE p.project_id = c.project_id) AS project_title"
# Whether the claim's task is unpaid work (0013: kept with the task, never changed).
_UNPAID = "(SELECT t.unpaid FROM open_tasks t WHERE t.task_id = c.task_id) AS unpaid"
_CLAIM_COLUMNS = f"c.*, {_TITLE}, {_UNPAID}"


def _project_lock_key(project_id: str) -> str:
    """claim_task() takes this key shared; a pause or close takes it exclusively."""
    return "project\x1f" + project_id


async def lock_project(conn: asyncpg.Connection, project_id: str) -> None:
    """Wait for claims being granted in the project to commit, and hold new ones until
    this transaction ends: a pause or close then sees (and cuts) every live claim."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", _project_lock_key(project_id)
    )


async def save_project(conn: asyncpg.Connection, project: ProjectTerms) -> ProjectTerms | None:
    """Store the project if this revision is newer than ours; the one it replaced, or None
    when nothing changed. A first revision replaces an empty placeholder."""
    before = await conn.fetchrow(
        "SELECT * FROM projects WHERE project_id = $1 FOR UPDATE", project.project_id
    )
    if before is not None and before["revision"] >= project.revision:
        return None
    t = project.terms
    await conn.execute(
        "INSERT INTO projects (project_id, client_id, revision, title, instructions, requirements,"
        " priority, max_claims_per_contractor, terms_version, terms_basis, rate_currency,"
        " rate_minor, max_paid_seconds, updated_at, claim_timeout_seconds, state)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        " ON CONFLICT (project_id) DO UPDATE SET client_id = $2, revision = $3, title = $4,"
        " instructions = $5, requirements = $6::jsonb, priority = $7,"
        " max_claims_per_contractor = $8, terms_version = $9, terms_basis = $10,"
        " rate_currency = $11, rate_minor = $12, max_paid_seconds = $13, updated_at = $14,"
        " claim_timeout_seconds = $15, state = $16",
        project.project_id,
        project.client_id,
        project.revision,
        project.title,
        project.instructions,
        json.dumps([r.to_json() for r in project.requirements]),
        project.priority,
        project.max_claims_per_contractor,
        t.version,
        t.basis.value,
        t.rate.currency,
        t.rate.amount_minor,
        t.max_paid_seconds,
        project.updated_at,
        project.claim_timeout_seconds,
        project.state.value,
    )
    if before is None:
        return project  # new: everything changed
    return ProjectTerms(
        project_id=before["project_id"],
        client_id=before["client_id"],
        revision=before["revision"],
        title=before["title"],
        instructions=before["instructions"],
        requirements=tuple(requirements_of(before["requirements"])),
        priority=before["priority"],
        max_claims_per_contractor=before["max_claims_per_contractor"],
        terms=terms_of(before),
        updated_at=before["updated_at"],
        claim_timeout_seconds=before["claim_timeout_seconds"],
        state=ProjectState(before["state"]),
    )


async def reprioritise(conn: asyncpg.Connection, project_id: str, priority: int) -> None:
    """Tasks that follow the project's priority take its new one; their own priorities stay.
    Locked in task order first, as a claim batch locks them (claim_tasks()): two
    statements locking several tasks each in different orders could deadlock."""
    await conn.execute(
        "UPDATE open_tasks t SET priority = $2 FROM (SELECT task_id FROM open_tasks"
        " WHERE project_id = $1 AND NOT own_priority AND priority <> $2"
        " ORDER BY task_id FOR NO KEY UPDATE) mine WHERE t.task_id = mine.task_id",
        project_id,
        priority,
    )


async def add_open_task(
    conn: asyncpg.Connection,
    *,
    task_id: uuid.UUID,
    client_id: str,
    project_id: str,
    slots: int,
    priority: int,
    own_priority: bool,
    payload: Payload,
    published_at: datetime,
    expires_at: datetime | None,
    reserved_for: str | None = None,
    unpaid: bool = False,
) -> bool:
    """Add a task's slots to the pool; False when it is already there (a redelivery).
    ``reserved_for``: the one contractor it is offered to (a gold task); ``unpaid``:
    work that is not paid (an unpaid exam's question)."""
    added = await conn.fetchval(
        "INSERT INTO open_tasks (task_id, client_id, project_id, slots, free_slots, priority,"
        " own_priority, payload_json, payload_bytes, published_at, expires_at, reserved_for,"
        " unpaid) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        " ON CONFLICT (task_id) DO NOTHING RETURNING true",
        task_id,
        client_id,
        project_id,
        slots,
        priority,
        own_priority,
        payload.json,
        payload.data,
        published_at,
        expires_at,
        reserved_for,
        unpaid,
    )
    return bool(added)


@dataclass(frozen=True)
class ClaimRequest:
    """One ClaimTask's arguments to ``claim_task()``. ``proposed`` is the claim (and its
    lease) the event announces, built from ``expected``; both None for an unknown task."""

    claim_id: uuid.UUID
    task_id: uuid.UUID
    contractor_id: str
    request_id: str
    now: datetime
    expected: Expected | None
    proposed: Claim | None
    event: OutboxRow | None

    def arguments(self) -> tuple[object, ...]:
        """claim_task()'s fifteen arguments, in order."""
        expected, proposed, event = self.expected, self.proposed, self.event
        return (
            self.claim_id,
            self.task_id,
            self.contractor_id,
            self.request_id,
            self.now,
            expected.project_id if expected else None,
            expected.revision if expected else None,
            event.event_id if event else None,
            event.topic if event else None,
            event.key if event else None,
            event.envelope if event else None,
            event.correlation_id if event else None,
            proposed.lease_seconds if proposed else None,
            proposed.deadline_at if proposed else None,
            proposed.max_deadline_at if proposed else None,
        )


_CLAIM_ARGS = ", ".join(f"${i}" for i in range(1, 16))


async def claim(conn: asyncpg.Connection, request: ClaimRequest) -> asyncpg.Record:
    """Every check, the grant and its event in one statement (the claim_task() SQL
    function), committed on its own: one round trip, which also reads the project's title
    and whether the task is unpaid."""
    row = await conn.fetchrow(
        f"SELECT c.*, {_TITLE}, (SELECT t.unpaid FROM open_tasks t WHERE t.task_id = $2)"
        f" AS unpaid FROM claim_task({_CLAIM_ARGS}) c",
        *request.arguments(),
    )
    assert row is not None, "claim_task() always returns one row"
    return row


async def claim_many(
    conn: asyncpg.Connection, requests: Sequence[ClaimRequest]
) -> list[asyncpg.Record]:
    """``claim`` for each request, in order, in one statement and one transaction
    (claim_tasks(): group commit); their rows, in the same order."""
    columns = list(zip(*(r.arguments() for r in requests), strict=True))
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT c.*, {_TITLE}, (SELECT t.unpaid FROM open_tasks t"
        " WHERE t.task_id = ($2::uuid[])[c.ord]) AS unpaid"
        " FROM claim_tasks($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[],"
        " $6::text[], $7::bigint[], $8::uuid[], $9::text[], $10::bytea[],"
        " $11::bytea[], $12::text[], $13::integer[], $14::timestamptz[], $15::timestamptz[]) c"
        " ORDER BY c.ord",
        *columns,
    )
    assert len(rows) == len(requests), "claim_tasks() returns one row per claim"
    return rows


async def claim_with_work(
    conn: asyncpg.Connection, claim_id: uuid.UUID
) -> tuple[Claim, Payload, str] | None:
    row = await conn.fetchrow(
        "SELECT c.*, t.payload_json, t.payload_bytes, t.unpaid, p.instructions,"
        " p.title AS project_title"
        " FROM claims c"
        " JOIN open_tasks t ON t.task_id = c.task_id"
        " LEFT JOIN projects p ON p.project_id = c.project_id WHERE c.claim_id = $1",
        claim_id,
    )
    if row is None:
        return None
    payload = Payload(json=row["payload_json"], data=row["payload_bytes"])
    return _claim(row), payload, row["instructions"] or ""


async def get_claim(
    conn: asyncpg.Connection, claim_id: uuid.UUID, *, for_update: bool = False
) -> Claim | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_CLAIM_COLUMNS} FROM claims c WHERE c.claim_id = $1{lock}", claim_id
    )
    return _claim(row) if row else None


async def kept_result(conn: asyncpg.Connection, claim_id: uuid.UUID) -> bytes:
    """The work stored with a submitted claim."""
    result = await conn.fetchval("SELECT result FROM claims WHERE claim_id = $1", claim_id)
    return bytes(result or b"")


async def save_claim(
    conn: asyncpg.Connection, claim: Claim, *, result: bytes | None = None
) -> bool:
    """Compare-and-set: write ``claim`` over the version it was made from; False when
    another writer changed the claim first (nothing is written then)."""
    status = await conn.execute(
        "UPDATE claims SET status = $2, version = $3, deadline_at = $4, worked_seconds = $5,"
        " submitted_at = $6, end_reason = $7, ended_at = $8, result = COALESCE($9, result),"
        " segment_starts = $11, segment_ends = $12, review = $13"
        " WHERE claim_id = $1 AND version = $10",
        claim.claim_id,
        claim.status.value,
        claim.version,
        claim.deadline_at,
        claim.worked_seconds,
        claim.submitted_at,
        claim.end_reason.value if claim.end_reason else None,
        claim.ended_at,
        result,
        claim.version - 1,
        [s.started_at for s in claim.segments],
        [s.ended_at for s in claim.segments],
        claim.review.value if claim.review else None,
    )
    return bool(status == "UPDATE 1")


async def save_review(conn: asyncpg.Connection, claim: Claim) -> None:
    """Write a submitted claim's review (its row locked by the caller)."""
    assert claim.review is not None
    await conn.execute(
        "UPDATE claims SET review = $2, feedback = $3, reviewed_at = $4 WHERE claim_id = $1",
        claim.claim_id,
        claim.review.value,
        claim.feedback,
        claim.reviewed_at,
    )


async def task_state(
    conn: asyncpg.Connection, task_id: uuid.UUID, *, lock: bool = False
) -> TaskState | None:
    """The task's lifecycle and its project's state; ``lock`` takes the task's row lock
    (taken before any claim row's, always: see claim_task())."""
    row = await conn.fetchrow(
        "SELECT t.lifecycle, t.expires_at, p.state FROM open_tasks t"
        " LEFT JOIN projects p ON p.project_id = t.project_id WHERE t.task_id = $1"
        + (" FOR NO KEY UPDATE OF t" if lock else ""),
        task_id,
    )
    if row is None:
        return None
    return TaskState(
        task_id=task_id,
        lifecycle=TaskLifecycle(row["lifecycle"]),
        expires_at=row["expires_at"],
        project_state=ProjectState(row["state"]) if row["state"] else None,
    )


async def free_slot(conn: asyncpg.Connection, task_id: uuid.UUID) -> None:
    """A claim ended without work: its slot is free again."""
    await conn.execute(
        "UPDATE open_tasks SET free_slots = least(free_slots + 1, slots) WHERE task_id = $1",
        task_id,
    )


async def change_task(
    conn: asyncpg.Connection,
    *,
    task_id: uuid.UUID,
    revision: int,
    lifecycle: TaskLifecycle,
    slots: int,
    expires_at: datetime | None,
) -> tuple[TaskLifecycle, int] | None:
    """Apply the dispatcher's TaskChanged if it is newer than what we hold: lifecycle,
    lifetime, and slots (only ever raised: the added ones are free). The task's lifecycle
    before and the slots added; None when nothing changed (a redelivery, an older
    revision, or a task we never had)."""
    before = await conn.fetchrow(
        "SELECT lifecycle, slots, revision FROM open_tasks WHERE task_id = $1 FOR NO KEY UPDATE",
        task_id,
    )
    if before is None or before["revision"] >= revision:
        return None
    added = max(slots - before["slots"], 0)
    await conn.execute(
        "UPDATE open_tasks SET revision = $2, lifecycle = $3, expires_at = $4,"
        " slots = slots + $5, free_slots = free_slots + $5 WHERE task_id = $1",
        task_id,
        revision,
        lifecycle.value,
        expires_at,
        added,
    )
    return TaskLifecycle(before["lifecycle"]), added


async def cut_task_claims(
    conn: asyncpg.Connection, task_id: uuid.UUID, reason: EndReason, *, now: datetime
) -> int:
    """Cut the task's live claims short (not those cut already, nor those whose lease ran
    out before: they lapse as they would have); how many."""
    status = await conn.execute(
        "UPDATE claims SET cut = $2, version = version + 1"
        " WHERE task_id = $1 AND status = 'active' AND cut IS NULL AND deadline_at > $3",
        task_id,
        reason.value,
        now,
    )
    return int(status.split()[-1])


async def cut_project_claims(
    conn: asyncpg.Connection, project_id: str, reason: EndReason, *, now: datetime
) -> int:
    """Cut the project's live claims short, as ``cut_task_claims``; how many. By the
    partial index of live uncut claims: the cost is the project's own live claims."""
    status = await conn.execute(
        "UPDATE claims SET cut = $2, version = version + 1"
        " WHERE project_id = $1 AND status = 'active' AND cut IS NULL AND deadline_at > $3",
        project_id,
        reason.value,
        now,
    )
    return int(status.split()[-1])


async def list_claims(conn: asyncpg.Connection, query: ListClaims, *, limit: int) -> list[Claim]:
    """The contractor's claims, newest first, after the cursor, filtered."""
    where = Where("contractor_id = {}", query.contractor_id)
    if query.status is not None:
        where.add("status = {}", query.status.value)
    if query.task_id is not None:
        where.add("task_id = {}", query.task_id)
    if query.project_id is not None:
        where.add("project_id = {}", query.project_id)
    if query.after is not None:
        where.add("(granted_at, claim_id) < ({}, {})", *query.after)
    rows = await conn.fetch(
        f"SELECT {_CLAIM_COLUMNS} FROM claims c WHERE {where.sql}"
        f" ORDER BY granted_at DESC, claim_id DESC LIMIT {limit:d}",
        *where.args,
    )
    return [_claim(r) for r in rows]


_OFFER_COLUMNS = (
    "t.task_id, t.project_id, t.free_slots, t.priority, t.published_at, t.expires_at,"
    " p.title, p.instructions, p.terms_version, p.terms_basis, p.rate_currency, p.rate_minor,"
    " p.max_paid_seconds, p.answer_spec_version, t.reserved_for, t.unpaid"
)
# Offered only while the task is live and its project active; the partial index
# open_tasks_offered holds exactly the live tasks with free slots. A reserved task only
# to its contractor.


def _offer(row: asyncpg.Record) -> Offer:
    return Offer(
        task_id=row["task_id"],
        project_id=row["project_id"],
        title=row["title"],
        instructions=row["instructions"],
        terms=terms_of(row),
        free_slots=row["free_slots"],
        priority=row["priority"],
        published_at=row["published_at"],
        expires_at=row["expires_at"],
        answer_spec_version=row["answer_spec_version"],
        reserved_for=row["reserved_for"],
        unpaid=row["unpaid"],
    )


async def offers_for(
    conn: asyncpg.Connection,
    query: ListOffers,
    *,
    now: datetime,
    limit: int,
    specs: AnswerSpecs,
) -> list[Offer]:
    """The contractor's offers after the cursor: for each project they are eligible for, the
    first ``limit`` open tasks by the index, then merged. Cost grows with the contractor's
    projects and ``limit``, not with the pool or the number of contractors. Each offer
    carries its project's answer spec (from ``specs``: a query only for one not cached)."""
    after = query.after
    rows = await conn.fetch(
        f"SELECT {_OFFER_COLUMNS} FROM eligibility e"
        " JOIN projects p ON p.project_id = e.project_id"
        " CROSS JOIN LATERAL (SELECT * FROM open_tasks o"
        "   WHERE o.project_id = e.project_id AND o.free_slots > 0 AND o.lifecycle = 'live'"
        "   AND (o.expires_at IS NULL OR o.expires_at > $3)"
        "   AND (o.reserved_for IS NULL OR o.reserved_for = $1)"
        "   AND ($4::int IS NULL OR (-o.priority, o.published_at, o.task_id)"
        "        > (-$4::int, $5::timestamptz, $6::uuid))"
        "   AND NOT EXISTS (SELECT 1 FROM claims c"
        "        WHERE c.task_id = o.task_id AND c.contractor_id = $1)"
        "   ORDER BY -o.priority, o.published_at, o.task_id LIMIT $2) t"
        " WHERE e.contractor_id = $1 AND ($7::text IS NULL OR e.project_id = $7)"
        " AND p.state = 'active'"
        " ORDER BY -t.priority, t.published_at, t.task_id LIMIT $2",
        query.contractor_id,
        limit,
        now,
        after.priority if after else None,
        after.published_at if after else None,
        after.task_id if after else None,
        query.project_id,
    )
    return await specs.shown_offers(conn, [_offer(r) for r in rows])


async def offers_of_tasks(
    conn: asyncpg.Connection,
    task_ids: Sequence[uuid.UUID],
    *,
    now: datetime,
    specs: AnswerSpecs,
) -> list[Offer]:
    """These tasks as offers, if they are still claimable (for the offer streams), with
    their projects' answer specs. Reserved ones too: each stream checks
    ``Offer.offered_to``."""
    rows = await conn.fetch(
        f"SELECT {_OFFER_COLUMNS} FROM open_tasks t JOIN projects p ON p.project_id = t.project_id"
        " WHERE t.task_id = ANY($1::uuid[]) AND t.free_slots > 0 AND t.lifecycle = 'live'"
        " AND p.state = 'active' AND (t.expires_at IS NULL OR t.expires_at > $2)",
        list(task_ids),
        now,
    )
    return await specs.shown_offers(conn, [_offer(r) for r in rows])


async def claimants(
    conn: asyncpg.Connection, task_ids: Sequence[uuid.UUID]
) -> set[tuple[uuid.UUID, str]]:
    """(task, contractor) for every claim on these tasks."""
    rows = await conn.fetch(
        "SELECT task_id, contractor_id FROM claims WHERE task_id = ANY($1::uuid[])", list(task_ids)
    )
    return {(r["task_id"], r["contractor_id"]) for r in rows}


async def ended_with_its_claim(conn: asyncpg.Connection, task_id: uuid.UUID) -> bool:
    """Whether the task is reserved and was ended by its contractor's claim (the SQL
    function of 0010, which claim_task() asks too)."""
    return bool(await conn.fetchval("SELECT ended_with_its_claim($1)", task_id))
