"""Durable deadlines in real PostgreSQL, on a fake clock: no test sleeps.

Each test drives ``fire_due`` (and ``maintain``) by hand and moves the clock itself.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path

import asyncpg
import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from crewline import clock
from crewline.auth.credentials import new_operator_credential, sha256_hex
from crewline.auth.principal import OPERATORS
from crewline.client import Endpoints, Operator
from crewline.client.errors import error_reason
from crewline.clock import Deadline, DeadlineClock, DeadlineHandler, Scheduled
from crewline.edge import AccessPolicy
from crewline.log import bound_contextvars
from crewline.metrics import Metrics
from crewline.ops import POLICY as OPS_POLICY
from crewline.service import ServiceKit
from crewline.settings import AuthSettings, KafkaSettings, PostgresSettings, ServiceSettings
from crewline.timekeeping import FakeClock
from crewline.v1 import ops_service_pb2 as ops_api
from crewline.v1 import ops_service_pb2_grpc as ops_grpc

from stack import eventually, free_port

KIND = "test"


@pytest.fixture
async def fired(pool: asyncpg.Pool) -> asyncpg.Pool:
    """The pool, with a table where handlers note each deadline they fire."""
    await pool.execute(
        "CREATE TABLE fired (ref text NOT NULL, generation integer NOT NULL,"
        " due_at timestamptz NOT NULL, attempts integer NOT NULL)"
    )
    return pool


@pytest.fixture
def fake() -> FakeClock:
    return FakeClock()


async def note(conn: asyncpg.Connection, d: Deadline) -> None:
    await conn.execute(
        "INSERT INTO fired (ref, generation, due_at, attempts) VALUES ($1, $2, $3, $4)",
        d.ref,
        d.generation,
        d.due_at,
        d.attempts,
    )


async def schedule(pool: asyncpg.Pool, ref: str, fake: FakeClock, seconds: float) -> Scheduled:
    async with pool.acquire() as conn, conn.transaction():
        due_at = fake.now() + timedelta(seconds=seconds)
        return await clock.schedule(conn, kind=KIND, ref=ref, due_at=due_at)


async def rearm(pool: asyncpg.Pool, ref: str, fake: FakeClock, seconds: float) -> Scheduled:
    async with pool.acquire() as conn, conn.transaction():
        due_at = fake.now() + timedelta(seconds=seconds)
        return await clock.rearm(conn, kind=KIND, ref=ref, due_at=due_at)


def make_clock(
    pool: asyncpg.Pool,
    metrics: Metrics,
    fake: FakeClock,
    handlers: Mapping[str, DeadlineHandler] | None = None,
    **options: object,
) -> DeadlineClock:
    return DeadlineClock(
        pool=pool,
        handlers=handlers or {KIND: note},
        metrics=metrics,
        clock=fake,
        **options,  # type: ignore[arg-type]
    )


async def fired_rows(pool: asyncpg.Pool) -> list[tuple[str, int, int]]:
    rows = await pool.fetch("SELECT ref, generation, attempts FROM fired ORDER BY ref, generation")
    return [(r["ref"], r["generation"], r["attempts"]) for r in rows]


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(f"crewline_test_{name}", labels or None) or 0.0


async def test_schedule_says_whether_it_armed_moved_or_left_the_clock(
    fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    assert await schedule(fired, "a", fake, 60) is Scheduled.ARMED
    assert await schedule(fired, "a", fake, 60) is Scheduled.UNCHANGED
    assert await schedule(fired, "a", fake, 30) is Scheduled.MOVED
    fake.advance(timedelta(seconds=30))
    assert await make_clock(fired, metrics, fake).fire_due() == 1
    # Fired: a redelivered event cannot set it again, nor move it.
    assert await schedule(fired, "a", fake, 60) is Scheduled.FIRED
    fake.advance(timedelta(days=1))
    assert await make_clock(fired, metrics, fake).fire_due() == 0
    assert await fired_rows(fired) == [("a", 1, 0)]


async def test_rearm_arms_a_fired_clock_again_with_the_next_generation(
    fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    assert await rearm(fired, "a", fake, 0) is Scheduled.ARMED  # a new clock: as schedule()
    assert await rearm(fired, "a", fake, 5) is Scheduled.MOVED
    fake.advance(timedelta(seconds=5))
    assert await make_clock(fired, metrics, fake).fire_due() == 1
    assert await rearm(fired, "a", fake, 10) is Scheduled.ARMED
    fake.advance(timedelta(seconds=10))
    assert await make_clock(fired, metrics, fake).fire_due() == 1
    assert await fired_rows(fired) == [("a", 1, 0), ("a", 2, 0)]
    [due] = await fired.fetch("SELECT due_at FROM fired WHERE generation = 2")
    assert due["due_at"] == fake.now()


async def test_a_deadline_never_fires_before_its_due_time_on_the_injected_clock(
    fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    start = fake.now()
    await schedule(fired, "a", fake, 10)
    ticker = make_clock(fired, metrics, fake)
    assert await ticker.fire_due() == 0
    fake.advance(timedelta(seconds=9.999))
    assert await ticker.fire_due() == 0  # PostgreSQL's now() is long past: it is not asked
    fake.advance(timedelta(milliseconds=1))
    assert await ticker.fire_due() == 1
    row = await fired.fetchrow("SELECT fired_at FROM deadlines WHERE ref = 'a'")
    assert row["fired_at"] == fake.now() == start + timedelta(seconds=10)
    assert sample(metrics, "deadlines_fired_total", kind=KIND) == 1
    assert sample(metrics, "deadline_lateness_seconds_sum", kind=KIND) == 0


async def test_the_handler_gets_the_whole_deadline(
    fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    seen: list[Deadline] = []

    async def keep(conn: asyncpg.Connection, d: Deadline) -> None:
        seen.append(d)

    with bound_contextvars(correlation_id="req-1"):
        await schedule(fired, "a", fake, 0)
    assert await make_clock(fired, metrics, fake, {KIND: keep}).fire_due() == 1
    assert seen == [
        Deadline(
            kind=KIND, ref="a", generation=1, due_at=fake.now(), attempts=0, correlation_id="req-1"
        )
    ]


async def test_two_clocks_racing_fire_each_of_many_deadlines_exactly_once(
    fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    refs = [f"r{i:04}" for i in range(600)]
    async with fired.acquire() as conn, conn.transaction():
        for i, ref in enumerate(refs):
            due_at = fake.now() + timedelta(milliseconds=i)
            await clock.schedule(conn, kind=KIND, ref=ref, due_at=due_at)

    async def interleaved(conn: asyncpg.Connection, d: Deadline) -> None:
        await asyncio.sleep(0)  # let the other replica run mid-batch
        await note(conn, d)

    replicas = [
        make_clock(fired, metrics, fake, {KIND: interleaved}, batch_size=random.randint(5, 40))
        for _ in range(2)
    ]
    fake.advance(timedelta(seconds=1))
    while sum(await asyncio.gather(*(r.fire_due() for r in replicas))):
        pass
    assert await fired_rows(fired) == [(ref, 1, 0) for ref in refs]
    # A restarted replica finds nothing left to fire.
    assert await make_clock(fired, metrics, fake).fire_due() == 0


async def test_a_rolled_back_batch_loses_nothing_and_fires_later(
    fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    """A replica that dies mid-batch (here: the database goes away under it) commits none
    of the batch; the deadlines fire later, once, in a new clock."""
    await schedule(fired, "a", fake, 0)
    await schedule(fired, "b", fake, 1)
    fake.advance(timedelta(seconds=1))

    async def dies_on_b(conn: asyncpg.Connection, d: Deadline) -> None:
        await note(conn, d)
        if d.ref == "b":
            raise ConnectionResetError("connection lost")

    with pytest.raises(ConnectionResetError):
        await make_clock(fired, metrics, fake, {KIND: dies_on_b}).fire_due()
    assert await fired_rows(fired) == []
    assert await make_clock(fired, metrics, fake).fire_due() == 2
    assert await fired_rows(fired) == [("a", 1, 0), ("b", 1, 0)]  # no attempt counted


async def test_failing_handler_is_retried_with_backoff_then_dead_lettered(
    fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    async def broken(conn: asyncpg.Connection, d: Deadline) -> None:
        await note(conn, d)  # rolled back with the handler's savepoint
        if d.ref == "bad":
            raise RuntimeError(f"broken on attempt {d.attempts}")

    ticker = make_clock(fired, metrics, fake, {KIND: broken}, max_attempts=3, retry_initial=2.0)
    await schedule(fired, "bad", fake, 0)
    await schedule(fired, "good", fake, 0)
    assert await ticker.fire_due() == 1  # the bad one spoils nothing for the good one
    assert await fired_rows(fired) == [("good", 1, 0)]
    assert await ticker.fire_due() == 0  # backing off
    fake.advance(timedelta(seconds=1.999))
    assert await ticker.fire_due() == 0
    fake.advance(timedelta(milliseconds=1))  # 2 s after the first failure
    assert await ticker.fire_due() == 0
    fake.advance(timedelta(seconds=3.999))
    assert await ticker.fire_due() == 0
    fake.advance(timedelta(milliseconds=1))  # 4 s after the second: the third fails
    assert await ticker.fire_due() == 0
    fake.advance(timedelta(days=1))
    assert await ticker.fire_due() == 0  # dead: never retried by itself
    async with fired.acquire() as conn:
        [dead] = await clock.dead_letters(conn, kind=None, after=None, limit=10)
    assert (dead.state, dead.deadline.ref, dead.deadline.attempts) == ("dead_lettered", "bad", 3)
    assert dead.last_error == "RuntimeError: broken on attempt 2"
    assert sample(metrics, "deadline_failures_total", kind=KIND) == 3
    assert sample(metrics, "deadlines_dead_lettered_total", kind=KIND) == 1
    await ticker.maintain()
    assert sample(metrics, "deadlines_dead_letters", kind=KIND) == 1

    # schedule() leaves a dead clock alone; rearm() brings it back, attempts cleared.
    assert await schedule(fired, "bad", fake, 0) is Scheduled.FIRED
    assert await rearm(fired, "bad", fake, 0) is Scheduled.ARMED
    assert await make_clock(fired, metrics, fake).fire_due() == 1
    assert await fired_rows(fired) == [("bad", 2, 0), ("good", 1, 0)]
    await ticker.maintain()
    assert sample(metrics, "deadlines_dead_letters", kind=KIND) == 0


async def test_a_handler_whose_sql_fails_spoils_nothing_for_the_rest_of_its_batch(
    fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    async def divides(conn: asyncpg.Connection, d: Deadline) -> None:
        await note(conn, d)
        if d.ref == "b":
            await conn.execute("SELECT 1 / 0")  # aborts the transaction up to its savepoint

    for ref in "abc":
        await schedule(fired, ref, fake, 0)
    assert await make_clock(fired, metrics, fake, {KIND: divides}).fire_due() == 2
    assert await fired_rows(fired) == [("a", 1, 0), ("c", 1, 0)]
    last_error = await fired.fetchval("SELECT last_error FROM deadlines WHERE ref = 'b'")
    assert last_error == "DivisionByZeroError: division by zero"


async def test_cancel_removes_a_pending_or_dead_clock_but_not_a_fired_one(
    fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    async def broken(conn: asyncpg.Connection, d: Deadline) -> None:
        raise RuntimeError("broken")

    for ref in ("pending", "dead", "fired"):
        await schedule(fired, ref, fake, 0 if ref != "pending" else 60)
    async with fired.acquire() as conn:
        await conn.execute("UPDATE deadlines SET fired_at = $1 WHERE ref = 'fired'", fake.now())
    await make_clock(fired, metrics, fake, {KIND: broken}, max_attempts=1).fire_due()
    async with fired.acquire() as conn:
        assert [await clock.cancel(conn, kind=KIND, ref=r) for r in ("pending", "dead")] == [
            True,
            True,
        ]
        assert not await clock.cancel(conn, kind=KIND, ref="fired")
        assert not await clock.cancel(conn, kind=KIND, ref="unknown")
    fake.advance(timedelta(days=1))
    assert await make_clock(fired, metrics, fake).fire_due() == 0


async def test_a_handler_that_moves_its_own_clock_leaves_it_pending(
    fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    async def snooze(conn: asyncpg.Connection, d: Deadline) -> None:
        await note(conn, d)
        if d.due_at == fake.now():  # only the first fake
            later = fake.now() + timedelta(minutes=1)
            assert await clock.schedule(conn, kind=KIND, ref=d.ref, due_at=later) is Scheduled.MOVED

    await schedule(fired, "a", fake, 0)
    ticker = make_clock(fired, metrics, fake, {KIND: snooze})
    assert await ticker.fire_due() == 0
    fake.advance(timedelta(minutes=2))
    assert await ticker.fire_due() == 1
    assert await fired_rows(fired) == [("a", 1, 0), ("a", 1, 0)]


async def test_fired_clocks_past_retention_are_pruned_in_bounded_batches(
    fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    ticker = make_clock(fired, metrics, fake, retention=timedelta(days=7), prune_batch=2)
    for i in range(5):
        await schedule(fired, f"old{i}", fake, 0)
    await ticker.fire_due()
    fake.advance(timedelta(days=6))
    await schedule(fired, "young", fake, 0)
    await ticker.fire_due()
    await schedule(fired, "pending", fake, 3600)
    fake.advance(timedelta(days=1, seconds=1))
    assert [await ticker.maintain() for _ in range(4)] == [2, 2, 1, 0]
    left = await fired.fetch("SELECT ref FROM deadlines ORDER BY ref")
    assert [r["ref"] for r in left] == ["pending", "young"]
    # Once pruned, the clock is forgotten: schedule() arms it afresh.
    assert await schedule(fired, "old0", fake, 0) is Scheduled.ARMED


async def test_run_fires_due_deadlines_until_stopped(
    fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    ticker = make_clock(fired, metrics, fake, poll_interval=0.01)
    task = asyncio.create_task(ticker.run())
    try:
        await schedule(fired, "a", fake, 0)

        async def has_fired() -> bool:
            return await fired_rows(fired) == [("a", 1, 0)]

        await eventually(has_fired, timeout=30)
    finally:
        ticker.stop()
        await task


# OpsService: mounted by ServiceKit.runtime in every service, for operators only.

OPERATOR = new_operator_credential()
AS_OPERATOR = (("authorization", f"Bearer {OPERATOR}"),)


@dataclass
class Ops:
    stub: ops_grpc.OpsServiceStub
    address: str


@pytest.fixture
async def ops(
    pg: PostgresSettings, pool: asyncpg.Pool, fake: FakeClock, tmp_path: Path
) -> AsyncIterator[Ops]:
    """A service assembled by ServiceKit with no servicer of its own: OpsService only."""
    port = free_port()
    settings = ServiceSettings(
        name="test",
        grpc_host="127.0.0.1",
        grpc_port=port,
        metrics_host="127.0.0.1",
        metrics_port=free_port(),
        postgres=pg,
        kafka=KafkaSettings(),
        auth=AuthSettings(operator_credential_sha256=frozenset({sha256_hex(OPERATOR)})),
    )
    kit = await ServiceKit.create(settings, clock=fake)
    runtime = kit.runtime(
        register=[], service_names=[], policy=AccessPolicy({}), migrations=tmp_path
    )
    await runtime.server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Ops(ops_grpc.OpsServiceStub(channel), f"127.0.0.1:{port}")
    finally:
        await runtime.server.stop(None)
        await kit.pool.close()


async def dead_lettered(pool: asyncpg.Pool, metrics: Metrics, fake: FakeClock, *refs: str) -> None:
    """The clocks ``refs`` (kind/ref), dead after one failed run each, a second apart."""

    async def broken(conn: asyncpg.Connection, d: Deadline) -> None:
        raise RuntimeError(f"no such {d.kind}")

    kinds = {r.split("/")[0] for r in refs}
    ticker = make_clock(pool, metrics, fake, dict.fromkeys(kinds, broken), max_attempts=1)
    for kind_ref in refs:
        kind, ref = kind_ref.split("/")
        async with pool.acquire() as conn:
            await clock.schedule(conn, kind=kind, ref=ref, due_at=fake.now())
        assert await ticker.fire_due() == 0
        fake.advance(timedelta(seconds=1))


async def failure(call: Awaitable[object]) -> tuple[grpc.StatusCode, str | None, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value.code(), error_reason(err.value), err.value.details() or ""


async def test_operators_page_through_dead_lettered_deadlines_oldest_first(
    ops: Ops, pool: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    await dead_lettered(
        pool, metrics, fake, "lease/c1", "task_lifetime/t1", "lease/c|2", "lease/c3"
    )
    refs, token = [], ""
    while True:
        request = ops_api.ListDeadLetteredDeadlinesRequest(
            kind="lease", page_size=2, page_token=token
        )
        page = await ops.stub.ListDeadLetteredDeadlines(request, metadata=AS_OPERATOR)
        refs += [d.ref for d in page.deadlines]
        if not (token := page.next_page_token):
            break
    assert refs == ["c1", "c|2", "c3"]
    every = await ops.stub.ListDeadLetteredDeadlines(
        ops_api.ListDeadLetteredDeadlinesRequest(), metadata=AS_OPERATOR
    )
    [first, *_] = every.deadlines
    assert len(every.deadlines) == 4 and not every.next_page_token
    assert (first.kind, first.state, first.attempts, first.last_error) == (
        "lease",
        ops_api.DEADLINE_STATE_DEAD_LETTERED,
        1,
        "RuntimeError: no such lease",
    )


async def test_rearm_deadline_brings_a_dead_letter_back_as_the_next_generation(
    ops: Ops, fired: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    await dead_lettered(fired, metrics, fake, "test/a")
    reply = await ops.stub.RearmDeadline(
        ops_api.RearmDeadlineRequest(kind=KIND, ref="a"), metadata=AS_OPERATOR
    )
    assert reply.outcome == ops_api.REARM_OUTCOME_ARMED
    d = reply.deadline
    assert (d.generation, d.attempts, d.state, d.last_error) == (
        2,
        0,
        ops_api.DEADLINE_STATE_PENDING,
        "",
    )
    assert d.due_at.ToDatetime(tzinfo=UTC) == fake.now()  # unset due_at: now
    assert await make_clock(fired, metrics, fake).fire_due() == 1
    assert await fired_rows(fired) == [("a", 2, 0)]


async def test_the_sdk_lists_and_rearms_through_the_real_service(
    ops: Ops, pool: asyncpg.Pool, metrics: Metrics, fake: FakeClock
) -> None:
    await dead_lettered(pool, metrics, fake, "lease/c1")
    at = Endpoints(dispatcher=ops.address)
    async with Operator(credential=OPERATOR, endpoints=at, env={}) as operator:
        page = await operator.dead_lettered_deadlines_page("dispatcher", kind="lease")
        [found] = page.deadlines
        assert (found.ref, found.state, found.HasField("fired_at")) == (
            "c1",
            ops_api.DEADLINE_STATE_DEAD_LETTERED,
            False,
        )
        later = fake.now() + timedelta(hours=1)
        rearmed = await operator.rearm_deadline("dispatcher", kind="lease", ref="c1", due_at=later)
        assert (rearmed.outcome, rearmed.deadline.state) == (
            ops_api.REARM_OUTCOME_ARMED,
            ops_api.DEADLINE_STATE_PENDING,
        )
        assert rearmed.deadline.due_at.ToJsonString() == "2026-01-01T13:00:01Z"
        again = await operator.rearm_deadline("dispatcher", kind="lease", ref="c1", due_at=later)
        assert again.outcome == ops_api.REARM_OUTCOME_UNCHANGED


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (ops_api.RearmDeadlineRequest(kind="", ref="a"), "kind"),
        (ops_api.RearmDeadlineRequest(kind="lease lease", ref="a"), "kind"),
        (ops_api.RearmDeadlineRequest(kind="lease", ref=""), "ref"),
        (ops_api.RearmDeadlineRequest(kind="lease", ref="x" * 201), "ref"),
        (
            ops_api.RearmDeadlineRequest(
                kind="lease", ref="a", due_at=Timestamp(seconds=4_000_000_000)
            ),
            "due_at",
        ),
        (
            ops_api.RearmDeadlineRequest(kind="lease", ref="a", due_at=Timestamp(nanos=-1)),
            "due_at",
        ),
        (ops_api.ListDeadLetteredDeadlinesRequest(page_size=501), "page_size"),
        (ops_api.ListDeadLetteredDeadlinesRequest(page_token="garbage"), "page_token"),
        (ops_api.ListDeadLetteredDeadlinesRequest(kind="no/such"), "kind"),
    ],
)
async def test_bad_ops_requests_are_invalid_argument_naming_the_field(
    ops: Ops, request_: Message, field: str
) -> None:
    method = (
        ops.stub.RearmDeadline
        if isinstance(request_, ops_api.RearmDeadlineRequest)
        else ops.stub.ListDeadLetteredDeadlines
    )
    code, reason, details = await failure(method(request_, metadata=AS_OPERATOR))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
    assert details.startswith(f"{field}: ")


async def test_rearm_of_an_unknown_clock_is_not_found_and_arms_nothing(
    ops: Ops, pool: asyncpg.Pool
) -> None:
    call = ops.stub.RearmDeadline(
        ops_api.RearmDeadlineRequest(kind="lease", ref="nope"), metadata=AS_OPERATOR
    )
    assert (await failure(call))[:2] == (grpc.StatusCode.NOT_FOUND, "DEADLINE_NOT_FOUND")
    assert await pool.fetchval("SELECT count(*) FROM deadlines") == 0


async def test_ops_service_is_for_operators_only(ops: Ops) -> None:
    call = ops.stub.ListDeadLetteredDeadlines(ops_api.ListDeadLetteredDeadlinesRequest())
    assert (await failure(call))[0] == grpc.StatusCode.UNAUTHENTICATED
    assert set(OPS_POLICY.rules.values()) == {OPERATORS}
