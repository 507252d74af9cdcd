"""The idempotent consumer loop.

Each record is applied in a PostgreSQL transaction that also records its event id
in ``inbox``; a redelivered event finds its id there and changes nothing. The
records a poll brings from one partition are applied in order, up to
``GROUP_SIZE`` of them in one transaction (one commit instead of one each: a
backlog clears many times faster), their inbox rows written in one statement, and a
run of events of a ``Batched`` route handled by one call. Offsets are committed to
Kafka by hand, after those transactions: every partition in one request, at most every
``COMMIT_SECONDS`` (a busy consumer polls many times a second, and each commit is a
write in Kafka), before a partition is handed to another replica, and on the way out.
A crash between the two redelivers, never loses; the inbox drops what is redelivered.

A failure is classified by ``crewline.dead_letters.classify``:

- **transient** (the database away, a deadlock): the group is retried until it
  passes; the partition waits, nothing is skipped.
- anything else rolls back its group, and the group is applied again one event per
  transaction, so only the failing event is affected, never its neighbours:
- **permanent** (a malformed event, a ``PermanentEventError`` or ``DomainError`` from
  the handler, a PostgreSQL data or integrity error): the event becomes a dead letter
  at once: the whole record is kept in ``dead_letters`` with its error, in its own
  transaction, counted (``dead_letters_total{topic}``, gauge
  ``dead_letters_open{topic}``) and logged (``event_dead_lettered``); its offset is
  committed with the others and the consumer goes on. It stops nothing else.
- **unknown** (anything else, e.g. a handler's bug): tried ``UNKNOWN_ATTEMPTS``
  times, then dead-lettered the same way: neither a stalled partition nor a lost event.

If the dead letter itself cannot be written, the record is not skipped: a transient
error retries it, any other restarts the loop, which redelivers it.

``replay`` applies a dead letter again through the same routes and the same inbox
(``crewline.ops``; ``crewctl deadletters replay``), once its cause is fixed.

Each poll that was applied is reported to ``WorkerHealth`` as ``ok``; an unexpected
error that restarts the loop is a failure. Kafka errors are not: Kafka being away is
its probe's business, not this worker's.
"""

from __future__ import annotations

import asyncio
import enum
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from google.protobuf.message import Message

from crewline import dead_letters, errors
from crewline.aio import Backoff, sleep_unless
from crewline.db import TRANSIENT_DB_ERRORS
from crewline.dead_letters import DeadLetter, Failure, classify, error_text
from crewline.events import MalformedEvent, PayloadTypes, parse_envelope
from crewline.health import WorkerHealth
from crewline.kafka import make_consumer
from crewline.log import bound_contextvars, get_logger
from crewline.metrics import Metrics
from crewline.settings import KafkaSettings
from crewline.v1 import envelope_pb2

log = get_logger(__name__)

GROUP_SIZE = 100  # records of one partition applied in one transaction
# Events' inbox rows, one statement for one event or a group ($7 their outcome); the ids
# it inserted (not those there before, nor a second copy of one in the group).
INBOX = (
    'INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset",'
    " outcome) SELECT $1, e.id, e.type, e.topic, e.partition, e.off, $7"
    " FROM unnest($2::uuid[], $3::text[], $4::text[], $5::integer[], $6::bigint[])"
    " AS e(id, type, topic, partition, off)"
    " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"
)
COMMIT_SECONDS = 1.0  # applied offsets are committed to Kafka at most this often
UNKNOWN_ATTEMPTS = 3  # tries of an event failing in an unforeseen way before it is dead
DEAD_LETTER_GAUGE_SECONDS = 30.0  # other replicas dead-letter and replay too: re-read this often


@dataclass(frozen=True)
class EventContext:
    """Where an event came from; handed to handlers beside the payload."""

    event_id: str
    correlation_id: str
    producer: str
    topic: str
    partition: int
    offset: int


