"""The ledger's books through its handlers (issue 8): every posting kind with its exact
entries and balances, the platform fee and its rounding, referrals paid once whichever
event comes first, an override acceptance paid once, payout batches, statements,
earnings, Verify catching what it should, redelivery in any order, and events with
bad money refused with nothing posted.

Events are handed to the handlers as the consumer would, in a transaction, but with no
inbox: the unique source alone must make a second posting impossible.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message

from crewline.auth.principal import OPERATOR, Kind, Principal
from crewline.consumer import EventContext
from crewline.db import KERNEL_MIGRATIONS, create_pool, migrate, migrate_service
from crewline.errors import InvalidArgument, NotFound
from crewline.events import PayloadTypes, parse_envelope
from crewline.money import Money
from crewline.paging import encode_token
from crewline.protobuf import money_to_pb, timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import contractor_admin_service_pb2 as contractor_pb
from crewline.v1 import events_pb2
from ledger.adapters import payouts as payout_sql
from ledger.bootstrap import MIGRATIONS
from ledger.deps import Deps
from ledger.domain.model import BooksReport, PostingKind
from ledger.domain.payouts import RunPayoutBatch
from ledger.handlers import books, event_routes, payouts
from ledger.settings import LedgerSettings

from stack import fresh_database

CTX = EventContext("e", "c", "dispatcher", "t", 0, 0)
USD = "USD"
ACME = Principal(Kind.CLIENT, "acme")
ANN = Principal(Kind.CONTRACTOR, "ann")
Handlers = dict[type[Message], Callable[..., Awaitable[None]]]


async def ledger(name: str, clock: FakeClock, env: dict[str, str] | None = None) -> Deps:
    """The ledger's deps on a database of its own (migrations applied)."""
    pool = await create_pool(await fresh_database(f"h_ledger_{name}"))
    await migrate_service(pool, service="ledger", directory=MIGRATIONS)
    return Deps.build(pool=pool, clock=clock, settings=LedgerSettings.from_env(env or {}))


@pytest.fixture
async def deps(
    infra: None, clock: FakeClock, request: pytest.FixtureRequest
) -> AsyncIterator[Deps]:
    built = await ledger(request.node.name, clock)
    yield built
    await built.pool.close()


# --- events --------------------------------------------------------------------------


def usd(amount: int, currency: str = USD) -> Any:
    return money_to_pb(Money(currency, amount))


def accepted(
    sub: str,
    *,
    reward: int = 1500,
    contractor: str = "ann",
    client: str = "acme",
    project: str = "p1",
    by: events_pb2.AcceptedBy.ValueType = events_pb2.ACCEPTED_BY_CLIENT,
    at: datetime | None = None,
    worked: int = 0,
    claimed: int = 0,
    currency: str = USD,
) -> events_pb2.SubmissionAccepted:
    at = at or datetime.fromisoformat("2026-01-01T12:00:00+00:00")
    e = events_pb2.SubmissionAccepted(
        submission_id=sub,
        task_id=f"t-{sub}",
        contractor_id=contractor,
        client_id=client,
        project_id=project,
        reward=usd(reward, currency),
        accepted_by=by,
        accepted_at=timestamp(at),
        worked_seconds=worked,
    )
    if claimed:
        e.granted_at.CopyFrom(timestamp(at - timedelta(seconds=claimed + 60)))
        e.submitted_at.CopyFrom(timestamp(at - timedelta(seconds=60)))
    return e


def rejected(sub: str, *, contractor: str = "ann", client: str = "acme") -> Message:
    return events_pb2.SubmissionRejected(
        submission_id=sub,
        task_id=f"t-{sub}",
        contractor_id=contractor,
        client_id=client,
        project_id="p1",
        feedback="not what was asked",
    )


def bonus(
    bonus_id: str, amount: int, *, sub: str = "s1", contractor: str = "ann"
) -> events_pb2.BonusGranted:
    return events_pb2.BonusGranted(
        bonus_id=bonus_id,
        submission_id=sub,
        contractor_id=contractor,
        client_id="acme",
        project_id="p1",
        amount=usd(amount),
        reason="thorough work",
    )


def settled(claim: str, amount: int, *, contractor: str = "ann") -> events_pb2.ClaimSettled:
    return events_pb2.ClaimSettled(
        claim_id=claim, contractor_id=contractor, client_id="acme", amount=usd(amount)
    )


def changed(contractor: str, referred_by: str = "", revision: int = 1) -> Message:
    return events_pb2.ContractorChanged(
        contractor=contractor_pb.Contractor(
            contractor_id=contractor, referred_by=referred_by, revision=revision
        )
    )


