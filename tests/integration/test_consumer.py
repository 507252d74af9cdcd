"""The idempotent consumer loop against real Kafka and PostgreSQL, and its dead letters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from google.protobuf.message import Message

from crewline import consumer as consumer_module
from crewline import dead_letters, errors
from crewline.auth.credentials import new_operator_credential, sha256_hex
from crewline.client import CrewlineError, Endpoints, Operator
from crewline.consumer import (
    UNKNOWN_ATTEMPTS,
    Batched,
    EventConsumer,
    EventContext,
    Handler,
    ReplayOutcome,
)
from crewline.dead_letters import Failure, classify
from crewline.edge import AccessPolicy
from crewline.errors import PermanentEventError
from crewline.events import CLAIMS_TOPIC, TASKS_TOPIC, MalformedEvent, wrap
from crewline.metrics import Metrics
from crewline.ops import OpsServicer
from crewline.service import ServiceKit
from crewline.settings import AuthSettings, KafkaSettings, PostgresSettings, ServiceSettings
from crewline.timekeeping import SystemClock
from crewline.v1 import envelope_pb2, events_pb2
from crewline.v1 import ops_service_pb2 as ops_api

from stack import eventually, free_port


async def record_effect(conn: asyncpg.Connection, event: Any, ctx: EventContext) -> None:
    """Records the task id; "poison" is a bug, a task in ``refusals`` a permanent refusal,
    "overflow" a number beyond bigint, and a task named "check..." breaks a CHECK."""
    if event.task_id == "poison":
        raise ValueError("handler bug")
    reason = await conn.fetchval("SELECT reason FROM refusals WHERE task_id = $1", event.task_id)
    if reason is not None:
        raise PermanentEventError(reason)
    if event.task_id == "overflow":
        await conn.execute("SELECT $1::bigint", 2**63)
    await conn.execute("INSERT INTO effects (task_id) VALUES ($1)", event.task_id)


@pytest.fixture
async def effects(pool: asyncpg.Pool) -> asyncpg.Pool:
    await pool.execute(
        "CREATE TABLE effects (id serial PRIMARY KEY, task_id text NOT NULL,"
        " CONSTRAINT no_check CHECK (task_id NOT LIKE 'check%'))"
    )
    await pool.execute("CREATE TABLE refusals (task_id text PRIMARY KEY, reason text NOT NULL)")
    return pool


async def produce(kafka: KafkaSettings, values: Sequence[bytes], *, key: bytes = b"k") -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(kafka.topic(TASKS_TOPIC), value=value, key=key)
    finally:
        await producer.stop()


def task_envelope(task_id: str) -> envelope_pb2.EventEnvelope:
    return wrap(
        events_pb2.TaskPublished(task_id=task_id), producer="t", correlation_id=f"req-{task_id}"
    )


def task_event(task_id: str) -> bytes:
    return task_envelope(task_id).SerializeToString()


def new_consumer(
    pool: asyncpg.Pool,
    kafka: KafkaSettings,
    metrics: Metrics,
    routes: Mapping[type[Message], Handler] | None = None,
) -> EventConsumer:
    """The test's consumer of the tasks topic (TaskPublished: ``record_effect``)."""
    return EventConsumer(
        group_id="test",
        topics=[TASKS_TOPIC],
        routes=routes or {events_pb2.TaskPublished: record_effect},
        pool=pool,
        kafka=kafka,
        metrics=metrics,
        client_id="test-consumer",
    )


@asynccontextmanager
async def consuming(
    pool: asyncpg.Pool,
    kafka: KafkaSettings,
    metrics: Metrics,
    routes: Mapping[type[Message], Handler] | None = None,
) -> AsyncIterator[EventConsumer]:
    consumer = new_consumer(pool, kafka, metrics, routes)
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        consumer.stop()
        await task