# The payload argument is the routed message class; Any keeps handlers precisely typed.
Handler = Callable[[asyncpg.Connection, Any, EventContext], Awaitable[None]]
# Events of one type, in order, each new to the inbox: the same as ``Handler`` on each in
# turn, in fewer statements. No event's context is bound while it runs (each ``ctx``
# carries its correlation id).
BatchHandler = Callable[[asyncpg.Connection, Sequence[tuple[Any, EventContext]]], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """A route whose events, where a group holds several in a row, are applied by one
    call of ``many``: a backlog of a busy type (the dispatcher's ClaimGranted) costs a
    few statements per group rather than a few per event. ``one`` applies an event
    alone: when the group falls back to one event per transaction, and on replay. It is
    itself a ``Handler`` (of one event)."""

    one: Handler
    many: BatchHandler

    async def __call__(self, conn: asyncpg.Connection, event: Any, ctx: EventContext) -> None:
        await self.one(conn, event, ctx)


class ReplayOutcome(enum.Enum):
    APPLIED = "applied"  # applied now: no longer open
    FAILED = "failed"  # failed again: still open, with the new error
    ALREADY_APPLIED = "already_applied"  # by an earlier replay or a redelivery: nothing done


@dataclass(frozen=True)
class Replayed:
    outcome: ReplayOutcome
    dead_letter: DeadLetter  # as it is after the replay


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Logs which partitions this replica holds, as the group hands them out, and
    commits what it applied from a partition before the partition goes to another."""

    def __init__(
        self, group_id: str, commit: Callable[[list[TopicPartition]], Awaitable[None]]
    ) -> None:
        self._group_id = group_id
        self._commit = commit

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        revoked = list(revoked)
        log.info("partitions_revoked", group=self._group_id, partitions=_names(revoked))
        await self._commit(revoked)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        log.info("partitions_assigned", group=self._group_id, partitions=_names(assigned))


def _names(partitions: Iterable[TopicPartition]) -> list[str]:
    return sorted(f"{tp.topic}:{tp.partition}" for tp in partitions)


# A record of a group, its envelope, and its payload (None when it is not routed here).
_Parsed = tuple[ConsumerRecord[bytes, bytes], envelope_pb2.EventEnvelope, Message | None]
# One that is routed here.
_Routed = tuple[ConsumerRecord[bytes, bytes], envelope_pb2.EventEnvelope, Message]


class _Stopping(Exception):
    """Raised inside the loop to leave a batch early when a stop is requested."""


class _GroupFailed(Exception):
    """A record of a group cannot be applied with the others: apply them one by one."""


class _ReplayFailed(Exception):
    """A dead letter's replay failed (not transiently); its transaction rolled back."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _context(
    env: envelope_pb2.EventEnvelope, *, topic: str, partition: int, offset: int
) -> EventContext:
    return EventContext(
        event_id=env.event_id,
        correlation_id=env.correlation_id,
        producer=env.producer,
        topic=topic,
        partition=partition,
        offset=offset,
    )


def _bound(env: envelope_pb2.EventEnvelope) -> Any:
    return bound_contextvars(
        correlation_id=env.correlation_id, event_id=env.event_id, event_type=env.type
    )