def balances_around_a_threshold() -> tuple[Message, ...]:
    """Accepted work leaving ann 20.00, bob 10.00 and cy 9.99 USD and dee 50.00 EUR: at a
    10.00 USD threshold ann and bob are paid, cy is under it and dee's is another currency."""
    return (
        accepted("s1", reward=2000, contractor="ann"),
        accepted("s2", reward=1000, contractor="bob"),
        accepted("s3", reward=999, contractor="cy"),
        accepted("s4", reward=5000, contractor="dee", currency="EUR"),
    )


async def deliver(deps: Deps, *events: Message) -> None:
    """Each event as the consumer applies it: in a transaction of its own."""
    routes = event_routes(deps)
    for event in events:
        async with deps.pool.acquire() as conn, conn.transaction():
            await routes[type(event)](conn, event, CTX)


async def deliver_grouped(deps: Deps, events: Sequence[Message], rng: random.Random) -> None:
    """As the consumer applies a backlog: runs of up to 100 events in one transaction."""
    routes = event_routes(deps)
    at = 0
    while at < len(events):
        size = rng.randint(1, 100)
        async with deps.pool.acquire() as conn, conn.transaction():
            for event in events[at : at + size]:
                await routes[type(event)](conn, event, CTX)
        at += size


# --- reading the books -----------------------------------------------------------------


async def balance(deps: Deps, account: str, currency: str = USD) -> int:
    value = await deps.pool.fetchval(
        "SELECT balance_minor FROM balances WHERE account_id = $1 AND currency = $2",
        account,
        currency,
    )
    return int(value or 0)


async def entries(deps: Deps, source: str) -> list[tuple[str, int, int]]:
    rows = await deps.pool.fetch(
        "SELECT e.account_id, e.amount_minor, e.balance_after FROM journal_entries e"
        " JOIN journal_transactions t USING (transaction_id) WHERE t.source = $1"
        " ORDER BY e.entry_id",
        source,
    )
    return [(r["account_id"], r["amount_minor"], r["balance_after"]) for r in rows]


async def sources(deps: Deps) -> list[str]:
    rows = await deps.pool.fetch("SELECT source FROM journal_transactions ORDER BY source")
    return [r["source"] for r in rows]


async def snapshot(deps: Deps) -> tuple[list[tuple[str, str, int]], list[str]]:
    """What must come out identical however the events arrived: balances and sources."""
    rows = await deps.pool.fetch(
        "SELECT account_id, currency, balance_minor FROM balances ORDER BY 1, 2"
    )
    return [(r[0], r[1], r[2]) for r in rows], await sources(deps)


_TYPES = PayloadTypes.of([events_pb2.PayPosted])


async def pay_posted(deps: Deps) -> list[events_pb2.PayPosted]:
    rows = await deps.pool.fetch("SELECT envelope FROM outbox ORDER BY id")
    found = [_TYPES.unpack(parse_envelope(r["envelope"])) for r in rows]
    return [e for e in found if isinstance(e, events_pb2.PayPosted)]


async def verify(deps: Deps) -> BooksReport:
    return await books.verify_books(deps)


# --- postings --------------------------------------------------------------------------


async def test_pay_debits_client_pay_and_fee_credits_contractor_and_platform(deps: Deps) -> None:
    await deliver(deps, accepted("s1", reward=1500))

    assert await entries(deps, "submission:s1") == [
        ("client:acme", -1800, -1800),
        ("contractor:ann", 1500, 1500),
        ("platform:fees", 300, 300),
    ]
    [posted] = await pay_posted(deps)
    assert (posted.account_id, posted.amount.amount_minor) == ("contractor:ann", 1500)
    assert (posted.source, posted.kind, posted.submission_id) == (
        "submission:s1",
        events_pb2.POSTING_KIND_PAY,
        "s1",
    )

    await deliver(deps, accepted("s2", reward=1000))
    assert await entries(deps, "submission:s2") == [
        ("client:acme", -1200, -3000),
        ("contractor:ann", 1000, 2500),
        ("platform:fees", 200, 500),
    ]
    assert await books.get_balance(None, ANN, deps) == ("contractor:ann", [Money(USD, 2500)])
    assert await books.get_balance(None, ACME, deps) == ("client:acme", [Money(USD, -3000)])


