"""The final state of a chaos run, read once the stack has quiesced: each service's
rows straight from its database (read only), the books and every client's Watch
through the SDK, as an operator and the clients would see them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg

from chaos import effects
from chaos.model import (
    BonusRow,
    BooksFigures,
    ClaimRow,
    DeadlineRow,
    Posting,
    ProjectRow,
    State,
    SubmissionRow,
    TaskRow,
    WatchedEvent,
)
from chaos.state_quality import key_hits, read_blocks, read_quality
from crewline.client import Client, Operator
from crewline.client.results.ledger import BooksCheck
from crewline.events import CLAIMS_TOPIC, TASKS_TOPIC
from crewline.paging import decode_token, encode_token
from crewline.v1 import task_service_pb2

SERVICES = ("dispatcher", "matcher", "ledger", "quality")
CURRENCY = "USD"
WATCH_START = encode_token("w", "0")  # the cursor before a client's first Watch event


def watched_event(event: task_service_pb2.WatchEvent) -> WatchedEvent:
    """One Watch event as the checker compares them: its seq (from its cursor), its kind
    (the oneof's name) and the task and claim or submission it names."""
    _, seq = decode_token(event.cursor, parts=2, field="cursor")
    kind = event.WhichOneof("event") or ""
    body = getattr(event, kind) if kind else None
    claim_id = getattr(body, "claim_id", "") or getattr(body, "submission_id", "")
    return WatchedEvent(seq=int(seq), kind=kind, task_id=event.task_id, claim_id=claim_id)


async def collect(
    *,
    dsns: dict[str, str],
    operator: Operator,
    clients: dict[str, Client],
    watched_live: dict[str, list[WatchedEvent]],
    fee_bps: int,
    referral_bonus_minor: int,
    watch_timeout: float = 120.0,
) -> State:
    """Everything the checker reads. ``dsns``: each service's database; ``clients``: the
    SDK of each client whose Watch is replayed from its first event; ``watched_live``:
    what the run's live watchers saw, kept as it is."""
    state = State(
        taken_at=time.time(),
        fee_bps=fee_bps,
        referral_bonus_minor=referral_bonus_minor,
        watched_live=watched_live,
    )
    async with _connected(dsns) as db:
        await _read_dispatcher(db["dispatcher"], state)
        await _read_matcher(db["matcher"], state)
        await _read_ledger(db["ledger"], state)
        await read_quality(db["quality"], state)
        await read_blocks(db["matcher"], state)
        keys = sorted({g.answer_json for g in state.gold})
        for service, conn in db.items():
            await _read_kernel(conn, service, state)
            state.key_hits[service] = await key_hits(conn, keys)
    state.books = books_figures(await operator.verify_books())
    for client_id, client in clients.items():
        last = state.watch_heads.get(client_id, 0)
        state.watch_replay[client_id] = await replay(client, last_seq=last, timeout=watch_timeout)
    return state


@asynccontextmanager
async def _connected(dsns: dict[str, str]) -> AsyncIterator[dict[str, asyncpg.Connection]]:
    async with AsyncExitStack() as stack:
        conns = {}
        for service in SERVICES:
            conn = await asyncpg.connect(dsns[service])
            stack.push_async_callback(conn.close)
            conns[service] = conn
        yield conns


async def replay(client: Client, *, last_seq: int, timeout: float) -> list[WatchedEvent]:
    """The client's Watch from its first event up to ``last_seq``; what was read by then
    when ``timeout`` runs out (the checker reports the rest missing)."""
    seen: list[WatchedEvent] = []
    if last_seq <= 0:
        return seen
    stream = client.watch(cursor=WATCH_START)
    try:
        async with asyncio.timeout(timeout):
            async for event in stream:
                seen.append(watched_event(event))
                if seen[-1].seq >= last_seq:
                    break
    except TimeoutError:
        pass
    finally:
        await stream.aclose()
    return seen


def books_figures(check: BooksCheck) -> BooksFigures:
    return BooksFigures(
        balanced=check.balanced,
        transactions=check.transaction_count,
        accepted_submissions=check.accepted_submission_count,
        unpaid=check.unpaid_count,
        paid_twice=check.paid_twice_count,
        rejected_paid=check.rejected_with_pay_count,
    )


def _epoch(at: object) -> float | None:
    return None if at is None else at.timestamp()  # type: ignore[attr-defined]


# --- the dispatcher ----------------------------------------------------------------------


async def _read_dispatcher(conn: asyncpg.Connection, state: State) -> None:
    rows = await conn.fetch("SELECT project_id, client_id, request_id, state FROM projects")
    state.projects = [ProjectRow(**dict(r)) for r in rows]
    rows = await conn.fetch(
        "SELECT task_id::text, client_id, project_id, idempotency_key, status, slots,"
        " accepted_count, rejected_count, reserved_for FROM tasks"
    )
    state.tasks = [TaskRow(**dict(r)) for r in rows]
    rows = await conn.fetch(
        "SELECT submission_id::text, task_id::text, contractor_id, client_id, project_id,"
        " status, accepted_by, worked_seconds, terms_basis, terms_rate_minor AS rate_minor,"
        " terms_max_paid_seconds AS max_paid_seconds FROM submissions"
    )
    state.submissions = [SubmissionRow(**dict(r)) for r in rows]
    rows = await conn.fetch(
        "SELECT bonus_id::text, client_id, idempotency_key, submission_id::text, amount_minor"
        " FROM bonuses"
    )
    state.bonuses = [BonusRow(**dict(r)) for r in rows]
    rows = await conn.fetch(
        "SELECT kind, ref, generation, due_at, fired_at, dead_at FROM deadlines"
    )
    state.deadlines = [
        DeadlineRow(
            kind=r["kind"],
            ref=r["ref"],
            generation=r["generation"],
            due_at=r["due_at"].timestamp(),
            fired_at=_epoch(r["fired_at"]),
            dead_at=_epoch(r["dead_at"]),
        )
        for r in rows
    ]
    rows = await conn.fetch("SELECT client_id, last_seq FROM watch_heads")
    state.watch_heads = {r["client_id"]: r["last_seq"] for r in rows}
    outbox = await conn.fetch("SELECT envelope FROM outbox WHERE topic = $1", TASKS_TOPIC)
    state.deadline_effects = effects.deadline_effects(r["envelope"] for r in outbox)


# --- the matcher -------------------------------------------------------------------------


async def _read_matcher(conn: asyncpg.Connection, state: State) -> None:
    outbox = await conn.fetch(
        "SELECT id, envelope FROM outbox WHERE topic = $1 ORDER BY id", CLAIMS_TOPIC
    )
    order = effects.claim_order((r["id"], r["envelope"]) for r in outbox)
    rows = await conn.fetch(
        "SELECT claim_id::text, task_id::text, contractor_id, request_id, status, end_reason,"
        " cut, granted_at, ended_at, worked_seconds, terms_basis, rate_minor,"
        " max_paid_seconds FROM claims"
    )
    state.claims = [
        ClaimRow(
            **{
                **dict(r),
                "granted_at": r["granted_at"].timestamp(),
                "ended_at": _epoch(r["ended_at"]),
                "granted_seq": order.granted.get(r["claim_id"]),
                "ended_seq": order.ended.get(r["claim_id"]),
            }
        )
        for r in rows
    ]
    rows = await conn.fetch(
        "SELECT contractor_id, referred_by FROM contractors WHERE referred_by IS NOT NULL"
    )
    state.referrals = {r["contractor_id"]: r["referred_by"] for r in rows}


# --- the ledger --------------------------------------------------------------------------


async def _read_ledger(conn: asyncpg.Connection, state: State) -> None:
    rows = await conn.fetch(
        "SELECT t.transaction_id::text, t.source, t.kind, e.account_id, e.amount_minor"
        " FROM journal_transactions t JOIN journal_entries e USING (transaction_id)"
        " WHERE e.currency = $1 ORDER BY e.entry_id",
        CURRENCY,
    )
    postings: dict[str, Posting] = {}
    for r in rows:
        txn = r["transaction_id"]
        if txn not in postings:
            postings[txn] = Posting(
                transaction_id=txn, source=r["source"], kind=r["kind"], entries={}
            )
        postings[txn].entries[r["account_id"]] = r["amount_minor"]
    state.postings = list(postings.values())
    rows = await conn.fetch(
        "SELECT account_id, balance_minor FROM balances WHERE currency = $1", CURRENCY
    )
    state.balances = {r["account_id"]: r["balance_minor"] for r in rows}


# --- every service -----------------------------------------------------------------------


async def _read_kernel(conn: asyncpg.Connection, service: str, state: State) -> None:
    """The kernel's tables: dead letters, dead-lettered clocks, outbox rows not sent."""
    state.open_dead_letters[service] = await conn.fetchval(
        "SELECT count(*) FROM dead_letters WHERE applied_at IS NULL"
    )
    state.dead_deadlines += await conn.fetchval(
        "SELECT count(*) FROM deadlines WHERE dead_at IS NOT NULL"
    )
    state.unsent_outbox[service] = await conn.fetchval(
        "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
    )