class EventConsumer:
    """Consumes ``topics`` as group ``group_id``, routing each payload type to its handler."""

    def __init__(
        self,
        *,
        group_id: str,
        topics: Iterable[str],
        routes: Mapping[type[Message], Handler],
        pool: asyncpg.Pool,
        kafka: KafkaSettings,
        metrics: Metrics,
        client_id: str,
        worker_health: WorkerHealth | None = None,
    ) -> None:
        self._group_id = group_id
        self._topics = tuple(topics)
        self._routes = dict(routes)
        self._batched = {t: r.many for t, r in routes.items() if isinstance(r, Batched)}
        self._types = PayloadTypes.of(self._routes)
        self._pool = pool
        self._kafka = kafka
        self._metrics = metrics
        self._client_id = client_id
        self._name = f"consumer:{group_id}"
        self._health = worker_health or WorkerHealth(metrics=metrics)
        self._health.register(self._name)
        self._stopping = asyncio.Event()
        self.connected = False
        self._consumer: AIOKafkaConsumer | None = None  # the Kafka consumer of this session
        self._applied: dict[TopicPartition, int] = {}  # its next offsets, not yet committed

    @property
    def group_id(self) -> str:
        """The consumer group; its dead letters are recorded under this name."""
        return self._group_id

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics it consumes (without the namespace): their records may come again
        while Kafka keeps them, so their inbox rows must outlive them (crewline.retention)."""
        return self._topics

    def stop(self) -> None:
        """Finish the record in hand, commit what is applied, and leave."""
        self._stopping.set()

    async def run(self) -> None:
        backoff = Backoff()
        while not self._stopping.is_set():
            self._applied = {}
            consumer = self._consumer = make_consumer(
                self._kafka,
                group_id=self._group_id,
                client_id=self._client_id,
                topics=self._topics,
                listener=_Rebalance(self._group_id, self._commit_revoked),
            )
            try:
                await consumer.start()
                self.connected = True
                backoff.reset()
                await self._consume(consumer)
            except _Stopping:
                pass
            except KafkaError as exc:
                log.warning("consumer_kafka_error", group=self._group_id, error=repr(exc))
            except TRANSIENT_DB_ERRORS as exc:  # a connection or timeout error: not a bug here
                log.warning("consumer_dependency_error", group=self._group_id, error=repr(exc))
            except Exception as exc:
                # Nothing past the committed offsets is lost: a fresh consumer redelivers it.
                log.exception("consumer_error", group=self._group_id)
                self._health.failed(self._name, exc)
            finally:
                self.connected = False
                await consumer.stop()
            await sleep_unless(self._stopping, backoff.next())

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        """Poll and apply until stopped. The offsets applied (``_applied``) are committed
        at most every ``COMMIT_SECONDS`` (one request for every partition), when a
        partition is revoked, and on the way out: what was applied, even if a later
        group failed."""
        applied = self._applied
        loop = asyncio.get_running_loop()
        gauge_at = loop.time()
        commit_at = gauge_at + COMMIT_SECONDS
        try:
            while not self._stopping.is_set():
                if loop.time() >= gauge_at:
                    await self.refresh_dead_letter_gauge()
                    gauge_at = loop.time() + DEAD_LETTER_GAUGE_SECONDS
                batch = await consumer.getmany(timeout_ms=200, max_records=500)
                for tp, records in batch.items():
                    for start in range(0, len(records), GROUP_SIZE):
                        group = records[start : start + GROUP_SIZE]
                        await self._apply_with_retry(group)
                        applied[tp] = group[-1].offset + 1
                if loop.time() >= commit_at:
                    await self._commit(consumer)
                    commit_at = loop.time() + COMMIT_SECONDS
                self._health.ok(self._name)
        finally:
            try:
                await self._commit(consumer)
            except KafkaError as exc:  # not in place of the error that ended the loop
                log.warning("consumer_commit_failed", group=self._group_id, error=str(exc))

    async def _commit_revoked(self, revoked: list[TopicPartition]) -> None:
        if self._consumer is None:
            return
        try:
            await self._commit(self._consumer, only=revoked)
        except KafkaError as exc:  # their new holder applies them again: harmless
            log.warning("consumer_commit_failed", group=self._group_id, error=str(exc))
        for tp in revoked:
            self._applied.pop(tp, None)  # no longer ours, committed or not

    async def _commit(
        self, consumer: AIOKafkaConsumer, *, only: list[TopicPartition] | None = None
    ) -> None:
        """Commit the applied offsets (of ``only`` these partitions, which are being
        revoked) and forget them once committed (a commit under way when a rebalance
        starts is then made again by the revocation's). A partition no longer held is
        dropped: its new holder applies those records again, which the inbox makes
        harmless."""
        applied = self._applied
        if only is None:
            held = consumer.assignment()
            for tp in [tp for tp in applied if tp not in held]:
                del applied[tp]
            offsets = dict(applied)
        else:
            offsets = {tp: applied[tp] for tp in only if tp in applied}
        if not offsets:
            return
        await consumer.commit(offsets)
        held = consumer.assignment()
        for tp, position in offsets.items():
            if applied.get(tp) == position:
                del applied[tp]
            if tp in held:  # else aiokafka refuses to say its high watermark
                self._record_lag(consumer, tp, position)

    async def _apply_with_retry(self, group: list[ConsumerRecord[bytes, bytes]]) -> None:
        backoff = Backoff()
        while True:
            if self._stopping.is_set():
                raise _Stopping
            try:
                await self.apply_group(group)
                return
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("consumer_db_unavailable", error=repr(exc), offset=group[0].offset)
                await sleep_unless(self._stopping, backoff.next())

    async def apply_group(self, records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
        """Apply records of one partition, in order, exactly once each, in one transaction;
        their outcomes. If one cannot be applied with the others, the transaction rolls
        back and each is applied on its own (``apply``), so only that one fails."""
        if len(records) == 1:
            return [await self.apply(records[0])]
        started = time.perf_counter()
        parsed: list[_Parsed] = []
        for record in records:
            try:
                env = parse_envelope(record.value)
                parsed.append((record, env, self._types.unpack(env)))
            except MalformedEvent:
                return [await self.apply(r) for r in records]  # ``apply`` dead-letters it
        done: list[tuple[ConsumerRecord[bytes, bytes], envelope_pb2.EventEnvelope, str]]
        if all(payload is None for _, _, payload in parsed):
            # None is ours (e.g. the ledger and ClaimGranted): nothing to apply or record.
            done = [(record, env, "ignored") for record, env, _ in parsed]
        else:
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    outcomes = await self._apply_runs(conn, parsed)
            except _GroupFailed:
                return [await self.apply(r) for r in records]
            done = [
                (r, env, outcome) for (r, env, _), outcome in zip(parsed, outcomes, strict=True)
            ]
        share = (time.perf_counter() - started) / len(records)
        for record, env, outcome in done:
            self._account(record, env, outcome, share, group=len(records))
        return [outcome for _, _, outcome in done]

    async def _apply_runs(self, conn: asyncpg.Connection, parsed: list[_Parsed]) -> list[str]:
        """Every routed event's inbox row in one statement, then each new event (the
        first copy of each) in order: alone, or with the new events of its type that
        follow it when that type is ``Batched``. The outcome of each."""
        outcomes = ["ignored"] * len(parsed)
        try:
            routed = [(i, (r, env, p)) for i, (r, env, p) in enumerate(parsed) if p is not None]
            ids = {i: uuid.UUID(env.event_id) for i, (_, env, _) in routed}
            new = await self._record_group(conn, routed, ids)
            fresh: list[_Routed] = []  # the events to apply, in order
            for i, item in routed:
                if ids[i] in new:
                    new.discard(ids[i])  # a second copy in the group is a duplicate
                    fresh.append(item)
                    outcomes[i] = "applied"
                else:
                    outcomes[i] = "duplicate"
            start = 0
            while start < len(fresh):
                kind = type(fresh[start][2])
                many = self._batched.get(kind)
                end = start + 1
                while many is not None and end < len(fresh) and type(fresh[end][2]) is kind:
                    end += 1
                if many is not None and end - start > 1:
                    await many(conn, [self._event(item) for item in fresh[start:end]])
                else:
                    payload, ctx = self._event(fresh[start])
                    with _bound(fresh[start][1]):
                        await self._routes[kind](conn, payload, ctx)
                start = end
        except Exception as exc:
            if classify(exc) is Failure.TRANSIENT:
                raise
            raise _GroupFailed from None  # ``apply`` retries or dead-letters the culprit
        return outcomes

    @staticmethod
    def _event(routed: _Routed) -> tuple[Any, EventContext]:
        record, env, payload = routed
        return payload, _context(
            env, topic=record.topic, partition=record.partition, offset=record.offset
        )

    async def _record_group(
        self,
        conn: asyncpg.Connection,
        routed: list[tuple[int, _Routed]],
        ids: dict[int, uuid.UUID],
    ) -> set[uuid.UUID]:
        """``_record`` for the routed events of a group, in one statement; the ids it
        inserted (a second copy of an event in the group is not inserted again)."""
        rows = await conn.fetch(
            INBOX,
            self._group_id,
            [ids[i] for i, _ in routed],
            [env.type for _, (_, env, _) in routed],
            [r.topic for _, (r, _, _) in routed],
            [r.partition for _, (r, _, _) in routed],
            [r.offset for _, (r, _, _) in routed],
            "applied",
        )
        return {row["event_id"] for row in rows}

    async def _apply_in(
        self,
        conn: asyncpg.Connection,
        env: envelope_pb2.EventEnvelope,
        payload: Message,
        ctx: EventContext,
    ) -> bool:
        """Apply one event in ``conn``'s transaction: its inbox row, then its handler.
        False when the inbox has it already (nothing runs). Deliveries and replays
        both come through here."""
        if not await self._record(conn, env, ctx, outcome="applied"):
            return False
        await self._routes[type(payload)](conn, payload, ctx)
        return True

    def _account(
        self,
        record: ConsumerRecord[bytes, bytes],
        env: envelope_pb2.EventEnvelope | None,
        outcome: str,
        elapsed: float,
        *,
        group: int = 1,
    ) -> None:
        event_type = env.type if env is not None else "malformed"
        # Metrics name the topic without the namespace, as the outbox's and dead letters' do.
        topic = record.topic.removeprefix(self._kafka.namespace)
        self._metrics.events_consumed.labels(topic, event_type, outcome).inc()
        if env is None:
            return
        self._metrics.event_handling.labels(topic, env.type).observe(elapsed)
        # Another consumer's events (the ledger sees every ClaimGranted) are not news.
        emit = log.debug if outcome == "ignored" else log.info
        with _bound(env):
            emit(
                "event_consumed",
                outcome=outcome,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                duration_ms=round(elapsed * 1000, 2),
                group=group,
            )

    async def apply(self, record: ConsumerRecord[bytes, bytes]) -> str:
        """Apply one record exactly once; the outcome: applied, duplicate, ignored or
        dead_lettered. Raises a transient error (retry it), or ``_Stopping``."""
        started = time.perf_counter()
        try:
            env = parse_envelope(record.value)
        except MalformedEvent as exc:
            outcome = await self._dead_letter(record, None, exc, Failure.PERMANENT)
            self._account(record, None, outcome, time.perf_counter() - started)
            return outcome
        with _bound(env):
            outcome = await self._apply_alone(record, env)
        self._account(record, env, outcome, time.perf_counter() - started)
        return outcome

    async def _apply_alone(
        self, record: ConsumerRecord[bytes, bytes], env: envelope_pb2.EventEnvelope
    ) -> str:
        """Apply one event in its own transaction, retrying an unknown failure a few
        times; a permanent one, or an unknown one that persists, is dead-lettered."""
        ctx = _context(env, topic=record.topic, partition=record.partition, offset=record.offset)
        backoff = Backoff()
        attempt = 0
        while True:
            attempt += 1
            try:
                payload = self._types.unpack(env)
                if payload is None:
                    return "ignored"  # not ours: no effect, so nothing to deduplicate
                async with self._pool.acquire() as conn, conn.transaction():
                    applied = await self._apply_in(conn, env, payload, ctx)
                return "applied" if applied else "duplicate"
            except Exception as exc:
                failure = classify(exc)
                if failure is Failure.TRANSIENT:
                    raise
                if failure is Failure.UNKNOWN and attempt < UNKNOWN_ATTEMPTS:
                    log.warning("event_handler_failed", attempt=attempt, exc_info=exc)
                    await sleep_unless(self._stopping, backoff.next())
                    if self._stopping.is_set():
                        raise _Stopping from None  # not applied, not committed: redelivered
                    continue
                return await self._dead_letter(record, env, exc, failure, attempts=attempt)

    async def _dead_letter(
        self,
        record: ConsumerRecord[bytes, bytes],
        env: envelope_pb2.EventEnvelope | None,
        exc: Exception,
        failure: Failure,
        *,
        attempts: int = 1,
    ) -> str:
        """Keep the whole record as a dead letter, in its own transaction; "dead_lettered",
        or "duplicate" when it is one already. Errors propagate: the record is never
        skipped without its dead letter."""
        topic = record.topic.removeprefix(self._kafka.namespace)
        error = error_text(exc)
        event_id = (
            env.event_id
            if env is not None
            else dead_letters.record_event_id(
                self._group_id, topic, record.partition, record.offset
            )
        )
        async with self._pool.acquire() as conn:
            fresh = await dead_letters.insert(
                conn,
                event_id=event_id,
                consumer=self._group_id,
                topic=topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                value=record.value or b"",
                event_type=env.type if env is not None else "",
                correlation_id=env.correlation_id if env is not None else "",
                error=error,
            )
        where = {
            "topic": topic,
            "partition": record.partition,
            "offset": record.offset,
            "dead_letter_id": str(event_id),
        }
        if not fresh:
            log.info("event_dead_letter_exists", **where)
            return "duplicate"
        self._metrics.dead_letters.labels(topic).inc()
        details: dict[str, Any] = {"exc_info": exc} if failure is Failure.UNKNOWN else {}
        log.error(
            "event_dead_lettered",
            **where,
            error=error,
            failure=failure.value,
            attempts=attempts,
            **details,
        )
        await self.refresh_dead_letter_gauge()
        return "dead_lettered"

    async def refresh_dead_letter_gauge(self) -> None:
        """Set ``dead_letters_open{topic}`` from the table (replicas share it)."""
        try:
            async with self._pool.acquire() as conn:
                counts = await dead_letters.open_counts(conn, consumer=self._group_id)
        except TRANSIENT_DB_ERRORS as exc:
            log.warning("dead_letter_gauge_not_refreshed", error=repr(exc))
            return
        for topic in {*self._topics, *counts}:
            self._metrics.dead_letters_open.labels(topic).set(counts.get(topic, 0))

    async def replay(self, event_id: uuid.UUID) -> Replayed:
        """Apply the dead letter ``event_id`` again, through the same routes and inbox as
        a delivery, in one transaction: APPLIED (it is no longer open), FAILED (kept
        with the new error) or ALREADY_APPLIED. ``NotFound`` when this consumer has no
        such dead letter; a transient error propagates (retry the replay)."""
        with bound_contextvars(dead_letter_id=str(event_id)):
            try:
                outcome = await self._replay_once(event_id)
            except _ReplayFailed as failed:
                outcome = ReplayOutcome.FAILED
                error = error_text(failed.cause)
                async with self._pool.acquire() as conn:
                    await dead_letters.mark_failed(conn, event_id, error=error)
                unknown = classify(failed.cause) is Failure.UNKNOWN
                details: dict[str, Any] = {"exc_info": failed.cause} if unknown else {}
                log.warning("dead_letter_replay_failed", error=error, **details)
            async with self._pool.acquire() as conn:
                letter = await dead_letters.find(conn, event_id)
            assert letter is not None  # dead letters are never deleted
            self._metrics.dead_letter_replays.labels(letter.topic, outcome.value).inc()
            log.info("dead_letter_replayed", outcome=outcome.value, replays=letter.replays)
        await self.refresh_dead_letter_gauge()
        return Replayed(outcome, letter)

    async def _replay_once(self, event_id: uuid.UUID) -> ReplayOutcome:
        async with self._pool.acquire() as conn, conn.transaction():
            # Locked: concurrent replays of one event take turns; the second finds it applied.
            letter = await dead_letters.find(conn, event_id, lock=True)
            if letter is None or letter.consumer != self._group_id:
                raise errors.NotFound(
                    f"no dead letter {event_id} in {self._group_id}",
                    reason="DEAD_LETTER_NOT_FOUND",
                )
            if letter.applied_at is not None:
                return ReplayOutcome.ALREADY_APPLIED
            try:
                applied = await self._replay_in(conn, letter)
            except Exception as exc:
                if classify(exc) is Failure.TRANSIENT:
                    raise
                raise _ReplayFailed(exc) from exc  # leaving the block rolls its work back
            await dead_letters.mark_applied(conn, event_id, replayed=applied)
        return ReplayOutcome.APPLIED if applied else ReplayOutcome.ALREADY_APPLIED

    async def _replay_in(self, conn: asyncpg.Connection, letter: DeadLetter) -> bool:
        """The stored record parsed afresh and applied in ``conn``'s transaction; False
        when the inbox has it (a redelivery applied it after the cause was fixed)."""
        env = parse_envelope(letter.value)
        payload = self._types.unpack(env)
        ctx = _context(
            env,
            topic=self._kafka.topic(letter.topic),
            partition=letter.partition,
            offset=letter.offset,
        )
        with _bound(env):
            if payload is None:  # no longer routed: ignored now, as a delivery would be
                return await self._record(conn, env, ctx, outcome="ignored")
            return await self._apply_in(conn, env, payload, ctx)

    async def _record(
        self,
        conn: asyncpg.Connection,
        env: envelope_pb2.EventEnvelope,
        ctx: EventContext,
        *,
        outcome: str,
    ) -> bool:
        """Insert the event into the inbox; False when it was already there."""
        row = await conn.fetchval(
            INBOX,
            self._group_id,
            [env.event_id],
            [env.type],
            [ctx.topic],
            [ctx.partition],
            [ctx.offset],
            outcome,
        )
        return row is not None

    def _record_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition, position: int) -> None:
        highwater = consumer.highwater(tp)
        if highwater is not None:
            lag = max(highwater - position, 0)
            topic = tp.topic.removeprefix(self._kafka.namespace)
            self._metrics.consumer_lag.labels(topic, str(tp.partition)).set(lag)