@pytest.mark.parametrize(
    ("reward", "fee_bps", "fee"),
    [
        pytest.param(1, 2000, 1, id="a-fraction-rounds-up-to-one-unit"),
        pytest.param(12345, 2000, 2469, id="exact"),
        pytest.param(12346, 2000, 2470, id="0.2-rounds-up"),
        pytest.param(999, 1, 1, id="one-basis-point"),
        pytest.param(1500, 0, 0, id="no-fee-no-entry"),
    ],
)
async def test_fee_is_rounded_up_to_a_whole_minor_unit(
    infra: None, clock: FakeClock, reward: int, fee_bps: int, fee: int, request: Any
) -> None:
    deps = await ledger(request.node.name, clock, {"CREWLINE_LEDGER_FEE_BPS": str(fee_bps)})
    try:
        await deliver(deps, accepted("s1", reward=reward))
        expected = [
            ("client:acme", -(reward + fee), -(reward + fee)),
            ("contractor:ann", reward, reward),
        ]
        if fee:
            expected.append(("platform:fees", fee, fee))
        assert await entries(deps, "submission:s1") == expected
    finally:
        await deps.pool.close()


async def test_bonus_and_settlement_have_the_same_shape_and_post_once(deps: Deps) -> None:
    await deliver(deps, bonus("b1", 1000), bonus("b1", 1000), settled("c1", 2501))
    await deliver(deps, settled("c1", 2501))

    assert await entries(deps, "bonus:b1") == [
        ("client:acme", -1200, -1200),
        ("contractor:ann", 1000, 1000),
        ("platform:fees", 200, 200),
    ]
    assert await entries(deps, "settlement:c1") == [
        ("client:acme", -3002, -4202),  # 2501 + ceil(500.2)
        ("contractor:ann", 2501, 3501),
        ("platform:fees", 501, 701),
    ]
    kinds = await deps.pool.fetch("SELECT kind, memo FROM journal_transactions ORDER BY source")
    assert [(r["kind"], r["memo"]) for r in kinds] == [
        ("bonus", "thorough work"),
        ("settlement", ""),
    ]
    assert [(e.source, e.kind) for e in await pay_posted(deps)] == [
        ("bonus:b1", events_pb2.POSTING_KIND_BONUS),
        ("settlement:c1", events_pb2.POSTING_KIND_SETTLEMENT),
    ]


@pytest.mark.parametrize("referral_first", [True, False], ids=["referral-first", "work-first"])
async def test_referral_is_paid_once_whichever_event_comes_first(
    deps: Deps, referral_first: bool
) -> None:
    work = [accepted("s1", contractor="bob", currency="EUR"), accepted("s2", contractor="bob")]
    referral = changed("bob", referred_by="ann")
    first: list[Message] = [referral, *work] if referral_first else [*work, referral]
    await deliver(deps, *first)
    await deliver(deps, referral, changed("bob", referred_by="ann", revision=2), *work)

    assert await entries(deps, "referral:bob") == [
        ("platform:referrals", -25000, -25000),
        ("contractor:ann", 25000, 25000),
    ]
    assert await balance(deps, "contractor:ann") == 25000
    [posted] = [e for e in await pay_posted(deps) if e.kind == events_pb2.POSTING_KIND_REFERRAL]
    assert (posted.account_id, posted.amount.amount_minor) == ("contractor:ann", 25000)


@pytest.mark.parametrize("referral_first", [True, False], ids=["referral-first", "work-first"])
async def test_referral_and_work_applied_at_once_by_two_replicas_pay_it_once(
    deps: Deps, referral_first: bool
) -> None:
    """Neither transaction sees the other's uncommitted fact: the upsert of the
    contractor's row makes the second wait for the first, then see its fact, and post."""
    routes = event_routes(deps)
    first, second = changed("bob", referred_by="ann"), accepted("s1", contractor="bob")
    if not referral_first:
        first, second = second, first
    async with deps.pool.acquire() as one, deps.pool.acquire() as two:
        tx_one = one.transaction()
        await tx_one.start()
        await routes[type(first)](one, first, CTX)

        async def other_replica() -> None:
            async with two.transaction():
                await routes[type(second)](two, second, CTX)

        waiting = asyncio.create_task(other_replica())
        while not await deps.pool.fetchval(  # until it waits for the contractor's row
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ):
            assert not waiting.done()
            await asyncio.sleep(0.01)
        await tx_one.commit()
        await waiting

    assert [s for s in await sources(deps) if s.startswith("referral:")] == ["referral:bob"]
    assert await balance(deps, "contractor:ann") == 25000


async def test_no_referral_without_accepted_work_nor_for_rejected_work(deps: Deps) -> None:
    await deliver(deps, changed("bob", referred_by="ann"), rejected("s1", contractor="bob"))
    await deliver(deps, changed("cy"), accepted("s2", contractor="cy"))  # nobody referred cy

    assert [s for s in await sources(deps) if s.startswith("referral:")] == []