def duplicates_seen(metrics: Metrics, kafka: KafkaSettings) -> float | None:
    """How many consumed events the inbox recognised as already applied."""
    return metrics.registry.get_sample_value(
        "crewline_test_events_consumed_total",
        {
            "topic": TASKS_TOPIC,
            "type": "crewline.v1.TaskPublished",
            "outcome": "duplicate",
        },
    )


async def effects_of(pool: asyncpg.Pool) -> list[str]:
    return [r["task_id"] for r in await pool.fetch("SELECT task_id FROM effects ORDER BY id")]


async def has_effect(pool: asyncpg.Pool, task_id: str) -> bool:
    return task_id in await effects_of(pool)


async def test_event_delivered_twice_has_one_effect(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    twice = task_event("task-1")
    # Same partition (same key), so "end" is consumed after both copies.
    await produce(kafka, [twice, twice, task_event("end")])

    async with consuming(effects, kafka, metrics):
        await eventually(lambda: has_effect(effects, "end"))

    assert await effects_of(effects) == ["task-1", "end"]
    assert await effects.fetchval("SELECT count(*) FROM inbox") == 2
    duplicates = duplicates_seen(metrics, kafka)
    assert duplicates == 1


async def test_restarted_consumer_resumes_after_its_committed_offsets(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    await produce(kafka, [task_event("a"), task_event("b")])
    async with consuming(effects, kafka, metrics):
        await eventually(lambda: has_effect(effects, "b"))
    await produce(kafka, [task_event("c")])
    async with consuming(effects, kafka, metrics):
        await eventually(lambda: has_effect(effects, "c"))
    assert await effects_of(effects) == ["a", "b", "c"]
    # Nothing was redelivered: the second run started after the committed offsets.
    duplicates = duplicates_seen(metrics, kafka)
    assert not duplicates


async def test_malformed_record_and_failing_handler_do_not_stall_the_partition(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    await produce(kafka, [b"not an envelope", task_event("poison"), task_event("after")])

    async with consuming(effects, kafka, metrics):
        await eventually(lambda: has_effect(effects, "after"))

    assert await effects_of(effects) == ["after"]  # the poison's effect was rolled back
    letters = await all_dead_letters(effects)
    assert [(d.value, d.event_type, d.correlation_id) for d in letters] == [
        (b"not an envelope", "", ""),
        (task_event_bytes(letters[1]), "crewline.v1.TaskPublished", "req-poison"),
    ]
    # The bug was tried a few times (its log says so), then set aside: not lost, not stalling.
    assert letters[0].error.startswith("MalformedEvent: not an EventEnvelope")
    assert letters[1].error == "ValueError: handler bug"
    assert await effects.fetchval("SELECT count(*) FROM inbox") == 1  # only "after"


def task_event_bytes(letter: dead_letters.DeadLetter) -> bytes:
    """The bytes a dead letter kept, checked to be an envelope of its own event id."""
    env = envelope_pb2.EventEnvelope.FromString(letter.value)
    assert env.event_id == str(letter.event_id)
    return letter.value


async def test_a_poisoned_event_in_a_group_is_dead_lettered_alone_and_the_rest_apply_in_order(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    names = [f"t{i:02d}" for i in range(40)]
    await produce(kafka, [task_event(n) for n in names[:20]] + [task_event("poison")])
    await produce(kafka, [task_event(n) for n in names[20:]])

    async with consuming(effects, kafka, metrics):
        await eventually(lambda: has_effect(effects, names[-1]))

    assert await effects_of(effects) == names  # in order, each once, none of the poison's
    outcomes = await effects.fetch("SELECT outcome, count(*) AS n FROM inbox GROUP BY outcome")
    assert {r["outcome"]: r["n"] for r in outcomes} == {"applied": 40}
    assert [d.error for d in await all_dead_letters(effects)] == ["ValueError: handler bug"]


def record_at(offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TASKS_TOPIC, 0, offset, 0, 0, b"k", value, None, 1, len(value), ())


async def test_a_group_of_events_none_of_which_are_routed_here_needs_no_database(
    kafka: KafkaSettings, metrics: Metrics
) -> None:
    """The ledger reads the claims topic for ClaimSettled and passes over every
    ClaimGranted: a poll of those alone opens no transaction (here: a closed pool)."""
    closed = await asyncpg.create_pool("postgresql://nobody@127.0.0.1:1/none", min_size=0)
    await closed.close()
    consumer = new_consumer(closed, kafka, metrics)
    granted = wrap(events_pb2.ClaimGranted(task_id="t"), producer="m", correlation_id="c")
    others = [record_at(i, granted.SerializeToString()) for i in range(3)]
    assert await consumer.apply_group(others) == ["ignored"] * 3
    with pytest.raises(asyncpg.InterfaceError):  # one of ours among them: a transaction
        await consumer.apply_group([*others, record_at(3, task_event("t1"))])


async def test_a_partition_handed_to_another_replica_is_committed_first_so_none_is_applied_twice(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offsets are committed at most every COMMIT_SECONDS; here never on that clock, so
    only the commit before a rebalance hands a partition over can spare its new holder
    from applying again what the first replica applied."""
    monkeypatch.setattr(consumer_module, "COMMIT_SECONDS", 3600.0)
    keys = [f"k{i}".encode() for i in range(12)]  # spread over every partition
    for i, key in enumerate(keys):
        await produce(kafka, [task_event(f"first-{i}")], key=key)
    async with consuming(effects, kafka, metrics) as first:
        await eventually(lambda: has_effect(effects, "first-11"))
        await eventually(lambda: all_applied(effects, "first-", 12))
        async with consuming(effects, kafka, metrics) as second:

            async def both_hold_partitions() -> bool:
                return all(c._consumer and c._consumer.assignment() for c in (first, second))

            await eventually(both_hold_partitions)
            for i, key in enumerate(keys):
                await produce(kafka, [task_event(f"then-{i}")], key=key)
            await eventually(lambda: all_applied(effects, "then-", 12))

    assert not duplicates_seen(metrics, kafka)
    assert len(await effects_of(effects)) == 24


async def all_applied(pool: asyncpg.Pool, prefix: str, n: int) -> bool:
    return sum(e.startswith(prefix) for e in await effects_of(pool)) == n


def batched_consumer(
    pool: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> tuple[EventConsumer, list[list[str]]]:
    """A consumer whose TaskPublished route is ``Batched`` and whose TaskChanged route is
    a plain handler; and the task ids of each call of the batch handler."""
    calls: list[list[str]] = []

    async def many(conn: asyncpg.Connection, events: Sequence[tuple[Any, EventContext]]) -> None:
        calls.append([event.task_id for event, _ in events])
        for event, ctx in events:
            await record_effect(conn, event, ctx)

    async def changed(conn: asyncpg.Connection, event: Any, ctx: EventContext) -> None:
        await conn.execute("INSERT INTO effects (task_id) VALUES ($1)", f"changed:{event.task_id}")

    routes = {
        events_pb2.TaskPublished: Batched(one=record_effect, many=many),
        events_pb2.TaskChanged: changed,
    }
    return new_consumer(pool, kafka, metrics, routes), calls


def changed_event(task_id: str) -> bytes:
    env = wrap(events_pb2.TaskChanged(task_id=task_id), producer="t", correlation_id="c")
    return env.SerializeToString()


async def test_a_batched_route_takes_each_run_of_its_events_in_one_call_each_event_once(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    consumer, calls = batched_consumer(effects, kafka, metrics)
    a = task_event("a")
    values = [a, task_event("b"), a, changed_event("x"), task_event("c"), task_event("d")]
    outcomes = await consumer.apply_group([record_at(i, v) for i, v in enumerate(values)])

    assert outcomes == ["applied", "applied", "duplicate", "applied", "applied", "applied"]
    assert calls == [["a", "b"], ["c", "d"]]  # the second copy of a never reached it
    assert await effects_of(effects) == ["a", "b", "changed:x", "c", "d"]
    inbox = await effects.fetch('SELECT "offset", outcome FROM inbox ORDER BY "offset"')
    assert [(r["offset"], r["outcome"]) for r in inbox] == [
        (0, "applied"),
        (1, "applied"),
        (3, "applied"),
        (4, "applied"),
        (5, "applied"),
    ]

    # One new event among duplicates goes to the route's single handler.
    again = await consumer.apply_group([record_at(10, task_event("c")), record_at(11, a)])
    assert again == ["applied", "duplicate"]  # a fresh copy of c is a new event id
    assert len(calls) == 2 and (await effects_of(effects))[-1] == "c"
    # Delivered again: all duplicates, and no handler is called at all.
    repeat = [record_at(20 + i, v) for i, v in enumerate([a, values[1]])]
    assert await consumer.apply_group(repeat) == ["duplicate", "duplicate"]
    assert len(calls) == 2 and len(await effects_of(effects)) == 6


async def test_a_failing_batch_falls_back_to_one_event_at_a_time_and_only_the_culprit_fails(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    consumer, calls = batched_consumer(effects, kafka, metrics)
    await refuse(effects, "refused", "no such project")
    values = [task_event("a"), task_event("refused"), task_event("b")]
    outcomes = await consumer.apply_group([record_at(i, v) for i, v in enumerate(values)])

    assert outcomes == ["applied", "dead_lettered", "applied"]
    assert calls == [["a", "refused", "b"]]  # tried together once, rolled back
    assert await effects_of(effects) == ["a", "b"]
    assert [d.error for d in await all_dead_letters(effects)] == [
        "PermanentEventError: no such project"
    ]


# --- dead letters ----------------------------------------------------------------------


async def all_dead_letters(pool: asyncpg.Pool) -> list[dead_letters.DeadLetter]:
    async with pool.acquire() as conn:
        return await dead_letters.list_open(conn, topic=None, after=None, limit=100)


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(f"crewline_test_{name}", labels)


async def refuse(pool: asyncpg.Pool, task_id: str, reason: str) -> None:
    await pool.execute(
        "INSERT INTO refusals (task_id, reason) VALUES ($1, $2)"
        " ON CONFLICT (task_id) DO UPDATE SET reason = EXCLUDED.reason",
        task_id,
        reason,
    )


async def test_permanent_failures_are_dead_lettered_whole_and_the_partition_goes_on(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    await refuse(effects, "refused", "currency XYZ is unknown")
    envs = [task_envelope(n) for n in ("first", "refused", "check-1", "overflow", "last")]
    await produce(kafka, [e.SerializeToString() for e in envs], key=b"task-key")

    async with consuming(effects, kafka, metrics) as consumer:
        await eventually(lambda: has_effect(effects, "last"))
        assert consumer.group_id == "test"

    assert await effects_of(effects) == ["first", "last"]
    letters = await all_dead_letters(effects)
    assert [str(d.event_id) for d in letters] == [e.event_id for e in envs[1:4]]
    refused, check, overflow = letters
    assert refused.error == "PermanentEventError: currency XYZ is unknown"
    assert check.error.startswith("CheckViolationError:") and "no_check" in check.error
    assert overflow.error.startswith("DataError:")  # asyncpg's own, before the query is sent
    for letter, env in zip(letters, envs[1:4], strict=True):
        assert letter.value == env.SerializeToString()  # the whole record, as delivered
        assert (letter.topic, letter.key, letter.consumer) == (TASKS_TOPIC, b"task-key", "test")
        assert (letter.event_type, letter.correlation_id) == (env.type, env.correlation_id)
        assert (letter.replays, letter.applied_at) == (0, None)
    assert refused.partition == letters[2].partition and refused.offset + 2 == overflow.offset
    # None of them is in the inbox: a replay goes through it like a delivery.
    assert await effects.fetchval("SELECT count(*) FROM inbox") == 2
    assert sample(metrics, "dead_letters_total", topic=TASKS_TOPIC) == 3
    assert sample(metrics, "dead_letters_open", topic=TASKS_TOPIC) == 3
    dead = {"topic": TASKS_TOPIC, "type": envs[0].type, "outcome": "dead_lettered"}
    assert sample(metrics, "events_consumed_total", **dead) == 3


async def test_a_redelivered_dead_letter_is_kept_once(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    await refuse(effects, "refused", "no such currency")
    twice = task_event("refused")
    await produce(kafka, [twice, twice, task_event("end")])

    async with consuming(effects, kafka, metrics):
        await eventually(lambda: has_effect(effects, "end"))

    assert len(await all_dead_letters(effects)) == 1
    assert sample(metrics, "dead_letters_total", topic=TASKS_TOPIC) == 1


async def dead_lettered(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics, *task_ids: str
) -> tuple[EventConsumer, list[dead_letters.DeadLetter]]:
    """Deliver ``task_ids`` then "end"; the consumer (stopped) and the dead letters."""
    await produce(kafka, [task_event(t) for t in (*task_ids, "end")])
    async with consuming(effects, kafka, metrics) as consumer:
        await eventually(lambda: has_effect(effects, "end"))
    return consumer, await all_dead_letters(effects)


async def test_replay_after_the_cause_is_fixed_applies_it_exactly_once(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    await refuse(effects, "refused", "currency XYZ is unknown")
    consumer, [refused, check] = await dead_lettered(effects, kafka, metrics, "refused", "check-1")
    await effects.execute("DELETE FROM refusals")  # the cause, fixed
    await effects.execute("ALTER TABLE effects DROP CONSTRAINT no_check")

    first = await consumer.replay(refused.event_id)
    assert first.outcome is ReplayOutcome.APPLIED
    assert first.dead_letter.replays == 1 and first.dead_letter.applied_at is not None
    again = await consumer.replay(refused.event_id)
    assert again.outcome is ReplayOutcome.ALREADY_APPLIED
    assert again.dead_letter.replays == 1
    assert (await consumer.replay(check.event_id)).outcome is ReplayOutcome.APPLIED

    assert await effects_of(effects) == ["end", "refused", "check-1"]  # each once
    assert await all_dead_letters(effects) == []
    inbox = await effects.fetch("SELECT event_id, outcome FROM inbox")
    assert {(r["event_id"], r["outcome"]) for r in inbox} >= {
        (refused.event_id, "applied"),
        (check.event_id, "applied"),
    }
    assert sample(metrics, "dead_letters_open", topic=TASKS_TOPIC) == 0
    replays = {"topic": TASKS_TOPIC}
    assert sample(metrics, "dead_letter_replays_total", **replays, outcome="applied") == 2
    assert sample(metrics, "dead_letter_replays_total", **replays, outcome="already_applied") == 1


async def test_concurrent_replays_apply_once(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    await refuse(effects, "refused", "not yet")
    consumer, [letter] = await dead_lettered(effects, kafka, metrics, "refused")
    await effects.execute("DELETE FROM refusals")

    done = await asyncio.gather(*(consumer.replay(letter.event_id) for _ in range(5)))

    assert sorted(r.outcome.value for r in done) == ["already_applied"] * 4 + ["applied"]
    assert await effects_of(effects) == ["end", "refused"]


async def test_a_replay_that_fails_again_keeps_the_dead_letter_with_the_new_error(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    await refuse(effects, "refused", "currency XYZ is unknown")
    consumer, [letter] = await dead_lettered(effects, kafka, metrics, "refused")
    await refuse(effects, "refused", "currency XYZ is still unknown")

    replayed = await consumer.replay(letter.event_id)

    assert replayed.outcome is ReplayOutcome.FAILED
    assert replayed.dead_letter.error == "PermanentEventError: currency XYZ is still unknown"
    assert (replayed.dead_letter.replays, replayed.dead_letter.applied_at) == (1, None)
    assert await all_dead_letters(effects) == [replayed.dead_letter]
    assert await effects_of(effects) == ["end"]  # the failed replay left nothing behind
    assert await effects.fetchval("SELECT count(*) FROM inbox") == 1
    assert sample(metrics, "dead_letters_open", topic=TASKS_TOPIC) == 1


async def test_a_malformed_record_replays_as_a_failure(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    await produce(kafka, [b"\x00junk", task_event("end")])
    async with consuming(effects, kafka, metrics) as consumer:
        await eventually(lambda: has_effect(effects, "end"))
    [letter] = await all_dead_letters(effects)

    replayed = await consumer.replay(letter.event_id)

    assert replayed.outcome is ReplayOutcome.FAILED
    assert replayed.dead_letter.error.startswith("MalformedEvent:")
    assert letter.event_id == dead_letters.record_event_id(
        "test", TASKS_TOPIC, letter.partition, letter.offset
    )


async def test_a_transient_error_is_retried_not_dead_lettered(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    failures = {"flaky": 5}  # more than an unknown failure gets: transient ones never end

    async def flaky(conn: asyncpg.Connection, event: Any, ctx: EventContext) -> None:
        if failures.get(event.task_id, 0) > 0:
            failures[event.task_id] -= 1
            raise asyncpg.exceptions.DeadlockDetectedError("deadlock detected")
        await record_effect(conn, event, ctx)

    await produce(kafka, [task_event("flaky"), task_event("end")])
    async with consuming(effects, kafka, metrics, {events_pb2.TaskPublished: flaky}):
        await eventually(lambda: has_effect(effects, "end"))

    assert failures == {"flaky": 0}
    assert await effects_of(effects) == ["flaky", "end"]
    assert await all_dead_letters(effects) == []
    assert not sample(metrics, "dead_letters_total", topic=TASKS_TOPIC)


async def test_an_unknown_error_is_tried_a_few_times_then_dead_lettered(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    calls = {"twice": 0, "always": 0}

    async def flaky(conn: asyncpg.Connection, event: Any, ctx: EventContext) -> None:
        calls[event.task_id] = calls.get(event.task_id, 0) + 1
        if event.task_id == "always" or (event.task_id == "twice" and calls["twice"] <= 2):
            raise RuntimeError(f"a fault nobody foresaw ({event.task_id})")
        await record_effect(conn, event, ctx)

    await produce(kafka, [task_event("twice"), task_event("always"), task_event("end")])
    async with consuming(effects, kafka, metrics, {events_pb2.TaskPublished: flaky}):
        await eventually(lambda: has_effect(effects, "end"))

    # "twice" fails in the group (whose transaction rolls back), then passes on its second
    # try alone; "always" is tried UNKNOWN_ATTEMPTS times alone, then set aside.
    assert calls == {"twice": 3, "always": UNKNOWN_ATTEMPTS, "end": 1}
    assert await effects_of(effects) == ["twice", "end"]
    [letter] = await all_dead_letters(effects)
    assert letter.error == "RuntimeError: a fault nobody foresaw (always)"


@pytest.mark.parametrize(
    ("exc", "failure"),
    [
        (MalformedEvent("bad"), Failure.PERMANENT),
        (PermanentEventError("XYZ"), Failure.PERMANENT),
        (errors.InvalidArgument("amount", "must be positive"), Failure.PERMANENT),
        (errors.NotFound("no such task"), Failure.PERMANENT),
        (asyncpg.exceptions.ForeignKeyViolationError("fk"), Failure.PERMANENT),
        (asyncpg.exceptions.CheckViolationError("check"), Failure.PERMANENT),
        (asyncpg.exceptions.NumericValueOutOfRangeError("range"), Failure.PERMANENT),
        (asyncpg.exceptions.UniqueViolationError("unique"), Failure.PERMANENT),
        (asyncpg.exceptions.DeadlockDetectedError("deadlock"), Failure.TRANSIENT),
        (asyncpg.exceptions.InterfaceError("closed"), Failure.TRANSIENT),
        (ConnectionResetError(), Failure.TRANSIENT),
        (errors.Unavailable("down"), Failure.TRANSIENT),
        (errors.Aborted("raced"), Failure.UNKNOWN),
        (ValueError("bug"), Failure.UNKNOWN),
        (asyncpg.exceptions.UndefinedTableError("no table"), Failure.UNKNOWN),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v.value,
)
def test_failures_are_classified(exc: BaseException, failure: Failure) -> None:
    assert classify(exc) is failure


# --- OpsService ------------------------------------------------------------------------


async def test_ops_lists_dead_letters_a_page_at_a_time_and_replays_them(
    effects: asyncpg.Pool, kafka: KafkaSettings, metrics: Metrics
) -> None:
    for n in ("r1", "r2", "r3"):
        await refuse(effects, n, f"refused {n}")
    consumer, letters = await dead_lettered(effects, kafka, metrics, "r1", "r2", "r3")
    ops = OpsServicer(pool=effects, clock=SystemClock(), consumers=[consumer])
    ctx: Any = None  # the servicer does not use its context

    first = await ops.ListDeadLetters(ops_api.ListDeadLettersRequest(page_size=2), ctx)
    errors_shown = [d.error.removeprefix("PermanentEventError: ") for d in first.dead_letters]
    assert errors_shown == ["refused r1", "refused r2"]
    assert first.dead_letters[0].topic == TASKS_TOPIC
    assert first.dead_letters[0].type == "crewline.v1.TaskPublished"
    assert first.dead_letters[0].correlation_id == "req-r1"
    request = ops_api.ListDeadLettersRequest(page_size=2, page_token=first.next_page_token)
    second = await ops.ListDeadLetters(request, ctx)
    assert [d.event_id for d in second.dead_letters] == [str(letters[2].event_id)]
    assert second.next_page_token == ""
    other = await ops.ListDeadLetters(ops_api.ListDeadLettersRequest(topic=CLAIMS_TOPIC), ctx)
    assert list(other.dead_letters) == []

    await effects.execute("DELETE FROM refusals WHERE task_id = 'r2'")
    event_id = str(letters[1].event_id)
    replay = ops_api.ReplayDeadLetterRequest(event_id=event_id)
    replayed = await ops.ReplayDeadLetter(replay, ctx)
    assert replayed.outcome == ops_api.REPLAY_OUTCOME_APPLIED
    assert (replayed.dead_letter.event_id, replayed.dead_letter.replays) == (event_id, 1)
    again = await ops.ReplayDeadLetter(replay, ctx)
    assert again.outcome == ops_api.REPLAY_OUTCOME_ALREADY_APPLIED
    failed = await ops.ReplayDeadLetter(
        ops_api.ReplayDeadLetterRequest(event_id=str(letters[0].event_id)), ctx
    )
    assert failed.outcome == ops_api.REPLAY_OUTCOME_FAILED
    rest = await ops.ListDeadLetters(ops_api.ListDeadLettersRequest(), ctx)
    still_open = [uuid.UUID(d.event_id) for d in rest.dead_letters]
    assert still_open == [letters[0].event_id, letters[2].event_id]
    assert rest.dead_letters[0].replays == 1


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (ops_api.ListDeadLettersRequest(topic="tasks"), "topic"),
        (ops_api.ListDeadLettersRequest(page_size=501), "page_size"),
        (ops_api.ListDeadLettersRequest(page_token="nope"), "page_token"),
        (ops_api.ReplayDeadLetterRequest(event_id=""), "event_id"),
        (ops_api.ReplayDeadLetterRequest(event_id="not-a-uuid"), "event_id"),
    ],
)
async def test_ops_refuses_bad_input_naming_the_field(
    pool: asyncpg.Pool, request_: Message, field: str
) -> None:
    ops = OpsServicer(pool=pool, clock=SystemClock())
    call = (
        ops.ListDeadLetters
        if isinstance(request_, ops_api.ListDeadLettersRequest)
        else ops.ReplayDeadLetter
    )
    with pytest.raises(errors.InvalidArgument) as refused:
        await call(request_, None)  # type: ignore[arg-type]
    assert refused.value.field == field


async def test_ops_replay_of_an_unknown_event_is_not_found(pool: asyncpg.Pool) -> None:
    ops = OpsServicer(pool=pool, clock=SystemClock())
    request = ops_api.ReplayDeadLetterRequest(event_id=str(uuid.uuid4()))
    with pytest.raises(errors.NotFound) as missing:
        await ops.ReplayDeadLetter(request, None)
    assert missing.value.reason == "DEAD_LETTER_NOT_FOUND"


# --- through a service: ServiceKit wiring, the edge, the SDK's operator calls ---------------

OPERATOR = new_operator_credential()


async def test_crewctl_lists_and_replays_through_a_service_built_by_the_kit(
    effects: asyncpg.Pool, pg: PostgresSettings, kafka: KafkaSettings, tmp_path: Path
) -> None:
    """ServiceKit.runtime hands the service's consumer to OpsService; operators only."""
    await refuse(effects, "refused", "currency XYZ is unknown")
    port = free_port()
    settings = ServiceSettings(
        name="test",
        grpc_host="127.0.0.1",
        grpc_port=port,
        metrics_host="127.0.0.1",
        metrics_port=free_port(),
        postgres=pg,
        kafka=kafka,
        auth=AuthSettings(operator_credential_sha256=frozenset({sha256_hex(OPERATOR)})),
    )
    kit = await ServiceKit.create(settings)
    consumer = kit.consumer(topics=[TASKS_TOPIC], routes={events_pb2.TaskPublished: record_effect})
    runtime = kit.runtime(
        register=[],
        service_names=[],
        policy=AccessPolicy({}),
        migrations=tmp_path,
        workers=[consumer],
    )
    await produce(kafka, [task_event("refused"), task_event("end")])
    consuming_task = asyncio.create_task(consumer.run())
    await runtime.server.start()
    try:
        await eventually(lambda: has_effect(effects, "end"))
        at = Endpoints(ledger=f"127.0.0.1:{port}")
        async with Operator(credential=OPERATOR, endpoints=at, env={}) as ops:
            page = await ops.dead_letters_page("ledger", topic=TASKS_TOPIC)
            [letter] = page.dead_letters
            assert (letter.topic, letter.type, letter.replays) == (
                TASKS_TOPIC,
                "crewline.v1.TaskPublished",
                0,
            )
            assert letter.error == "PermanentEventError: currency XYZ is unknown"

            failed = await ops.replay_dead_letter("ledger", letter.event_id)
            assert (failed.outcome, failed.dead_letter.replays) == (
                ops_api.REPLAY_OUTCOME_FAILED,
                1,
            )
            await effects.execute("DELETE FROM refusals")
            applied = await ops.replay_dead_letter("ledger", letter.event_id)
            assert applied.outcome == ops_api.REPLAY_OUTCOME_APPLIED
            again = await ops.replay_dead_letter("ledger", letter.event_id)
            assert again.outcome == ops_api.REPLAY_OUTCOME_ALREADY_APPLIED
            assert await effects_of(effects) == ["end", "refused"]
            assert list((await ops.dead_letters_page("ledger")).dead_letters) == []

            with pytest.raises(CrewlineError) as missing:
                await ops.replay_dead_letter("ledger", str(uuid.uuid4()))
            assert (missing.value.code_name, missing.value.reason) == (
                "NOT_FOUND",
                "DEAD_LETTER_NOT_FOUND",
            )
            with pytest.raises(CrewlineError) as bad:
                await ops.dead_letters_page("ledger", topic="tasks")
            assert (bad.value.code_name, bad.value.message[:6]) == ("INVALID_ARGUMENT", "topic:")
        stranger = Operator(credential=new_operator_credential(), endpoints=at, env={})
        async with stranger:
            with pytest.raises(CrewlineError) as refused:
                await stranger.dead_letters_page("ledger")
        assert refused.value.code_name == "UNAUTHENTICATED"
    finally:
        consumer.stop()
        await consuming_task
        await runtime.server.stop(None)
        await kit.pool.close()