async def test_referral_bonus_and_currency_are_settings(
    infra: None, clock: FakeClock, request: Any
) -> None:
    env = {
        "CREWLINE_LEDGER_REFERRAL_BONUS_MINOR": "5000",
        "CREWLINE_LEDGER_REFERRAL_CURRENCY": "EUR",
    }
    deps = await ledger(request.node.name, clock, env)
    try:
        await deliver(deps, accepted("s1", contractor="bob"), changed("bob", referred_by="ann"))
        assert await entries(deps, "referral:bob") == [
            ("platform:referrals", -5000, -5000),
            ("contractor:ann", 5000, 5000),
        ]
        assert await balance(deps, "contractor:ann", "EUR") == 5000
    finally:
        await deps.pool.close()


async def test_override_acceptance_pays_once_and_a_late_rejection_undoes_nothing(
    deps: Deps,
) -> None:
    await deliver(deps, rejected("s1"))
    assert await sources(deps) == []
    assert (await verify(deps)).rejected_with_pay_count == 0

    override = accepted("s1", by=events_pb2.ACCEPTED_BY_OVERRIDE)
    await deliver(deps, override, override, rejected("s1"))

    assert await sources(deps) == ["submission:s1"]
    assert await balance(deps, "contractor:ann") == 1500
    report = await verify(deps)
    assert (report.accepted_submission_count, report.paid_once_count) == (1, 1)
    assert report.rejected_with_pay_count == 0 and report.every_submission_paid_once


# --- payouts ---------------------------------------------------------------------------


async def test_payout_batch_pays_each_balance_at_or_above_the_threshold_in_full(
    deps: Deps,
) -> None:
    await deliver(deps, *balances_around_a_threshold())
    batch = await payouts.run_payout_batch(
        RunPayoutBatch(batch_id="week-1", threshold=Money(USD, 1000)), deps
    )

    assert [(p.contractor_id, p.amount.amount_minor) for p in batch.payouts] == [
        ("ann", 2000),
        ("bob", 1000),
    ]
    assert batch.total == Money(USD, 3000) and batch.completed_at is not None
    assert await entries(deps, "payout:week-1:ann") == [
        ("contractor:ann", -2000, 0),
        ("payouts:in_flight", 2000, 2000),
    ]
    assert await balance(deps, "contractor:cy") == 999
    assert await balance(deps, "contractor:dee", "EUR") == 5000
    assert await balance(deps, "payouts:in_flight") == 3000
    kinds = await deps.pool.fetch(
        "SELECT DISTINCT kind FROM journal_transactions WHERE source LIKE 'payout:%'"
    )
    assert [r["kind"] for r in kinds] == ["payout"]
    assert (await verify(deps)).balanced


async def test_payout_batch_is_the_same_batch_forever(deps: Deps) -> None:
    await deliver(deps, accepted("s1", reward=2000), accepted("s2", reward=500, contractor="bob"))
    cmd = RunPayoutBatch(batch_id="week-1", threshold=Money(USD, 1000))
    first = await payouts.run_payout_batch(cmd, deps)

    await deliver(deps, accepted("s3", reward=3000, contractor="bob"), accepted("s4", reward=4000))
    again = await payouts.run_payout_batch(cmd, deps)
    assert again == first == await payouts.get_payout_batch("week-1", deps)
    assert await balance(deps, "contractor:bob") == 3500  # not in week-1's batch

    with pytest.raises(InvalidArgument) as err:
        await payouts.run_payout_batch(
            RunPayoutBatch(batch_id="week-1", threshold=Money(USD, 999)), deps
        )
    assert err.value.field == "batch_id"

    week2 = await payouts.run_payout_batch(
        RunPayoutBatch(batch_id="week-2", threshold=Money(USD, 1000)), deps
    )
    assert [(p.contractor_id, p.amount.amount_minor) for p in week2.payouts] == [
        ("ann", 4000),
        ("bob", 3500),
    ]
    with pytest.raises(NotFound):
        await payouts.get_payout_batch("week-3", deps)


async def test_payout_is_all_or_nothing_per_contractor_and_a_rerun_finishes_the_batch(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    await deliver(deps, accepted("s1", reward=2000), accepted("s2", reward=3000, contractor="bob"))
    settle = payout_sql.settle

    async def failing_for_bob(conn: Any, batch_id: str, contractor_id: str, **kw: Any) -> None:
        if contractor_id == "bob":
            raise ConnectionResetError("the database went away")
        await settle(conn, batch_id, contractor_id, **kw)

    monkeypatch.setattr(payout_sql, "settle", failing_for_bob)
    cmd = RunPayoutBatch(batch_id="week-1", threshold=Money(USD, 1000))
    with pytest.raises(ConnectionResetError):
        await payouts.run_payout_batch(cmd, deps)

    # ann's payout went out whole; bob's rolled back whole: no entry, balance untouched.
    assert await balance(deps, "contractor:ann") == 0
    assert await balance(deps, "contractor:bob") == 3000
    assert await entries(deps, "payout:week-1:bob") == []
    assert (await payouts.get_payout_batch("week-1", deps)).completed_at is None

    monkeypatch.setattr(payout_sql, "settle", settle)
    done = await payouts.run_payout_batch(cmd, deps)
    assert [(p.contractor_id, p.amount.amount_minor) for p in done.payouts] == [
        ("ann", 2000),
        ("bob", 3000),
    ]
    assert done.completed_at is not None
    assert await balance(deps, "payouts:in_flight") == 5000


@pytest.mark.parametrize(
    ("batch_id", "threshold", "field"),
    [
        ("", Money(USD, 1000), "batch_id"),
        ("has space", Money(USD, 1000), "batch_id"),
        ("w", Money(USD, 0), "threshold.amount_minor"),
        ("w", Money("XYZ", 1000), "threshold.currency_code"),
        ("w", Money("", 0), "threshold.currency_code"),
    ],
)
def test_payout_batch_mistakes_name_the_field(batch_id: str, threshold: Money, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        RunPayoutBatch(batch_id=batch_id, threshold=threshold)
    assert err.value.field == field


# --- statements and earnings -----------------------------------------------------------


async def test_statement_pages_newest_first_with_the_balance_after_each_entry(
    deps: Deps,
) -> None:
    await deliver(deps, *(accepted(f"s{i}", reward=100 * i) for i in range(1, 6)))
    await deliver(deps, accepted("x", contractor="bob"))

    seen: list[tuple[str, int, int]] = []
    token = ""
    pages = 0
    while True:
        account, page, token = await books.list_statement(None, ANN, deps, size=2, page_token=token)
        assert account == "contractor:ann"
        seen += [(e.source, e.amount.amount_minor, e.balance_after.amount_minor) for e in page]
        pages += 1
        if not token:
            break
    assert pages == 3
    assert seen == [
        ("submission:s5", 500, 1500),
        ("submission:s4", 400, 1000),
        ("submission:s3", 300, 600),
        ("submission:s2", 200, 300),
        ("submission:s1", 100, 100),
    ]
    _, page, _ = await books.list_statement("platform:fees", OPERATOR, deps, size=1)
    assert [(e.kind, e.source, e.balance_after.amount_minor) for e in page] == [
        (PostingKind.PAY, "submission:x", 20 + 40 + 60 + 80 + 100 + 300)
    ]


async def test_statements_and_balances_are_only_the_callers_own(deps: Deps) -> None:
    await deliver(deps, accepted("s1"))
    for read in (books.get_balance, books.list_statement):
        with pytest.raises(NotFound):
            await read("contractor:ann", ACME, deps)
        with pytest.raises(NotFound):
            await read("client:acme", ANN, deps)
        with pytest.raises(NotFound):
            await read("platform:fees", ANN, deps)
        with pytest.raises(InvalidArgument):
            await read(None, OPERATOR, deps)
    account, page, _ = await books.list_statement("client:acme", OPERATOR, deps)
    assert (account, [e.amount.amount_minor for e in page]) == ("client:acme", [-1800])
    for text in ("not-a-number", "\u00b2", str(2**63), "9" * 5000):
        with pytest.raises(InvalidArgument) as err:
            await books.list_statement(None, ANN, deps, page_token=encode_token(text))
        assert err.value.field == "page_token"


async def test_earnings_per_project_week_and_hour_with_the_rest_in_other(deps: Deps) -> None:
    monday = datetime.fromisoformat("2026-01-05T09:00:00+00:00")
    await deliver(
        deps,
        # week of 2025-12-29: p1 3000 over 2 h claimed, 1.5 h tracked
        accepted(
            "s1",
            reward=1000,
            project="p1",
            at=monday - timedelta(days=2),
            worked=1800,
            claimed=3600,
        ),
        accepted(
            "s2",
            reward=2000,
            project="p1",
            at=monday - timedelta(hours=9, seconds=1),  # Sunday 23:59:59
            worked=3600,
            claimed=3600,
        ),
        # week of 2026-01-05: p2 1000 over 7 s claimed, no time tracked
        accepted("s3", reward=1000, project="p2", at=monday, worked=0, claimed=7),
        accepted("s4", reward=999, project="p3", at=monday, currency="EUR", worked=60, claimed=0),
        bonus("b1", 400),
        settled("c1", 300),
        accepted("z", contractor="bob", reward=7777),
        changed("bob", referred_by="ann"),
    )

    earnings = await books.get_earnings(None, ANN, deps)
    lines = {
        (group, line.key, line.paid.currency): (
            line.paid.amount_minor,
            line.submissions,
            line.claimed_seconds,
            line.tracked_seconds,
            line.per_claimed_hour and line.per_claimed_hour.amount_minor,
            line.per_tracked_hour and line.per_tracked_hour.amount_minor,
        )
        for group, found in (
            ("project", earnings.by_project),
            ("week", earnings.by_week),
            ("total", earnings.total),
        )
        for line in found
    }
    assert lines == {
        ("project", "p1", USD): (3000, 2, 7200, 5400, 1500, 2000),
        ("project", "p2", USD): (1000, 1, 7, 0, 514285, None),  # floor(1000 x 3600 / 7)
        ("project", "p3", "EUR"): (999, 1, 0, 60, None, 59940),
        ("week", "2025-12-29", USD): (3000, 2, 7200, 5400, 1500, 2000),
        ("week", "2026-01-05", "EUR"): (999, 1, 0, 60, None, 59940),
        ("week", "2026-01-05", USD): (1000, 1, 7, 0, 514285, None),
        ("total", "", "EUR"): (999, 1, 0, 60, None, 59940),
        ("total", "", USD): (4000, 3, 7207, 5400, 1998, 2666),
    }
    assert earnings.other == (Money(USD, 400 + 300 + 25000),)
    assert (await books.get_earnings("ann", OPERATOR, deps)) == earnings
    with pytest.raises(NotFound):
        await books.get_earnings("bob", ANN, deps)
    with pytest.raises(InvalidArgument):
        await books.get_earnings(None, OPERATOR, deps)


# --- verify ----------------------------------------------------------------------------


async def inject_transaction(
    deps: Deps,
    source: str,
    legs: list[tuple[str, int]],
    *,
    kind: str = "pay",
    sub: str | None = None,
) -> None:
    """Write a transaction past the ledger's rules, as a bug or a hand edit would."""
    txn = uuid.uuid4()
    async with deps.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO journal_transactions"
            " (transaction_id, source, kind, posted_at, submission_id)"
            " VALUES ($1, $2, $3, now(), $4)",
            txn,
            source,
            kind,
            sub,
        )
        for account, amount in legs:
            after = await conn.fetchval(
                "INSERT INTO balances (account_id, currency, balance_minor) VALUES ($1, 'USD', $2)"
                " ON CONFLICT (account_id, currency)"
                " DO UPDATE SET balance_minor = balances.balance_minor + $2"
                " RETURNING balance_minor",
                account,
                amount,
            )
            await conn.execute(
                "INSERT INTO journal_entries (transaction_id, account_id, currency, amount_minor,"
                " balance_after) VALUES ($1, $2, 'USD', $3, $4)",
                txn,
                account,
                amount,
                after,
            )


async def test_verify_passes_clean_books_and_counts_what_it_checked(deps: Deps) -> None:
    await deliver(
        deps,
        accepted("s1"),
        accepted("s2", contractor="bob"),
        rejected("s3"),
        bonus("b1", 100),
        changed("bob", referred_by="ann"),
    )
    await payouts.run_payout_batch(RunPayoutBatch(batch_id="w", threshold=Money(USD, 1)), deps)

    report = await verify(deps)
    assert report.balanced and report.every_submission_paid_once
    assert (report.transaction_count, report.entry_count) == (6, 3 + 3 + 3 + 2 + 2 * 2)
    assert report.account_count == 6  # acme, ann, bob, fees, referrals, in flight
    assert (report.accepted_submission_count, report.paid_once_count) == (2, 2)
    assert report.total_paid_to_contractors == (Money(USD, 1500 + 1500 + 100 + 25000),)
    assert report.verified_at == deps.clock.now()


async def test_verify_finds_an_unbalanced_transaction(deps: Deps) -> None:
    await deliver(deps, accepted("s1"))
    await inject_transaction(
        deps, "bug:1", [("client:acme", -100), ("contractor:ann", 99)], kind="bonus"
    )
    report = await verify(deps)
    assert report.unbalanced_transaction_count == 1 and report.mismatched_balance_count == 0
    assert not report.balanced


async def test_verify_finds_a_balance_that_is_not_its_entries_sum(deps: Deps) -> None:
    await deliver(deps, accepted("s1"), accepted("s2", contractor="bob"))
    await deps.pool.execute(
        "UPDATE balances SET balance_minor = balance_minor + 1 WHERE account_id = 'contractor:bob'"
    )
    report = await verify(deps)
    assert report.mismatched_balance_count == 1 and report.unbalanced_transaction_count == 0
    assert not report.balanced


async def test_verify_finds_work_paid_twice_unpaid_and_rejected_but_paid(deps: Deps) -> None:
    await deliver(deps, accepted("s1"), accepted("s2"), rejected("s3"))
    await inject_transaction(
        deps, "submission:s1:again", [("client:acme", -10), ("contractor:ann", 10)], sub="s1"
    )
    await deps.pool.execute(
        "INSERT INTO submissions (submission_id, task_id, contractor_id, client_id, project_id,"
        " accepted_at, reward_currency, reward_minor) VALUES ('s4', 't', 'ann', 'acme', 'p1',"
        " now(), 'USD', 5)"
    )
    await inject_transaction(
        deps, "submission:s3", [("client:acme", -10), ("contractor:ann", 10)], sub="s3"
    )

    report = await verify(deps)
    assert report.balanced  # every sum checks: only the submissions are wrong
    assert report.accepted_submission_count == 3
    assert (report.paid_once_count, report.paid_twice_count, report.unpaid_count) == (1, 1, 1)
    assert report.rejected_with_pay_count == 1
    assert not report.every_submission_paid_once


# --- redelivery, and bad events --------------------------------------------------------


def scenario() -> list[Message]:
    """Every kind of event, with the orders that matter: referrals told before and
    after the work, rejections overridden, bonuses and settlements."""
    events: list[Message] = [changed("c0", referred_by="c9"), changed("c1")]
    for i in range(24):
        contractor, client = f"c{i % 6}", f"k{i % 3}"
        sub = f"s{i}"
        if i % 5 == 0:
            events.append(rejected(sub, contractor=contractor, client=client))
        if i % 5 != 4:  # every fifth rejected and never overridden
            by = events_pb2.ACCEPTED_BY_OVERRIDE if i % 5 == 0 else events_pb2.ACCEPTED_BY_CLIENT
            events.append(
                accepted(sub, reward=100 + i, contractor=contractor, client=client, by=by)
            )
        else:
            events.append(rejected(sub, contractor=contractor, client=client))
        if i % 4 == 0:
            events.append(bonus(f"b{i}", 50 + i, sub=sub, contractor=contractor))
        if i % 7 == 0:
            events.append(settled(f"claim{i}", 33 + i, contractor=contractor))
    events += [changed("c2", referred_by="c0"), changed("c3", referred_by="c4", revision=5)]
    return events


async def test_every_event_five_times_in_shuffled_order_gives_identical_books(
    infra: None, clock: FakeClock, request: Any
) -> None:
    once = await ledger(f"{request.node.name}_once", clock)
    again = await ledger(f"{request.node.name}_5x", clock)
    try:
        await deliver(once, *scenario())
        expected = await snapshot(once)
        assert len(expected[1]) > 30 and "referral:c2" in expected[1]

        rng = random.Random(8)
        for _ in range(3):
            events = [e for e in scenario() for _ in range(5)]
            rng.shuffle(events)
            await deliver_grouped(again, events, rng)
            assert await snapshot(again) == expected
        report = await verify(again)
        assert report.balanced and report.every_submission_paid_once
        assert report.accepted_submission_count == 24 - 24 // 5
    finally:
        await once.pool.close()
        await again.pool.close()


def _bad(field_path: str, **changes: Any) -> events_pb2.SubmissionAccepted:
    event = accepted("s1")
    for name, value in changes.items():
        if name == "reward":
            event.reward.CopyFrom(value)
        else:
            setattr(event, name, value)
    return event


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (_bad("", reward=usd(1500, "XYZ")), "reward.currency_code"),
        (_bad("", reward=usd(1500, "usd")), "reward.currency_code"),
        (
            events_pb2.SubmissionAccepted(
                submission_id="s1", contractor_id="ann", client_id="acme"
            ),
            "reward.currency_code",
        ),
        (_bad("", reward=usd(0)), "reward.amount_minor"),
        (_bad("", reward=usd(-5)), "reward.amount_minor"),
        (_bad("", reward=usd(10**12 + 1)), "reward.amount_minor"),
        (_bad("", reward=usd(2**63 - 1)), "reward.amount_minor"),
        (_bad("", submission_id=""), "submission_id"),
        (_bad("", client_id=""), "client_id"),
        (_bad("", contractor_id="ann smith"), "contractor_id"),
        (_bad("", worked_seconds=-1), "worked_seconds"),
        (bonus("b1", 0), "amount.amount_minor"),
        (bonus("", 100), "bonus_id"),
        (settled("c1", -1), "amount.amount_minor"),
        (settled("", 100), "claim_id"),
        (changed("bob", referred_by="not an id"), "contractor.referred_by"),
    ],
)
async def test_an_event_with_bad_money_or_a_missing_key_is_refused_and_posts_nothing(
    deps: Deps, event: Message, field: str
) -> None:
    await deliver(deps, accepted("s0", contractor="bob"))
    before = await snapshot(deps), await deps.pool.fetchval("SELECT count(*) FROM outbox")
    with pytest.raises(InvalidArgument) as err:
        await deliver(deps, event)
    assert err.value.field == field
    after = await snapshot(deps), await deps.pool.fetchval("SELECT count(*) FROM outbox")
    assert after == before
    assert await deps.pool.fetchval("SELECT count(*) FROM submissions") == 1


# --- corrections -----------------------------------------------------------------------


async def test_a_reversal_negates_a_transaction_once_and_the_journal_is_append_only(
    deps: Deps,
) -> None:
    await deliver(deps, bonus("b1", 1000))
    original = await deps.pool.fetchval(
        "SELECT transaction_id FROM journal_transactions WHERE source = 'bonus:b1'"
    )
    reversal = await books.reverse(str(original), "granted in error", deps)
    assert await books.reverse(str(original), "again", deps) == reversal

    assert reversal.kind is PostingKind.REVERSAL and reversal.reversal_of == original
    assert await entries(deps, f"reversal:{original}") == [
        ("client:acme", 1200, 0),
        ("contractor:ann", -1000, 0),
        ("platform:fees", -200, 0),
    ]
    assert (await verify(deps)).balanced
    for sql in (
        "UPDATE journal_entries SET amount_minor = 1",
        "DELETE FROM journal_transactions",
        "TRUNCATE journal_entries CASCADE",
    ):
        with pytest.raises(Exception, match="append-only"):
            await deps.pool.execute(sql)
    with pytest.raises(NotFound):
        await books.reverse(str(uuid.uuid4()), "", deps)


# --- the upgrade ---------------------------------------------------------------------------


async def test_books_posted_before_the_upgrade_get_balances_statements_and_verify(
    infra: None, clock: FakeClock, request: Any, tmp_path: Path
) -> None:
    """0002 on a journal of issue 6's flat pay: balances, balances after, submissions."""
    shutil.copy(MIGRATIONS / "0001_journal.sql", tmp_path)
    pool = await create_pool(await fresh_database(f"h_ledger_{request.node.name}"))
    try:
        await migrate(pool, component="kernel", directory=KERNEL_MIGRATIONS)
        await migrate(pool, component="ledger", directory=tmp_path)
        for i, (contractor, amount) in enumerate([("ann", 1500), ("bob", 700), ("ann", 800)]):
            txn = uuid.uuid4()
            await pool.execute(
                "INSERT INTO journal_transactions VALUES ($1, $2, now() + $3 * interval '1s')",
                txn,
                f"submission:s{i}",
                i,
            )
            await pool.executemany(
                "INSERT INTO journal_entries (transaction_id, account_id, currency, amount_minor)"
                " VALUES ($1, $2, 'USD', $3)",
                [(txn, "client:acme", -amount), (txn, f"contractor:{contractor}", amount)],
            )
        await migrate(pool, component="ledger", directory=MIGRATIONS)
        deps = Deps.build(pool=pool, clock=clock, settings=LedgerSettings.from_env({}))

        assert await balance(deps, "contractor:ann") == 2300
        assert await balance(deps, "client:acme") == -3000
        _, page, _ = await books.list_statement("contractor:ann", OPERATOR, deps)
        assert [(e.source, e.balance_after.amount_minor) for e in page] == [
            ("submission:s2", 2300),
            ("submission:s0", 1500),
        ]
        report = await verify(deps)
        assert report.balanced and report.every_submission_paid_once
        assert report.accepted_submission_count == 3
        # ann's work was accepted before: her referral is due as soon as it is known.
        await deliver(deps, changed("ann", referred_by="bob"))
        assert await balance(deps, "contractor:bob") == 700 + 25000
    finally:
        await pool.close()
